package dev.glimpse.job;

import dev.glimpse.connectors.KafkaClients;
import dev.glimpse.connectors.KafkaConnectors;
import dev.glimpse.connectors.KafkaSettings;
import dev.glimpse.connectors.KafkaTopics;
import dev.glimpse.model.ModelConfig;
import dev.glimpse.operators.BatchedCaptioner;
import dev.glimpse.operators.CaptionSerializer;
import dev.glimpse.operators.DeadLetterSerializer;
import dev.glimpse.operators.ImageEvent;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.ExternalizedCheckpointRetention;
import org.apache.flink.configuration.MemorySize;
import org.apache.flink.configuration.TaskManagerOptions;
import org.apache.flink.core.execution.CheckpointingMode;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.LocalStreamEnvironment;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The streaming job with Kafka at both ends: images topic → {@link GlimpsePipeline} → captions topic
 * and dead-letter topic, written with Kafka transactions (exactly once with checkpointing). This
 * class is also the entry point a Flink cluster runs ({@code flink run glimpse-job.jar --set ...}).
 */
public final class GlimpseJob {
    private static final Logger LOG = LoggerFactory.getLogger(GlimpseJob.class);

    /** How long the start-up check waits for Kafka before the job starts anyway. */
    public static final Duration ACCESS_CHECK_TIMEOUT = Duration.ofSeconds(15);

    private GlimpseJob() {}

    /** Checkpointing (exactly once, retained on cancellation, in the configured directory). */
    public static Configuration checkpointing(GlimpseConfig c) {
        Configuration conf = new Configuration();
        conf.set(CheckpointingOptions.CHECKPOINTING_INTERVAL, c.get(GlimpseOptions.CHECKPOINT_INTERVAL));
        conf.set(CheckpointingOptions.CHECKPOINTING_CONSISTENCY_MODE, CheckpointingMode.EXACTLY_ONCE);
        conf.set(CheckpointingOptions.EXTERNALIZED_CHECKPOINT_RETENTION, ExternalizedCheckpointRetention.RETAIN_ON_CANCELLATION);
        conf.set(CheckpointingOptions.CHECKPOINTS_DIRECTORY, toUri(c.get(GlimpseOptions.CHECKPOINT_DIR)));
        conf.set(CheckpointingOptions.SAVEPOINT_DIRECTORY, toUri(c.get(GlimpseOptions.CHECKPOINT_DIR)) + "/savepoints");
        return conf;
    }

    /**
     * The configuration of a job run on a local Flink cluster (demo, run, soak, reprocess, bench):
     * {@link #checkpointing} and network buffers that can hold two batches of patch-embedded images
     * between the CPU stages and the captioner ({@link #networkSegmentSize}).
     */
    public static Configuration localCluster(GlimpseConfig c) {
        Configuration conf = checkpointing(c);
        MemorySize segment = networkSegmentSize(c);
        conf.set(TaskManagerOptions.MEMORY_SEGMENT_SIZE, segment);
        // Flink 2 gives each gate and subpartition a fixed number of buffers; the pool must hold them all.
        MemorySize network = new MemorySize(Math.max(64L << 20, segment.getBytes() * NETWORK_BUFFERS));
        conf.set(TaskManagerOptions.NETWORK_MEMORY_MIN, network);
        conf.set(TaskManagerOptions.NETWORK_MEMORY_MAX, network);
        return conf;
    }

    /** Network buffers the local cluster's pool holds: every gate and subpartition of the job, with room. */
    static final int NETWORK_BUFFERS = 256;

    /**
     * Largest network buffer of the local cluster. Flink allocates its whole buffer pool when the
     * TaskManager starts ({@code NetworkBufferPool}, zeroed direct memory), and the pool holds {@link
     * #NETWORK_BUFFERS} of them: buffers of one SmolVLM tile (4 MB) made a 1 GB pool, measured as
     * +970 MB of RSS at start against +193 MB for the 64 MB pool.
     */
    static final MemorySize MAX_SEGMENT = MemorySize.parse("1mb");

    /**
     * The size of a network buffer: the power of two that holds one patch-embedded image (at least
     * Flink's default 32 KB, at most {@link #MAX_SEGMENT}). Flink 2 gives a channel between two tasks
     * a fixed number of buffers (about 10 on the sending side and 12 on the receiving side of the
     * rebalance); with 32 KB buffers and the built-in model's 221 KB records (3 views × 144 patches ×
     * 128 floats) only four records fit in flight, so the captioner, finding four records waiting
     * after each forward, ran batches of four whatever {@code batching.max-batch-size} said. With
     * buffers of one record, about 35 fit. Images split into tiles (SmolVLM) are counted as their
     * global image, and capped: their records are tens of MB, span buffers whatever their size, and
     * Flink's receiver spills a record of over 5 MB to disk as it arrives; 22 MB in flight a channel
     * is several seconds of the CPU's vision tower.
     */
    static MemorySize networkSegmentSize(GlimpseConfig c) {
        return networkSegmentSize(c.modelConfig(), c.get(GlimpseOptions.TEST_TIME_VIEWS));
    }

    static MemorySize networkSegmentSize(ModelConfig model, boolean testTimeViews) {
        int rows = model.idefics3 == null && testTimeViews ? model.views().length : 1;
        long record = (long) rows * model.numPatches() * model.vitHiddenDim * Float.BYTES;
        long segment = Math.max(32 << 10, Long.highestOneBit(Math.max(1, record - 1)) << 1);
        return new MemorySize(Math.min(segment, MAX_SEGMENT.getBytes()));
    }

