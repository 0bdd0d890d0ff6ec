package dev.glimpse.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.glimpse.cli.gallery.GalleryPage;
import dev.glimpse.cli.gallery.GallerySource;
import dev.glimpse.connectors.reprocess.ExistingIds;
import dev.glimpse.connectors.reprocess.JsonLinesFileSink;
import dev.glimpse.connectors.reprocess.ReprocessSink;
import dev.glimpse.connectors.reprocess.ReprocessSource;
import dev.glimpse.connectors.reprocess.Tallies;
import dev.glimpse.job.GlimpseConfig;
import dev.glimpse.job.GlimpseOptions;
import dev.glimpse.job.ReprocessArguments;
import dev.glimpse.job.ReprocessJob;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.OptionalLong;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Collectors;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.runtime.JobException;
import org.apache.flink.runtime.execution.SuppressRestartsException;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code glimpse reprocess --from SOURCE --to SINK}: the job's own operators over a bounded input (a
 * folder tree, a manifest, a range of a topic), with progress, a summary, and exit code 0 only when
 * every image read got an outcome, on a local Flink cluster. On a real cluster {@code flink run ...
 * reprocess ...} (GlimpseJob) submits the same graph ({@link ReprocessArguments}) and returns.
 */
@Command(name = "reprocess", mixinStandardHelpOptions = true,
        description = "Re-caption a bounded input (a folder tree, a manifest, a range of a topic) into a sink "
                + "(jsonl:FILE, jsonl:DIR/, parquet:DIR/, kafka:TOPIC@BOOTSTRAP), "
                + "with the streaming job's operators; shows progress, prints a summary and exits.")
public class Reprocess implements Callable<Integer> {
    /** Captions shown on a --gallery page; its counts cover them all. */
    static final int GALLERY_LIMIT = 2000;

    @Option(names = "--from", required = true, paramLabel = "SOURCE",
            description = "file:///DIR, a plain path or any Flink file system URI (s3://...): every image under it; "
                    + "manifest:FILE.jsonl (lines {id, uri|path, prompt?, max_new_tokens?, metadata?}); kafka:TOPIC@BOOTSTRAP.")
    String from;

    @Option(names = "--from-offsets", defaultValue = "earliest", paramLabel = "earliest|TIMESTAMP",
            description = "Kafka source: first record, by its timestamp (epoch ms or ISO-8601 instant).")
    String fromOffsets;

    @Option(names = "--until-offsets", defaultValue = "latest", paramLabel = "latest|TIMESTAMP",
            description = "Kafka source: where to stop (default: the end offsets when the run starts).")
    String untilOffsets;

    @Option(names = "--to", required = true, paramLabel = "SINK",
            description = "jsonl:FILE (dead letters in its sibling *.dead-letters.jsonl), jsonl:DIR/ (part files, for "
                    + "clusters), parquet:DIR/ (part files under DIR/captions/ and DIR/dead-letters/; needs the "
                    + "optional Parquet jars: mvn -Pparquet package), kafka:TOPIC@BOOTSTRAP (exactly once; dead letters to TOPIC-dlq).")
    String to;

    @Option(names = "--dead-letter-topic", description = "Kafka sink: the dead letters' topic (default: TOPIC-dlq).")
    String deadLetterTopic;

    @Option(names = "--prompt", description = "Prompt for every image that brings none (default: the model's).")
    String prompt;

    @Option(names = "--skip-existing", description = "Caption only images whose id has no caption or dead letter in the sink yet.")
    boolean skipExisting;

    @Option(names = "--quiet", description = "Print only the summary.")
    boolean quiet;

    @Option(names = "--extensions", split = ",", paramLabel = "EXT",
            description = "File extensions a folder source takes (default: jpg,jpeg,png,gif,bmp,webp; '*': every file).")
    String[] extensions;

    @Option(names = "--timeout", defaultValue = "P7D", description = "Give up after this long (ISO-8601).")
    Duration timeout;

    @Option(names = "--prometheus-port", defaultValue = "0", description = "Serve the run's metrics for Prometheus "
            + "on this port, all interfaces, while it runs (0: none).")
    int prometheusPort;

    @Option(names = "--gallery", paramLabel = "PAGE", description = "At the end, write the sink's captions and dead "
            + "letters as one HTML page with thumbnails from the source folder (see 'gallery').")
    Path gallery;

    @Option(names = "--rest-port", defaultValue = "0", description = "Web UI and REST API of the local cluster (0: a free port).")
    int restPort;

    @Mixin JobOptions job;

    private static final long FIRST_TRIGGER_SPACING_NANOS = Duration.ofSeconds(1).toNanos();

