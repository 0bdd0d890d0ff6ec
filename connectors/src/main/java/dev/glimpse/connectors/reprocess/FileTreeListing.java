package dev.glimpse.connectors.reprocess;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.file.DirectoryIteratorException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Locale;
import java.util.PriorityQueue;
import java.util.Set;
import java.util.stream.Collectors;
import org.apache.flink.core.fs.FileStatus;
import org.apache.flink.core.fs.FileSystem;

/**
 * Every image file under a folder, recursively, in name order, depth first: a local folder through
 * {@code java.nio} (read a directory entry at a time), any other scheme a Flink file system serves
 * ({@code s3://}) through Flink's {@link FileSystem}. Names starting with "." or "_" (hidden files,
 * {@code _SUCCESS} markers, a sink's in-progress files) are skipped, and only the given extensions
 * are taken, as Ray Data's {@code read_images} does; a corrupt or empty file with such a name is an
 * image that gets a dead letter.
 *
 * <p>The walk never holds a directory's whole listing: each directory is read in windows of the
 * {@link #WINDOW} smallest names after the last one taken (one pass over the directory per window,
 * which keeps memory flat for a folder of millions of files at the cost of re-reading its entries;
 * 20 passes for 200,000 files). The cursor is the relative path of the last image taken, so a
 * restored walk continues in the same order. An {@code s3://} prefix is better walked by {@link
 * S3PrefixListing}, which pages through S3's own listing instead; this walk still serves one where no
 * S3 client is configured (a SQL table) and finishes a walk restored from a version 1 checkpoint.
 */
public final class FileTreeListing implements Listing {
    /** Names read into memory per pass over a directory (about 1 MB). */
    static final int WINDOW = 10_000;
    public static final Set<String> IMAGE_EXTENSIONS = Set.of("jpg", "jpeg", "png", "gif", "bmp", "webp");
    private static final ObjectMapper JSON = new ObjectMapper();

    private final String root;
    private final Set<String> extensions;
    private final int window;

    /**
     * The extensions a listing takes from what a user gave ({@code --extensions}, a table's
     * {@code 'extensions'}): null for {@link #IMAGE_EXTENSIONS}, {@code *} for every file (empty),
     * else each without a leading dot, in lower case.
     */
    public static Set<String> extensions(List<String> given) {
        if (given == null) {
            return IMAGE_EXTENSIONS;
        }
        if (given.contains("*")) {
            return Set.of();
        }
        return given.stream().map(e -> e.replaceFirst("^\\.", "").toLowerCase(Locale.ROOT)).collect(Collectors.toSet());
    }

    /**
     * {@code root}: a folder's URI ({@code file:///data/images}, {@code s3://bucket/prefix}).
     * {@code extensions}: lower-case file extensions to take; empty takes every file.
     */
    public FileTreeListing(URI root, Set<String> extensions) {
        this(root, extensions, WINDOW);
    }

    FileTreeListing(URI root, Set<String> extensions, int window) {
        String r = root.toString();
        this.root = r.endsWith("/") ? r.substring(0, r.length() - 1) : r;
        this.extensions = Set.copyOf(extensions);
        this.window = window;
    }

    public String rootUri() {
        return root;
    }

    @Override
    public Walk open(String cursor) throws IOException {
        return new TreeWalk(cursor);
    }

    @Override
    public String toString() {
        return root;
    }

    private boolean local() {
        return root.startsWith("file:");
    }

    /** Whether a file of this name is taken: one of the extensions (any, when they are empty). */
    boolean wanted(String name) {
        if (extensions.isEmpty()) {
            return true;
        }
        int dot = name.lastIndexOf('.');
        return dot > 0 && extensions.contains(name.substring(dot + 1).toLowerCase(Locale.ROOT));
    }

    /** Hidden files, {@code _SUCCESS} markers, a sink's in-progress files: never taken, nor walked into. */
    static boolean hidden(String name) {
        return name.startsWith(".") || name.startsWith("_");
    }

    private String uriOf(String relative) {
        if (relative.isEmpty()) {
            return root;
        }
        StringBuilder b = new StringBuilder(root);
        for (String part : relative.split("/")) {
            b.append('/').append(encode(part));
        }
        return b.toString();
    }

    /** Percent-encodes a path segment (spaces, '#', '%', '?', non-ASCII) so the envelope's uri parses. */
    private static String encode(String segment) {
        try {
            return new URI(null, null, "/" + segment, null).getRawPath().substring(1).replace("#", "%23")
                    .replace("?", "%3F");
        } catch (java.net.URISyntaxException e) {
            throw new IllegalArgumentException("file name " + segment + " cannot be part of a URI", e);
        }
    }

    /**
     * A directory entry: its name, and when the listing told them (Flink file systems do), whether it
     * is a folder and its modification time; a local entry is looked at only once it is taken.
     */
    private record Entry(String name, Boolean folder, long modified) {}

    /** One open directory of the walk: the window of names still to visit and the last name taken. */
    private static final class Frame {
        final String dir;
        String after;
        final Deque<Entry> window = new ArrayDeque<>();
        boolean complete;

        Frame(String dir, String after) {
            this.dir = dir;
            this.after = after;
        }
    }

    private final class TreeWalk implements Walk {
        private final Deque<Frame> stack = new ArrayDeque<>();
        private String cursor;

