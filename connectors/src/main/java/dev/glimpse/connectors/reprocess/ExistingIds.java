package dev.glimpse.connectors.reprocess;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.Serializable;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.List;

/**
 * The ids that already have an outcome in a sink, for {@code --skip-existing}: each kept as the 128
 * bits of its MD5 (a false match is never expected: about 10^-25 for ten million ids), in two sorted
 * arrays: 16 bytes per id, 16 MB per million ids (up to three times that while loading), whatever the
 * ids' length.
 */
public final class ExistingIds {
    public static final ExistingIds NONE = new ExistingIds(new long[0], 0);
    private static final JsonFactory JSON = new JsonFactory();

    /** Pairs (high, low) of 64-bit halves, sorted; {@code size} of them used. */
    private final long[] hashes;
    private final int size;

    private ExistingIds(long[] hashes, int size) {
        this.hashes = hashes;
        this.size = size;
    }

    /** Where a sink keeps its outcomes, read again when a run starts. */
    public interface Loader extends Serializable {
        ExistingIds load() throws IOException;
    }

    public int size() {
        return size;
    }

    public boolean contains(String id) {
        long[] h = hash(id);
        int lo = 0;
        int hi = size - 1;
        while (lo <= hi) {
            int mid = (lo + hi) >>> 1;
            int c = compare(hashes[2 * mid], hashes[2 * mid + 1], h[0], h[1]);
            if (c == 0) {
                return true;
            }
            if (c < 0) {
                lo = mid + 1;
            } else {
                hi = mid - 1;
            }
        }
        return false;
    }

    /** Collects ids, then {@link #build()} sorts them. */
    public static final class Builder {
        private long[] data = new long[2 * 1024];
        private int n;

        public void add(String id) {
            if (2 * n == data.length) {
                data = Arrays.copyOf(data, data.length * 2);
            }
            long[] h = hash(id);
            data[2 * n] = h[0];
            data[2 * n + 1] = h[1];
            n++;
        }

        /** Adds the {@code id} of each complete JSON line of {@code in} (a cut last line is no outcome). */
        public void addJsonLines(java.io.InputStream in) throws IOException {
            BufferedReader lines = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8), 1 << 16);
            String line;
            while ((line = lines.readLine()) != null) {
                String id = idOf(line);
                if (id != null) {
                    add(id);
                }
            }
        }

        public ExistingIds build() {
            sortPairs(data, 0, n - 1);
            int unique = 0;
            for (int i = 0; i < n; i++) {
                if (unique == 0 || compare(data[2 * i], data[2 * i + 1], data[2 * unique - 2], data[2 * unique - 1]) != 0) {
                    data[2 * unique] = data[2 * i];
                    data[2 * unique + 1] = data[2 * i + 1];
                    unique++;
                }
            }
            return new ExistingIds(Arrays.copyOf(data, 2 * unique), unique);
        }
    }

    /** The top-level {@code id} of a JSON object line, or null when the line is not one (a cut line). */
    static String idOf(String line) {
        try (JsonParser p = JSON.createParser(line)) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                return null;
            }
            String id = null;
            JsonToken t;
            while ((t = p.nextToken()) == JsonToken.FIELD_NAME) {
                String field = p.currentName();
                JsonToken v = p.nextToken();
                if ("id".equals(field) && v == JsonToken.VALUE_STRING) {
                    id = p.getText();
                } else {
                    p.skipChildren();
                }
            }
            return t == JsonToken.END_OBJECT ? id : null;
        } catch (IOException e) {
            return null;
        }
    }

    /**
     * The ids of JSON-lines outputs: each path is a file, or a folder whose files are read recursively
     * (names starting with "." or "_", such as a {@code FileSink}'s in-progress files, are skipped);
     * paths that do not exist yet hold no ids.
     */
    public record JsonLinesFiles(List<String> uris) implements Loader {
        @Override
        public ExistingIds load() throws IOException {
            Builder b = new Builder();
            CommittedFiles.forEach(uris, (fs, file) -> {
                try (var in = fs.open(file.getPath())) {
                    b.addJsonLines(in);
                }
            });
            return b.build();
        }
    }

    static long[] hash(String id) {
        try {
            byte[] d = MessageDigest.getInstance("MD5").digest(id.getBytes(StandardCharsets.UTF_8));
            ByteBuffer b = ByteBuffer.wrap(d);
            return new long[] {b.getLong(), b.getLong()};
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JVM has MD5", e);
        }
    }

    private static int compare(long h1, long l1, long h2, long l2) {
        int c = Long.compare(h1, h2);
        return c != 0 ? c : Long.compare(l1, l2);
    }

    private static void sortPairs(long[] a, int lo, int hi) {
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            long ph = a[2 * mid];
            long pl = a[2 * mid + 1];
            int i = lo;
            int j = hi;
            while (i <= j) {
                while (compare(a[2 * i], a[2 * i + 1], ph, pl) < 0) {
                    i++;
                }
                while (compare(a[2 * j], a[2 * j + 1], ph, pl) > 0) {
                    j--;
                }
                if (i <= j) {
                    swap(a, i++, j--);
                }
            }
            // Recurse into the smaller half, loop on the larger: the stack stays logarithmic.
            if (j - lo < hi - i) {
                sortPairs(a, lo, j);
                lo = i;
            } else {
                sortPairs(a, i, hi);
                hi = j;
            }
        }
    }

    private static void swap(long[] a, int i, int j) {
        long h = a[2 * i];
        long l = a[2 * i + 1];
        a[2 * i] = a[2 * j];
        a[2 * i + 1] = a[2 * j + 1];
        a[2 * j] = h;
        a[2 * j + 1] = l;
    }
}