    @Override
    public Integer call() throws Exception {
        ReprocessArguments arguments = new ReprocessArguments(job.arguments(), from, fromOffsets, untilOffsets, to,
                deadLetterTopic, prompt, skipExisting, extensions == null ? null : List.of(extensions));
        String runId = "reprocess-" + UUID.randomUUID();
        // The checkpoints serve only a failover within the run: a folder of the run's own. On a cluster
        // (GlimpseJob) they go where checkpoint.dir says, a durable file system the JobManager reaches.
        Path checkpoints = Files.createTempDirectory("glimpse-reprocess-checkpoints");
        GlimpseConfig c = arguments.load(Map.of(GlimpseOptions.CHECKPOINT_DIR.key(), checkpoints.toString()));
        FlinkFileSystems.Setup fileSystems = FlinkFileSystems.initialize(c);
        ReprocessJob.Plan plan = arguments.plan(runId, c);

        LocalCluster cluster = new LocalCluster(restPort, prometheusPort);
        StreamExecutionEnvironment env = cluster.environment(ReprocessJob.flinkConfiguration(c));
        ReprocessJob.addTo(env, c, plan);
        PrintStream err = System.err;
        if (!quiet) {
            err.println(ReprocessJob.describe(c, plan));
            err.println("file systems " + fileSystems.describe());
            err.println("web UI " + cluster.webUi() + (cluster.metrics() != null ? "; metrics " + cluster.metrics() : ""));
        }
        long started = System.nanoTime();
        JobClient client = env.executeAsync("glimpse-reprocess");
        try {
            return watch(client, cluster, c, plan, started);
        } finally {
            Tallies.forget(runId);
            deleteQuietly(checkpoints);
        }
    }

    private int watch(JobClient client, LocalCluster cluster, GlimpseConfig c, ReprocessJob.Plan plan, long started)
            throws Exception {
        AtomicLong total = new AtomicLong(-1);
        boolean countSkipped = plan.from().totalIncludesSkipped();
        Thread counter = new Thread(() -> {
            try {
                ExistingIds existing = plan.skipExisting() && !countSkipped ? plan.to().existing(c.kafkaSettings()).load() : ExistingIds.NONE;
                total.set(plan.from().count(existing, c.kafkaSettings()));
            } catch (IOException | RuntimeException e) {
                System.err.println("reprocess: cannot count the input (" + e.getMessage() + "); total unknown");
            }
        }, "reprocess-count");
        counter.setDaemon(true);
        counter.start();
        var result = client.getJobExecutionResult();
        long deadline = System.nanoTime() + timeout.toNanos();
        Summary first = null;
        long nextTrigger = 0;
        long triggerSpacing = FIRST_TRIGGER_SPACING_NANOS;
        try (Progress progress = new Progress("reprocess", Progress.Mode.detect(quiet), System.err, Duration.ofSeconds(5))) {
            while (!result.isDone()) {
                if (System.nanoTime() > deadline) {
                    client.cancel().get();
                    System.err.println("reprocess: timed out after " + timeout + "; what was committed stays, "
                            + "rerun with --skip-existing to finish");
                    return 3;
                }
                Summary now = Summary.of(plan.runId(), started);
                if (first == null && now.outcomes() > 0) {
                    first = now;
                }
                long done = report(progress, now, total.get(), countSkipped);
                if (total.get() >= 0 && done >= total.get() && System.nanoTime() >= nextTrigger) {
                    // Every image has its outcome: the job ends with a checkpoint taken after its tasks
                    // finished, and would wait for the next periodic one (up to checkpoint.interval). Ask for
                    // one now, and again after 1, 2, 4... s in case some task had not finished yet: few, as
                    // each also cuts the captioner's batch short should more images come than were counted.
                    cluster.triggerCheckpoint(client.getJobID().toHexString());
                    nextTrigger = System.nanoTime() + triggerSpacing;
                    triggerSpacing *= 2;
                }
                Thread.sleep(200);
            }
            report(progress, Summary.of(plan.runId(), started), total.get(), countSkipped);
        }
        try {
            result.get();
        } catch (java.util.concurrent.ExecutionException e) {
            Throwable cause = e.getCause() == null ? e : e.getCause();
            while (cause.getCause() != null && (cause instanceof JobException || cause instanceof SuppressRestartsException
                    || cause.getMessage() != null && cause.getMessage().startsWith("Job execution failed"))) {
                cause = cause.getCause(); // Flink's wrappers ("not recoverable"), down to what failed
            }
            System.out.println("reprocess FAILED: " + cause);
            System.out.println("what was committed stays; rerun with --skip-existing to finish");
            return 1;
        }
        Summary s = Summary.of(plan.runId(), started);
        System.out.print(s.table(firstOutcome(plan.runId(), started, first != null ? first : s)));
        int restarts = Tallies.restarts(plan.runId());
        if (restarts > 0) {
            // Exactly once all the same, but each failover redoes the work since the last checkpoint: a slow run says why.
            System.out.printf(Locale.ROOT, "restarts      %d  (the job failed over and went on from its last checkpoint)%n",
                    restarts);
        }
        if (gallery != null) {
            writeGallery(plan, c, s);
        }
        if (s.outcomes() != s.images()) {
            System.out.println("MISSING: " + (s.images() - s.outcomes()) + " images read without an outcome");
            return 1;
        }
        return 0;
    }

