package dev.glimpse.connectors.reprocess;

import java.io.IOException;
import java.net.URI;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.ListObjectsV2Request;
import software.amazon.awssdk.services.s3.model.ListObjectsV2Response;
import software.amazon.awssdk.services.s3.model.S3Object;

/**
 * Every image object under an S3 prefix, nested or flat, in S3's key order, read a page of the object
 * listing at a time ({@code ListObjectsV2}: up to 1,000 keys a page, the next page by its continuation
 * token): a walk holds one page, however many objects the prefix holds, and lists each key once. The
 * cursor is the last image's key under the prefix; a walk opened with it asks S3 for the keys after
 * it ({@code start-after}), so a restored enumerator lists nothing it already handed out.
 *
 * <p>The same images, ids and URIs as {@link FileTreeListing} walking the prefix through Flink's file
 * system (names starting with "." or "_" are skipped at any depth, folder markers are not images), in
 * another order: key order puts {@code a.jpg} before {@code a/b.jpg}, a name-ordered tree walk after
 * it. A cursor of that walk (a version 1 checkpoint) is continued by that walk.
 */
public final class S3PrefixListing implements Listing {
    /** S3's largest page. */
    static final int PAGE = 1000;

    private final FileTreeListing tree;
    private final String bucket;
    private final String prefix;
    private final TreeMap<String, String> options;
    private final int page;

    /**
     * {@code root}: {@code s3://bucket/prefix} (or {@code s3a://}); {@code extensions}: as {@link
     * FileTreeListing}'s; {@code s3Options}: Flink's S3 options the command was given ({@code
     * s3.endpoint}, {@code s3.access-key}, ...; see {@link S3Clients}).
     */
    public S3PrefixListing(URI root, Set<String> extensions, Map<String, String> s3Options) {
        this(root, extensions, s3Options, PAGE);
    }

    S3PrefixListing(URI root, Set<String> extensions, Map<String, String> s3Options, int page) {
        String authority = root.getAuthority();
        if (authority == null || authority.isEmpty()) {
            throw new IllegalArgumentException(root + " names no bucket");
        }
        this.tree = new FileTreeListing(root, extensions);
        this.bucket = authority;
        String path = root.getPath() == null ? "" : root.getPath().replaceAll("^/+", "");
        this.prefix = path.isEmpty() || path.endsWith("/") ? path : path + "/";
        this.options = new TreeMap<>(s3Options);
        this.page = page;
    }

    /** Whether this listing serves {@code uri}'s scheme: Flink's S3 file systems' ({@code s3://}, {@code s3a://}). */
    public static boolean serves(URI uri) {
        return "s3".equalsIgnoreCase(uri.getScheme()) || "s3a".equalsIgnoreCase(uri.getScheme());
    }

    public String rootUri() {
        return tree.rootUri();
    }

    @Override
    public Walk open(String cursor) throws IOException {
        return new KeyWalk(cursor);
    }

    @Override
    public Walk resume(String cursor, String order) throws IOException {
        return NAME_ORDER.equals(order) ? tree.open(cursor) : open(cursor);
    }

    @Override
    public String toString() {
        return tree.rootUri();
    }

    /** Whether the object at {@code relative} under the prefix is an image to take. */
    private boolean taken(String relative) {
        if (relative.isEmpty() || relative.endsWith("/")) {
            return false;
        }
        for (String segment : relative.split("/")) {
            if (FileTreeListing.hidden(segment)) {
                return false;
            }
        }
        return tree.wanted(relative.substring(relative.lastIndexOf('/') + 1));
    }

    private final class KeyWalk implements Walk {
        private final S3Client s3 = S3Clients.create(options);
        private final Deque<S3Object> keys = new ArrayDeque<>();
        private String cursor;
        private String continuation;
        private boolean lastPage;

        KeyWalk(String cursor) {
            this.cursor = cursor;
        }

        @Override
        public List<ListedImage> next(int max) throws IOException {
            List<ListedImage> out = new ArrayList<>(max);
            while (out.size() < max) {
                S3Object object = keys.poll();
                if (object == null) {
                    if (lastPage) {
                        break;
                    }
                    nextPage();
                    continue;
                }
                String relative = object.key().substring(prefix.length());
                if (taken(relative)) {
                    cursor = relative;
                    out.add(tree.image(relative, object.lastModified() == null ? 0 : object.lastModified().toEpochMilli()));
                }
            }
            return out;
        }

        private void nextPage() throws IOException {
            ListObjectsV2Request.Builder request = ListObjectsV2Request.builder().bucket(bucket).prefix(prefix).maxKeys(page);
            if (continuation != null) {
                request.continuationToken(continuation);
            } else if (cursor != null) {
                request.startAfter(prefix + cursor);
            }
            ListObjectsV2Response response;
            try {
                response = s3.listObjectsV2(request.build());
            } catch (SdkException e) {
                throw new IOException("cannot list s3://" + bucket + "/" + prefix + " (" + e.getMessage() + ")", e);
            }
            keys.addAll(response.contents());
            continuation = response.nextContinuationToken();
            lastPage = !Boolean.TRUE.equals(response.isTruncated()) || continuation == null;
        }

        @Override
        public String cursor() {
            return cursor;
        }

        @Override
        public String order() {
            return KEY_ORDER;
        }

        @Override
        public void close() {
            s3.close();
        }
    }
}
