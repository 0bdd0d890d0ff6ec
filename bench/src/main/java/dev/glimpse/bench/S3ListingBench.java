package dev.glimpse.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.management.ThreadMXBean;
import dev.glimpse.cli.FlinkFileSystems;
import dev.glimpse.cli.JobOptions;
import dev.glimpse.s3.S3MockServer;
import dev.glimpse.connectors.reprocess.FileTreeListing;
import dev.glimpse.connectors.reprocess.KafkaRange;
import dev.glimpse.connectors.reprocess.Listing;
import dev.glimpse.connectors.reprocess.ReprocessSource;
import dev.glimpse.connectors.reprocess.S3PrefixListing;
import dev.glimpse.job.GlimpseConfig;
import dev.glimpse.model.scenes.SceneGenerator;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.UUID;
import org.apache.flink.core.fs.FileStatus;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * {@code glimpse bench-reprocess --s3}: one flat S3 prefix of N objects on a real S3 server (S3Mock, a
 * child process on loopback), listed both ways: a page of S3's object listing at a time from a
 * start-after key ({@code S3PrefixListing}, what {@code reprocess} does), and through Flink's S3 file
 * system in windows of 10,000 names ({@code FileTreeListing}, what it did, and what a SQL table still
 * does). For each: the listing alone in this JVM (the time to its first 8 images, what this thread
 * allocated to list them, and the most heap it holds after a full GC: a page for the first, the whole
 * prefix's listing for the second, which it holds while it reads each window) and then the whole job, as the folder rows measure it ({@link
 * ReprocessBench#measure}): the client's counting walk, the first caption and commit, the heap after a
 * full GC. Every object is the same small scene; a warm-up comes first.
 */
final class S3ListingBench {
    private static final String BUCKET = "bench";

    private final Path work;
    private final int[] sizes;
    private final int outcomes;
    private final JobOptions job;

    S3ListingBench(Path work, int[] sizes, int outcomes, JobOptions job) {
        this.work = work;
        this.sizes = sizes;
        this.outcomes = outcomes;
        this.job = job;
    }

    void run() throws Exception {
        Path store = work.resolve("s3mock");
        byte[] image = new SceneGenerator(9).sample(0).encoded();
        // The store outlives the bench in --work (a rerun seeds nothing). S3Mock rewrites its bucket's key
        // index on every PUT: uploads slowed from 24 objects/s over the first 2,000 to 14/s by the 5,000th.
        // So one object per prefix goes up through S3's API, and the rest are copies of it in the store.
        try (S3MockServer s3 = S3MockServer.start(store, Duration.ofMinutes(5), true, BUCKET); S3Client client = s3.client()) {
            for (int n : sizes) {
                String first = template(n);
                if (client.listObjectsV2(b -> b.bucket(BUCKET).prefix(first)).keyCount() == 0) {
                    S3MockServer.put(client, BUCKET, first, image);
                }
            }
        }
        for (int n : sizes) {
            long t0 = System.nanoTime();
            int added = seed(store.resolve("store").resolve(BUCKET), n);
            System.err.printf("flat-%d/: %,d objects of %d bytes (%,d added to the store in %.1f s)%n", n, n, image.length, added,
                    (System.nanoTime() - t0) / 1e9);
        }
        try (S3MockServer s3 = S3MockServer.start(store, Duration.ofMinutes(5), true, BUCKET)) {
            FlinkFileSystems.initialize(GlimpseConfig.load(null, s3.options()));
            warmUp(s3);
            System.out.printf("%9s %-10s %13s %15s %13s %12s %14s %14s %15s %15s%n", "objects", "listing", "first 8 s",
                    "MB alloc (8)", "MB held peak", "count walk s", "first caption", "first commit", "heap MB (first)",
                    "heap MB (+" + outcomes + ")");
            for (int n : sizes) {
                String prefix = "s3://" + BUCKET + "/flat-" + n + "/";
                KafkaRange none = KafkaRange.parse(null, null);
                System.out.println(row(n, "pages", ReprocessSource.parse(prefix, FileTreeListing.IMAGE_EXTENSIONS, none, s3.options()), s3));
                System.out.println(row(n, "flink-fs", ReprocessSource.parse(prefix, FileTreeListing.IMAGE_EXTENSIONS, none), s3));
            }
        }
    }

    private static String template(int n) {
        return String.format("flat-%d/img-%07d.jpg", n, 0);
    }

    /**
     * Adds {@code flat-N/img-0000001.jpg} ... to the stopped server's bucket folder as copies of {@link
     * #template}, which it stored itself: its metadata with a new id, key and data path, its data
     * hard-linked, every key in the bucket's index, written once. Returns how many it added.
     */
    private static int seed(Path bucket, int n) throws IOException {
        ObjectMapper json = new ObjectMapper();
        Path indexFile = bucket.resolve("bucketMetadata.json");
        ObjectNode index = (ObjectNode) json.readTree(indexFile.toFile());
        ObjectNode objects = (ObjectNode) index.get("objects");
        String templateId = objects.path(template(n)).asText();
        Path templateDir = bucket.resolve(templateId);
        ObjectNode metadata = (ObjectNode) json.readTree(templateDir.resolve("objectMetadata.json").toFile());
        int added = 0;
        for (int i = 0; i < n; i++) {
            String key = String.format("flat-%d/img-%07d.jpg", n, i);
            if (objects.has(key)) {
                continue;
            }
            String id = UUID.randomUUID().toString();
            Path dir = Files.createDirectory(bucket.resolve(id));
            Files.createLink(dir.resolve("binaryData"), templateDir.resolve("binaryData"));
            ObjectNode copy = metadata.deepCopy().put("id", id).put("key", key).put("dataPath", dir.resolve("binaryData").toUri().toString());
            json.writeValue(dir.resolve("objectMetadata.json").toFile(), copy);
            objects.put(key, id);
            added++;
        }
        if (added > 0) {
            Path tmp = bucket.resolve("bucketMetadata.json.tmp");
            json.writeValue(tmp.toFile(), index);
            Files.move(tmp, indexFile, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        }
        return added;
    }

    private String row(int n, String name, ReprocessSource source, S3MockServer s3) throws Exception {
        Listing listing = ((ReprocessSource.Folder) source).listing();
        ThreadMXBean threads = (ThreadMXBean) ManagementFactory.getThreadMXBean();
        ReprocessBench.heapAfterGc();
        long allocated = threads.getCurrentThreadAllocatedBytes();
        long t0 = System.nanoTime();
        double firstEight;
        try (Listing.Walk walk = listing.open(null)) {
            int listed = walk.next(8).size();
            firstEight = (System.nanoTime() - t0) / 1e9;
            if (listed != 8) {
                throw new IllegalStateException("listed " + listed + " of the first 8 images under " + source);
            }
        }
        double allocatedMb = (threads.getCurrentThreadAllocatedBytes() - allocated) / 1e6;
        double peakMb = listing instanceof S3PrefixListing ? heldByAnOpenWalk(listing) : heldByOnePass(source.toString());
        ReprocessBench.JobFigures f = ReprocessBench.measure(source, n, outcomes, job, s3.options());
        return String.format("%,9d %-10s %13.2f %15.1f %13.1f %12.1f %14.1f %14.1f %15.0f %15.0f", n, name, firstEight,
                allocatedMb, peakMb, f.countSeconds(), f.firstCaption(), f.firstCommit(), f.heapFirst(), f.heapAfter());
    }

    /** The heap after a full GC that a walk holds between two calls: the rest of its page. */
    private static double heldByAnOpenWalk(Listing listing) throws IOException {
        double before = ReprocessBench.heapAfterGc();
        try (Listing.Walk walk = listing.open(null)) {
            walk.next(8);
            return ReprocessBench.heapAfterGc() - before;
        }
    }

    /**
     * The heap after a full GC that the listing of the whole prefix through Flink's file system holds:
     * what the folder walk holds while it reads each window of names.
     */
    private static double heldByOnePass(String prefix) throws IOException {
        double before = ReprocessBench.heapAfterGc();
        org.apache.flink.core.fs.Path path = new org.apache.flink.core.fs.Path(URI.create(prefix));
        FileStatus[] all = path.getFileSystem().listStatus(path);
        double held = ReprocessBench.heapAfterGc() - before;
        if (all.length == 0) {
            throw new IllegalStateException("nothing under " + prefix);
        }
        return held;
    }

    /**
     * Both listings and a short job once, unprinted, over the smallest prefix: the first row would
     * otherwise pay for loading the AWS SDK, the local cluster and the model.
     */
    private void warmUp(S3MockServer s3) throws Exception {
        int n = Arrays.stream(sizes).min().orElseThrow();
        String prefix = "s3://" + BUCKET + "/flat-" + n + "/";
        KafkaRange none = KafkaRange.parse(null, null);
        for (ReprocessSource source : List.of(ReprocessSource.parse(prefix, FileTreeListing.IMAGE_EXTENSIONS, none, s3.options()),
                ReprocessSource.parse(prefix, FileTreeListing.IMAGE_EXTENSIONS, none))) {
            try (Listing.Walk walk = ((ReprocessSource.Folder) source).listing().open(null)) {
                walk.next(8);
            }
        }
        ReprocessBench.measure(ReprocessSource.parse(prefix, FileTreeListing.IMAGE_EXTENSIONS, none, s3.options()), n, 8, job,
                s3.options());
    }
}