    /** Done: the outcomes, and the skipped images when the total counts them (a topic's range); returns it. */
    private static long report(Progress progress, Summary s, long total, boolean countSkipped) {
        long done = s.outcomes() + (countSkipped ? s.skipped() : 0);
        progress.update(done, total, s.deadLetters() + " dead letters" + (s.skipped() > 0 ? ", " + s.skipped() + " skipped" : ""));
        return done;
    }

    /** The gallery of everything the sink holds, thumbnails from a local source folder. */
    private void writeGallery(ReprocessJob.Plan plan, GlimpseConfig c, Summary s) throws IOException {
        List<JsonNode> records = new ArrayList<>();
        if (plan.to() instanceof ReprocessSink.JsonLinesFile f) {
            records.addAll(GallerySource.readJsonLines(f.file()));
            Path dead = JsonLinesFileSink.deadLettersFile(f.file());
            if (Files.exists(dead)) {
                records.addAll(GallerySource.readJsonLines(dead));
            }
        } else if (plan.to() instanceof ReprocessSink.JsonLinesDir d) {
            records.addAll(d.committed());
        } else if (plan.to() instanceof ReprocessSink.ParquetDir d) {
            records.addAll(d.committed());
        } else if (plan.to() instanceof ReprocessSink.KafkaTopic k) {
            records.addAll(new GallerySource(to, null, null, List.of(k.topic(), k.deadLetterTopic()), k.bootstrap())
                    .read(c.kafkaProperties(), Duration.ofMinutes(2)));
        } else {
            throw new IllegalStateException("no gallery reader for " + plan.to());
        }
        Path images = plan.from() instanceof ReprocessSource.Folder f && f.rootUri().startsWith("file:")
                ? Path.of(java.net.URI.create(f.rootUri())) : null;
        GalleryPage.Summary g = GalleryPage.write(records, images, to, GALLERY_LIMIT,
                s.outcomes() / Math.max(s.seconds(), 1e-3), gallery);
        System.out.printf(Locale.ROOT, "gallery       %s (%d KB, %d captions, %d dead letters)%n", gallery,
                (g.bytes() + 1023) / 1024, g.captions(), g.deadLetters());
    }

    /**
     * When the run's first outcome came, exactly (the tallies note it), and how many there were at the
     * command's first look after it: {@code seen}, or the final tallies when the job ended in between.
     * Null when there was no outcome at all.
     */
    static FirstOutcome firstOutcome(String runId, long startedNanos, Summary seen) {
        if (seen.outcomes() == 0) {
            return null;
        }
        OptionalLong at = Tallies.firstCounted(runId, "outcomes");
        double seconds = at.isPresent() ? (at.getAsLong() - startedNanos) / 1e9 : seen.seconds();
        return new FirstOutcome(Math.max(0, seconds), seen.outcomes());
    }

    record FirstOutcome(double seconds, long outcomes) {}

    /** What a run did, from its tallies. */
    record Summary(long images, long skipped, long captions, Map<String, Long> deadLettersByCode, double seconds) {
        static Summary of(String runId, long startedNanos) {
            Map<String, Long> read = Tallies.read(runId, "read");
            Map<String, Long> outcomes = new TreeMap<>(Tallies.read(runId, "outcomes"));
            long captions = outcomes.getOrDefault("captions", 0L);
            outcomes.remove("captions");
            return new Summary(read.getOrDefault("images", 0L), read.getOrDefault("skipped", 0L), captions, outcomes,
                    (System.nanoTime() - startedNanos) / 1e9);
        }

        long deadLetters() {
            return deadLettersByCode.values().stream().mapToLong(Long::longValue).sum();
        }

        long outcomes() {
            return captions + deadLetters();
        }

        /** {@code first}: when the run's first outcomes came (null: none came). */
        String table(FirstOutcome first) {
            String codes = deadLettersByCode.isEmpty() ? ""
                    : "  (" + deadLettersByCode.entrySet().stream().map(e -> e.getKey() + " " + e.getValue())
                            .collect(Collectors.joining(", ")) + ")";
            StringBuilder b = new StringBuilder();
            b.append(String.format(Locale.ROOT, "images        %d%n", images));
            b.append(String.format(Locale.ROOT, "captions      %d%n", captions));
            b.append(String.format(Locale.ROOT, "dead letters  %d%s%n", deadLetters(), codes));
            if (skipped > 0) {
                b.append(String.format(Locale.ROOT, "skipped       %d  (already in the sink)%n", skipped));
            }
            b.append(String.format(Locale.ROOT, "wall time     %.1f s%n", seconds));
            if (first != null) {
                // What the run paid before its first batch was done: tasks' start, the model's load, a first forward.
                b.append(String.format(Locale.ROOT, "first outcome %.1f s  (%d by then)%n", first.seconds(), first.outcomes()));
            }
            b.append(String.format(Locale.ROOT, "images/s      %.1f%n", images / Math.max(seconds, 1e-3)));
            return b.toString();
        }
    }

    private static void deleteQuietly(Path dir) {
        try (var paths = Files.walk(dir)) {
            paths.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            // A leftover temporary folder is harmless.
        }
    }
}
