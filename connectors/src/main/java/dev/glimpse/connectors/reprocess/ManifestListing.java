package dev.glimpse.connectors.reprocess;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.flink.core.fs.FSDataInputStream;

/**
 * The lines of a manifest, {@code {"id", "uri" | "path", "prompt"?, "max_new_tokens"?, "metadata"?}}
 * (also {@code "file"}, as {@code bin/glimpse scenes} writes it, for {@code "path"}), read from a byte
 * offset on: the cursor is {@code offset:line}, so the enumerator reads a few lines per split and never
 * the whole file. A {@code path} is resolved against the manifest's folder and becomes the envelope's
 * {@code uri}; a line that is not a JSON object is passed on as it is and becomes {@code BAD_ENVELOPE};
 * blank lines are skipped.
 */
public final class ManifestListing implements Listing {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final String manifest;
    private final String folder;
    private final long modified;

    /** {@code manifest}: the file's URI ({@code file:///...}, {@code s3://...}). */
    public ManifestListing(URI manifest) throws IOException {
        this.manifest = manifest.toString();
        this.folder = manifest.resolve(".").toString();
        org.apache.flink.core.fs.Path p = new org.apache.flink.core.fs.Path(manifest);
        this.modified = p.getFileSystem().getFileStatus(p).getModificationTime();
    }

    /** The folder holding the manifest, with a trailing slash: relative paths resolve into it. */
    public String folderUri() {
        return folder;
    }

    @Override
    public Walk open(String cursor) throws IOException {
        long offset = 0;
        long line = 0;
        if (cursor != null) {
            String[] parts = cursor.split(":");
            offset = Long.parseLong(parts[0]);
            line = Long.parseLong(parts[1]);
        }
        org.apache.flink.core.fs.Path p = new org.apache.flink.core.fs.Path(manifest);
        FSDataInputStream in = p.getFileSystem().open(p);
        in.seek(offset);
        return new LineWalk(in, offset, line);
    }

    @Override
    public String toString() {
        return "manifest " + manifest;
    }

    private final class LineWalk implements Walk {
        private final InputStream in;
        private long offset;
        private long line;

        LineWalk(FSDataInputStream raw, long offset, long line) {
            this.in = new BufferedInputStream(raw, 1 << 16);
            this.offset = offset;
            this.line = line;
        }

        @Override
        public List<ListedImage> next(int max) throws IOException {
            List<ListedImage> out = new ArrayList<>(max);
            ByteArrayOutputStream buf = new ByteArrayOutputStream(256);
            while (out.size() < max) {
                buf.reset();
                int b;
                long read = 0;
                while ((b = in.read()) >= 0) {
                    read++;
                    if (b == '\n') {
                        break;
                    }
                    buf.write(b);
                }
                if (read == 0) {
                    break;
                }
                offset += read;
                long index = line++;
                byte[] bytes = buf.toByteArray();
                if (new String(bytes, java.nio.charset.StandardCharsets.UTF_8).isBlank()) {
                    continue;
                }
                out.add(image(bytes, index));
            }
            return out;
        }

        @Override
        public String cursor() {
            return offset + ":" + line;
        }

        @Override
        public void close() throws IOException {
            in.close();
        }
    }

    private ListedImage image(byte[] line, long index) {
        JsonNode root;
        try {
            root = JSON.readTree(line);
        } catch (IOException e) {
            root = null;
        }
        if (root == null || !root.isObject()) {
            return new ListedImage(null, line, true, manifest, index, modified);
        }
        ObjectNode envelope = (ObjectNode) root;
        JsonNode path = envelope.has("path") ? envelope.get("path") : envelope.get("file");
        if (!envelope.has("uri") && path != null && path.isTextual()) {
            envelope.remove("path");
            envelope.remove("file");
            envelope.put("uri", resolve(path.asText()));
        }
        JsonNode id = envelope.get("id");
        try {
            return new ListedImage(id != null && id.isTextual() && !id.asText().isBlank() ? id.asText() : null,
                    JSON.writeValueAsBytes(envelope), true, manifest, index, modified);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /** A manifest {@code path}: absolute, or relative to the manifest's folder. */
    private String resolve(String path) {
        if (manifest.startsWith("file:") && Path.of(path).isAbsolute()) {
            return Path.of(path).toUri().toString();
        }
        return URI.create(folder).resolve(encode(path)).toString();
    }

    private static String encode(String relative) {
        try {
            return new URI(null, null, relative, null).getRawPath().replace("#", "%23").replace("?", "%3F");
        } catch (java.net.URISyntaxException e) {
            throw new IllegalArgumentException("manifest path " + relative + " cannot be part of a URI", e);
        }
    }
}
