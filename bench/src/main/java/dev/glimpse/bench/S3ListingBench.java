package dev.glimpse.bench;

import com.sun.management.ThreadMXBean;
import dev.glimpse.cli.FlinkFileSystems;
import dev.glimpse.cli.JobOptions;
import dev.glimpse.cli.S3MockServer;
import dev.glimpse.connectors.reprocess.FileTreeListing;
import dev.glimpse.connectors.reprocess.KafkaRange;
import dev.glimpse.connectors.reprocess.ListedImage;
import dev.glimpse.connectors.reprocess.Listing;
import dev.glimpse.connectors.reprocess.ReprocessSource;
import dev.glimpse.job.GlimpseConfig;
import dev.glimpse.model.scenes.SceneGenerator;
import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * {@code glimpse bench-reprocess --s3}: one flat S3 prefix of N objects on a real S3 server (S3Mock, a
 * child process on loopback), listed both ways: a page of S3's object listing at a time from a
 * start-after key ({@code S3PrefixListing}, what {@code reprocess} does), and through Flink's S3 file
 * system in windows of 10,000 names ({@code FileTreeListing}, what it did, and what a SQL table still
 * does). For each: the listing alone in this JVM (the time to its first 8 images, what this thread
 * allocated for them, the heap an open walk holds after a full GC) and then the whole job, as the
 * folder rows measure it ({@link ReprocessBench#measure}). Every object is the same small scene.
 */
final class S3ListingBench {
    private static final String BUCKET = "bench";
    private static final int UPLOAD_THREADS = 8;
    private static final int UPLOAD_CHUNK = 2_500;

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
        // The store outlives the bench in --work: S3Mock stores an object in milliseconds, and rewrites its
        // bucket's key index on each, so 50,000 objects take many minutes to upload; a rerun uploads none.
        try (S3MockServer s3 = S3MockServer.start(work.resolve("s3mock"), Duration.ofMinutes(5), true, BUCKET)) {
            FlinkFileSystems.initialize(GlimpseConfig.load(null, s3.options()));
            byte[] image = new SceneGenerator(9).sample(0).encoded();
            try (S3Client client = s3.client()) {
                for (int n : sizes) {
                    upload(client, n, image);
                }
            }
            System.out.printf("%9s %-10s %13s %15s %11s %12s %14s %14s %15s %15s%n", "objects", "listing", "first 8 s",
                    "MB alloc (8)", "MB held", "count walk s", "first caption", "first commit", "heap MB (first)",
                    "heap MB (+" + outcomes + ")");
            for (int n : sizes) {
                String prefix = "s3://" + BUCKET + "/flat-" + n + "/";
                KafkaRange none = KafkaRange.parse(null, null);
                System.out.println(row(n, "pages", ReprocessSource.parse(prefix, FileTreeListing.IMAGE_EXTENSIONS, none, s3.options()), s3));
                System.out.println(row(n, "flink-fs", ReprocessSource.parse(prefix, FileTreeListing.IMAGE_EXTENSIONS, none), s3));
            }
        }
    }

    /** {@code flat-N/img-0000000.jpg} ... under the bucket, each {@code image}: those not there yet. */
    private static void upload(S3Client client, int n, byte[] image) throws InterruptedException {
        String prefix = "flat-" + n + "/";
        Set<String> present = new HashSet<>();
        client.listObjectsV2Paginator(b -> b.bucket(BUCKET).prefix(prefix)).contents().forEach(o -> present.add(o.key()));
        List<String> missing = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            String key = String.format("%simg-%07d.jpg", prefix, i);
            if (!present.contains(key)) {
                missing.add(key);
            }
        }
        long t0 = System.nanoTime();
        for (int from = 0; from < missing.size(); from += UPLOAD_CHUNK) {
            List<String> chunk = missing.subList(from, Math.min(missing.size(), from + UPLOAD_CHUNK));
            long c0 = System.nanoTime();
            S3MockServer.putAll(client, BUCKET, chunk, image, UPLOAD_THREADS);
            System.err.printf("uploaded %,d of %,d objects under %s (%.0f objects/s)%n", from + chunk.size(), missing.size(), prefix,
                    chunk.size() / ((System.nanoTime() - c0) / 1e9));
        }
        System.err.printf("%s: %,d objects of %d bytes (%,d uploaded in %.1f s)%n", prefix, n, image.length, missing.size(),
                (System.nanoTime() - t0) / 1e9);
    }

    private String row(int n, String name, ReprocessSource source, S3MockServer s3) throws Exception {
        Listing listing = ((ReprocessSource.Folder) source).listing();
        ThreadMXBean threads = (ThreadMXBean) ManagementFactory.getThreadMXBean();
        double before = ReprocessBench.heapAfterGc();
        long allocated = threads.getCurrentThreadAllocatedBytes();
        long t0 = System.nanoTime();
        double firstEight;
        double allocatedMb;
        double heldMb;
        try (Listing.Walk walk = listing.open(null)) {
            List<ListedImage> first = walk.next(8);
            firstEight = (System.nanoTime() - t0) / 1e9;
            allocatedMb = (threads.getCurrentThreadAllocatedBytes() - allocated) / 1e6;
            if (first.size() != 8) {
                throw new IllegalStateException("listed " + first.size() + " of the first 8 images under " + source);
            }
            heldMb = ReprocessBench.heapAfterGc() - before;
        }
        ReprocessBench.JobFigures f = ReprocessBench.measure(source, n, outcomes, job, s3.options());
        return String.format("%,9d %-10s %13.2f %15.1f %11.1f %12.1f %14.1f %14.1f %15.0f %15.0f", n, name, firstEight,
                allocatedMb, heldMb, f.countSeconds(), f.firstCaption(), f.firstCommit(), f.heapFirst(), f.heapAfter());
    }
}