    /** A local path becomes an absolute file URI; a URI with a scheme is kept. */
    public static String toUri(String dir) {
        return dir.matches("^[a-zA-Z][a-zA-Z0-9+.-]*://.*") ? dir : Path.of(dir).toAbsolutePath().toUri().toString();
    }

    /** Adds the whole Kafka job to {@code env}. */
    public static void addTo(StreamExecutionEnvironment env, GlimpseConfig c) {
        addTo(env, c, new BatchedCaptioner(c.modelDir().toAbsolutePath().toString(), c.engineDtype(), c.batchingSettings()));
    }

    /** Adds the whole Kafka job to {@code env}, with a given inference operator. */
    public static void addTo(StreamExecutionEnvironment env, GlimpseConfig c, BatchedCaptioner captioner) {
        String bootstrap = c.get(GlimpseOptions.BOOTSTRAP_SERVERS);
        KafkaClients.checkAccess(bootstrap, c.kafkaProperties(), ACCESS_CHECK_TIMEOUT, KafkaTopics.used(List.of(
                c.get(GlimpseOptions.IMAGES_TOPIC), c.get(GlimpseOptions.CAPTIONS_TOPIC), c.get(GlimpseOptions.DEAD_LETTER_TOPIC)),
                c.topicCreation()));
        PipelineSettings settings = PipelineSettings.of(c);
        int cpu = settings.cpuParallelism();
        KafkaSettings kafka = c.kafkaSettings();
        DataStream<ImageEvent> events = env.fromSource(KafkaConnectors.images(bootstrap, c.get(GlimpseOptions.IMAGES_TOPIC),
                        c.get(GlimpseOptions.GROUP_ID), c.get(GlimpseOptions.STARTING_OFFSETS), c.get(GlimpseOptions.BOUNDED), kafka),
                        WatermarkStrategy.noWatermarks(), "images")
                .uid("images-source").setParallelism(cpu);
        GlimpsePipeline.Outputs out = GlimpsePipeline.build(events, settings, captioner);
        // Sinks run at the parallelism of their input, never at the cluster's default: a job must fit
        // (and restart) in the slots its stages need, not in all the slots a cluster happens to have.
        out.captions().sinkTo(KafkaConnectors.exactlyOnce(bootstrap, new CaptionSerializer(c.get(GlimpseOptions.CAPTIONS_TOPIC)), "captions", kafka))
                .name("captions").uid("captions-sink").setParallelism(settings.inferenceParallelism());
        out.deadLetters().sinkTo(KafkaConnectors.exactlyOnce(bootstrap, new DeadLetterSerializer(c.get(GlimpseOptions.DEAD_LETTER_TOPIC)), "dead-letters", kafka))
                .name("dead-letters").uid("dead-letters-sink").setParallelism(cpu);
    }

    /**
     * Entry point on a Flink cluster ({@code flink run}, REST, application mode): the options of {@code
     * bin/glimpse run}, or with {@code reprocess} first those of {@code bin/glimpse reprocess}
     * ({@link ClusterArguments}). It submits the graph and returns; it never calls System.exit, as in
     * application mode main() runs inside the JobManager.
     */
    public static void main(String[] args) throws Exception {
        try {
            submit(args);
        } catch (IllegalArgumentException e) {
            // What the client prints may be far from the JobManager's log (application mode, REST): say it in both.
            LOG.error("Glimpse job not submitted: {}", e.getMessage());
            throw e;
        }
    }

    private static void submit(String[] args) throws Exception {
        ClusterArguments arguments = ClusterArguments.parse(args);
        if (arguments.help()) {
            System.out.print(ClusterArguments.USAGE);
            return;
        }
        arguments.ignoredLocalOptions().forEach(o ->
                System.err.println("--" + o + " applies to bin/glimpse's local cluster only; ignored on a cluster"));
        StreamExecutionEnvironment env;
        String name;
        if (arguments.reprocess() != null) {
            ReprocessArguments r = arguments.reprocess();
            GlimpseConfig c = r.load(Map.of());
            // On a cluster the client's file systems are the installation's (plugins/, config.yaml).
            ReprocessJob.Plan plan = r.plan("reprocess-" + UUID.randomUUID(), c);
            env = StreamExecutionEnvironment.getExecutionEnvironment(ReprocessJob.flinkConfiguration(c));
            requireCluster(env);
            ReprocessJob.addTo(env, c, plan);
            if (!arguments.quiet()) {
                System.err.println(ReprocessJob.describe(c, plan));
            }
            name = "glimpse-reprocess";
        } else {
            RunArguments run = arguments.run();
            GlimpseConfig c = run.load();
            env = StreamExecutionEnvironment.getExecutionEnvironment(run.flinkConfiguration(c, System.err));
            requireCluster(env);
            StartupBanner.print(System.err, "Glimpse run", c, null);
            addTo(env, c);
            name = "glimpse";
        }
        // main() only submits: the job runs on without it.
        System.out.println("submitted job " + env.executeAsync(name).getJobID());
    }

    /** Run without a cluster's context, the job would start a cluster of its own: that is bin/glimpse's work. */
    private static void requireCluster(StreamExecutionEnvironment env) {
        if (env instanceof LocalStreamEnvironment) {
            throw new IllegalStateException("dev.glimpse.job.GlimpseJob is what a Flink cluster runs (flink run, "
                    + "REST, application mode); on this machine use bin/glimpse run or bin/glimpse reprocess");
        }
    }
}
