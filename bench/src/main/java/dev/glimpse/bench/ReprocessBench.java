package dev.glimpse.bench;

import dev.glimpse.cli.JobOptions;
import dev.glimpse.cli.Subcommand;
import dev.glimpse.connectors.reprocess.ExistingIds;
import dev.glimpse.connectors.reprocess.FileTreeListing;
import dev.glimpse.connectors.reprocess.KafkaRange;
import dev.glimpse.connectors.reprocess.ReprocessSink;
import dev.glimpse.connectors.reprocess.ReprocessSource;
import dev.glimpse.connectors.reprocess.Tallies;
import dev.glimpse.job.GlimpseConfig;
import dev.glimpse.job.GlimpseOptions;
import dev.glimpse.job.ReprocessJob;
import dev.glimpse.model.scenes.SceneGenerator;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.Callable;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code glimpse bench-reprocess}: how the folder source scales. It makes folders of N small images
 * (hard links to one scene, so 200,000 files cost no space), starts the reprocessing job on each and
 * measures the time to the first caption and to the first committed line, the heap after a full GC
 * at the first caption and after {@code --outcomes} more (the local cluster's JobManager, where the
 * enumerator lives, shares this JVM's heap: a listing held in memory would show as heap growing with
 * N), and the client's counting walk. The job is cancelled after {@code --outcomes}; it is a bench,
 * not a run to completion.
 *
 * <p>With {@code --vs-caption} it measures speed instead: {@code caption} against {@code reprocess}
 * over the same scenes at the same batch size, back to back ({@link CaptionVsReprocess}). With {@code
 * --s3}, one flat S3 prefix of each size on a local S3 server instead of folders ({@link S3ListingBench}).
 */
@Command(name = "bench-reprocess", mixinStandardHelpOptions = true,
        description = "Time to first caption and heap of reprocess over folders of many small files; with --vs-caption, "
                + "images/s of caption and reprocess over the same scenes, back to back; prints a table.")
public final class ReprocessBench implements Callable<Integer>, Subcommand {
    @Option(names = "--files", defaultValue = "2000,200000", split = ",", description = "Folder sizes.") int[] files;
    @Option(names = "--outcomes", defaultValue = "500", description = "Outcomes to wait for after the first.") int outcomes;
    @Option(names = "--work", description = "Folder for the generated files (default: a temporary one).") Path work;
    @Option(names = "--vs-caption", description = "Run caption, reprocess (to jsonl:FILE), reprocess, caption over the "
            + "same --images scenes at --batch-size, each in a JVM with this one's flags; print images/s and the ratio.")
    boolean vsCaption;
    @Option(names = "--images", defaultValue = "300", description = "With --vs-caption: scenes to caption.") int images;
    @Option(names = "--batch-size", defaultValue = "16", description = "With --vs-caption: both commands' batch size.") int batchSize;
    @Option(names = "--s3", description = "Objects under one flat prefix of a local S3 server (S3Mock) instead of folders, "
            + "listed a page at a time (reprocess) and through Flink's S3 file system (before), each then reprocessed.")
    boolean s3;
    @Option(names = "--profile", description = "With --vs-caption: a JFR recording of each run into this folder.") Path profile;
    @Mixin JobOptions job;

    private static final int LINKS_PER_FILE = 50_000;

    @Override
    public Integer call() throws Exception {
        Path root = work != null ? work : Files.createTempDirectory("glimpse-bench-reprocess");
        if (vsCaption) {
            System.out.print(new CaptionVsReprocess(root, images, batchSize, job.model, profile).run().table());
            return 0;
        }
        if (s3) {
            new S3ListingBench(root, files, outcomes, job).run();
            return 0;
        }
        byte[] image = new SceneGenerator(9).sample(0).encoded();
        System.out.printf("%9s %8s %12s %14s %14s %15s %15s%n", "files", "layout", "count walk s", "first caption s",
                "first commit s", "heap MB (first)", "heap MB (+" + outcomes + ")");
        for (int n : files) {
            for (String layout : new String[] {"flat", "nested"}) {
                Path dir = root.resolve(n + "-" + layout);
                populate(dir, n, layout.equals("nested"), image);
                System.out.println(row(dir, n, layout));
            }
        }
        return 0;
    }