        TreeWalk(String cursor) {
            this.cursor = cursor;
            if (cursor == null || cursor.isEmpty()) {
                stack.push(new Frame("", null));
                return;
            }
            // Reopen each folder on the cursor's path, after the name the walk was in.
            String[] parts = cursor.split("/");
            String dir = "";
            for (String part : parts) {
                stack.push(new Frame(dir, part));
                dir = dir.isEmpty() ? part : dir + "/" + part;
            }
        }

        @Override
        public List<ListedImage> next(int max) throws IOException {
            List<ListedImage> out = new ArrayList<>(max);
            while (out.size() < max && !stack.isEmpty()) {
                Frame frame = stack.peek();
                if (frame.window.isEmpty()) {
                    if (frame.complete) {
                        stack.pop();
                        continue;
                    }
                    refill(frame);
                    continue;
                }
                Entry entry = frame.window.poll();
                String name = entry.name();
                frame.after = name;
                String relative = frame.dir.isEmpty() ? name : frame.dir + "/" + name;
                if (entry.folder() == null) {
                    entry = stat(relative, name);
                }
                if (entry == null) {
                    continue;
                }
                if (entry.folder()) {
                    stack.push(new Frame(relative, null));
                } else if (wanted(name)) {
                    cursor = relative;
                    out.add(image(relative, entry.modified()));
                }
            }
            return out;
        }

        @Override
        public String cursor() {
            return cursor;
        }

        /** Reads the next window of {@code frame}'s names: the smallest ones after {@code frame.after}. */
        private void refill(Frame frame) throws IOException {
            // A max-heap of the window: the largest name leaves when a smaller one comes.
            PriorityQueue<Entry> smallest = new PriorityQueue<>(window + 1, (a, b) -> b.name().compareTo(a.name()));
            int[] candidates = {0};
            forEachEntry(frame.dir, entry -> {
                String name = entry.name();
                if (hidden(name) || (frame.after != null && name.compareTo(frame.after) <= 0)) {
                    return;
                }
                candidates[0]++;
                if (smallest.size() < window) {
                    smallest.add(entry);
                } else if (name.compareTo(smallest.peek().name()) < 0) {
                    smallest.poll();
                    smallest.add(entry);
                }
            });
            List<Entry> sorted = new ArrayList<>(smallest);
            sorted.sort((a, b) -> a.name().compareTo(b.name()));
            frame.window.addAll(sorted);
            frame.complete = candidates[0] <= window;
        }
    }

    private interface EntryConsumer {
        void accept(Entry entry);
    }

    private void forEachEntry(String dir, EntryConsumer consumer) throws IOException {
        if (local()) {
            try (DirectoryStream<Path> entries = Files.newDirectoryStream(Path.of(URI.create(uriOf(dir))))) {
                for (Path p : entries) {
                    consumer.accept(new Entry(p.getFileName().toString(), null, 0));
                }
            } catch (NoSuchFileException | NotDirectoryException e) {
                // Gone since the cursor was taken: nothing left to read in it.
            } catch (DirectoryIteratorException e) {
                throw e.getCause();
            }
            return;
        }
        // By its URI, not its text: Flink's Path(String) would escape the escapes of a name again.
        org.apache.flink.core.fs.Path path = new org.apache.flink.core.fs.Path(URI.create(uriOf(dir)));
        FileSystem fs = path.getFileSystem();
        FileStatus[] statuses;
        try {
            statuses = fs.listStatus(path);
        } catch (java.io.FileNotFoundException e) {
            return;
        }
        if (statuses != null) {
            for (FileStatus s : statuses) {
                consumer.accept(new Entry(s.getPath().getName(), s.isDir(), s.getModificationTime()));
            }
        }
    }

    /** Whether {@code relative} is a folder to walk into or a file, or null when it is neither (or gone). */
    private Entry stat(String relative, String name) throws IOException {
        if (local()) {
            Path p = Path.of(URI.create(uriOf(relative)));
            try {
                BasicFileAttributes a = Files.readAttributes(p, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
                if (a.isSymbolicLink()) {
                    // A linked file is read; a linked folder is not walked (it could loop).
                    a = Files.readAttributes(p, BasicFileAttributes.class);
                    return a.isRegularFile() ? new Entry(name, false, a.lastModifiedTime().toMillis()) : null;
                }
                if (a.isDirectory() || a.isRegularFile()) {
                    return new Entry(name, a.isDirectory(), a.lastModifiedTime().toMillis());
                }
                return null;
            } catch (NoSuchFileException e) {
                return null;
            }
        }
        org.apache.flink.core.fs.Path path = new org.apache.flink.core.fs.Path(URI.create(uriOf(relative)));
        try {
            FileStatus s = path.getFileSystem().getFileStatus(path);
            return new Entry(name, s.isDir(), s.getModificationTime());
        } catch (java.io.FileNotFoundException e) {
            return null;
        }
    }

    /** The envelope of the file at {@code relative} under the root: {@code {"id": relative, "uri"}}. */
    ListedImage image(String relative, long modified) {
        String uri = uriOf(relative);
        ObjectNode envelope = JSON.createObjectNode().put("id", relative).put("uri", uri);
        try {
            return new ListedImage(relative, JSON.writeValueAsBytes(envelope), true, uri, -1, modified);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