    /** {@code n} hard links to one image: flat in one folder, or nested 100 folders of 100 sub-folders. */
    private static void populate(Path dir, int n, boolean nested, byte[] image) throws Exception {
        if (Files.isDirectory(dir)) {
            return;
        }
        Path tmp = Files.createDirectories(dir.resolveSibling(dir.getFileName() + ".tmp"));
        Path original = null;
        for (int i = 0; i < n; i++) {
            if (i % LINKS_PER_FILE == 0) {
                // ext4 allows 65,000 links to one inode.
                original = tmp.resolve("original-" + i / LINKS_PER_FILE + ".bin");
                Files.write(original, image);
            }
            Path target = nested ? tmp.resolve(String.format("%02d/%02d/img-%07d.jpg", i % 100, i / 100 % 100, i))
                    : tmp.resolve(String.format("img-%07d.jpg", i));
            if (nested) {
                Files.createDirectories(target.getParent());
            }
            Files.createLink(target, original);
        }
        Files.move(tmp, dir);
    }

    private String row(Path dir, int n, String layout) throws Exception {
        ReprocessSource source = ReprocessSource.parse(dir.toString(), FileTreeListing.IMAGE_EXTENSIONS,
                KafkaRange.parse(null, null));
        JobFigures f = measure(source, n, outcomes, job, Map.of());
        return String.format("%,9d %8s %12.1f %14.1f %14.1f %15.0f %15.0f", n, layout, f.countSeconds(),
                f.firstCaption(), f.firstCommit(), f.heapFirst(), f.heapAfter());
    }

    /**
     * One run's figures, in seconds from the job's submission and in MB of heap after a full GC: the
     * client's counting walk, the first outcome, the first committed line, the heap at the first outcome
     * and after {@code outcomes} more.
     */
    record JobFigures(double countSeconds, double firstCaption, double firstCommit, double heapFirst, double heapAfter) {}

    /**
     * Counts {@code source}'s {@code n} images as the command does, then runs the reprocessing job over
     * it into a JSON-lines file of a temporary folder until the first line is committed and {@code
     * outcomes} more images have theirs; then cancels it. {@code flags}: options of the run beside
     * {@code job}'s.
     */
    static JobFigures measure(ReprocessSource source, long n, int outcomes, JobOptions job, Map<String, String> flags)
            throws Exception {
        Path outDir = Files.createTempDirectory("glimpse-bench-reprocess-out");
        Map<String, String> all = new LinkedHashMap<>(flags);
        all.put(GlimpseOptions.CHECKPOINT_DIR.key(), outDir.resolve("checkpoints").toString());
        GlimpseConfig c = job.load(all);
        long t0 = System.nanoTime();
        long counted = source.count(ExistingIds.NONE, c.kafkaSettings());
        double countSeconds = (System.nanoTime() - t0) / 1e9;
        if (counted != n) {
            throw new IllegalStateException("counted " + counted + " images in " + source + ", made " + n);
        }
        Path out = outDir.resolve("captions.jsonl");
        ReprocessSink sink = ReprocessSink.parse("jsonl:" + out, null);
        sink.prepare();
        String runId = "bench-" + UUID.randomUUID();
        System.gc();
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(ReprocessJob.flinkConfiguration(c));
        ReprocessJob.addTo(env, c, new ReprocessJob.Plan(source, sink, null, false, runId));
        long start = System.nanoTime();
        JobClient client = env.executeAsync("glimpse-bench-reprocess");
        try {
            double firstCaption = -1;
            double firstCommit = -1;
            double heapFirst = -1;
            while (true) {
                long done = Tallies.read(runId, "outcomes").values().stream().mapToLong(Long::longValue).sum();
                double t = (System.nanoTime() - start) / 1e9;
                if (firstCaption < 0 && done > 0) {
                    firstCaption = t;
                    heapFirst = heapAfterGc();
                }
                if (firstCommit < 0 && Files.exists(out) && Files.size(out) > 0) {
                    firstCommit = t;
                }
                if (firstCommit >= 0 && done >= outcomes + 1) {
                    return new JobFigures(countSeconds, firstCaption, firstCommit, heapFirst, heapAfterGc());
                }
                if (client.getJobExecutionResult().isDone()) {
                    client.getJobExecutionResult().get();
                    throw new IllegalStateException("the job ended after " + done + " outcomes");
                }
                Thread.sleep(50);
            }
        } finally {
            client.cancel().get();
            Tallies.forget(runId);
        }
    }

    static double heapAfterGc() {
        System.gc();
        return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed() / 1e6;
    }
}
