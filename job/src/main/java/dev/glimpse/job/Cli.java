package dev.glimpse.job;

import dev.glimpse.job.cluster.ClusterTest;
import dev.glimpse.model.ReferenceVerifier;
import dev.glimpse.model.VisionLanguageModel;
import dev.glimpse.model.scenes.SceneGenerator;
import dev.glimpse.model.scenes.SceneWriter;
import dev.glimpse.model.training.Evaluator;
import dev.glimpse.model.training.ScenesModel;
import dev.glimpse.model.training.Trainer;
import dev.glimpse.model.training.TrainerOptions;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.StateRecoveryOptions;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.core.execution.SavepointFormatType;
import org.apache.flink.streaming.api.environment.LocalStreamEnvironment;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code bin/glimpse}: the command line. Each subcommand parses, loads, runs, in a few lines. */
@Command(name = "glimpse", mixinStandardHelpOptions = true, version = "glimpse 0.1.0",
        description = "Streaming image captioning on Apache Flink with a vision-language model.",
        subcommands = {Demo.class, Cli.Run.class, Reprocess.class, CaptionFiles.class, Cli.Scenes.class, Cli.Train.class,
                Cli.Eval.class, Cli.VerifyReference.class, Bench.class, ReprocessBench.class, BatchingBench.class, Stop.class, Broker.class, Produce.class, Tail.class, Soak.class, ClusterTest.class,
                Gallery.class})
public final class Cli {
    public static void main(String[] args) {
        CommandLine cli = new CommandLine(new Cli());
        cli.setExecutionExceptionHandler((e, cmd, parsed) -> {
            if (e instanceof IllegalArgumentException) {
                cmd.getErr().println("glimpse: " + e.getMessage());
                return 2;
            }
            throw e;
        });
        System.exit(cli.execute(args));
    }

    /** Options shared by the commands that run the job. */
    static final class JobOptions {
        @Option(names = "--config", description = "YAML configuration (default: conf/glimpse.yaml of the installation).")
        Path config;

        @Option(names = "--set", description = "Override any option of the configuration: --set batching.max-batch-size=8.",
                mapFallbackValue = "")
        Map<String, String> set = new LinkedHashMap<>();

        @Option(names = "--model", description = "Model folder (default: the built-in models/glimpse-scenes).")
        Path model;

        /** The configuration with the file, then --set, then the dedicated flags applied. */
        GlimpseConfig load(Map<String, String> flags) {
            Map<String, String> overrides = new LinkedHashMap<>(set);
            if (model != null) {
                overrides.put(GlimpseOptions.MODEL_DIR.key(), model.toString());
            }
            overrides.putAll(flags);
            GlimpseConfig c = GlimpseConfig.load(config != null ? config : Installation.defaultConfigFile(), overrides);
            Engines.configureThreads(c);
            return c;
        }
    }

    /**
     * Options of the commands that only talk to Kafka (produce, tail): the job's configuration file
     * and {@code --set}, so that one file carries the {@code kafka.properties.*} (TLS, SASL) of all.
     */
    static final class KafkaOptions {
        @Option(names = "--config", description = "YAML configuration whose kafka.* settings to use (default: conf/glimpse.yaml of the installation).")
        Path config;

        @Option(names = "--set", description = "Override an option, e.g. --set kafka.properties.security.protocol=SASL_SSL.",
                mapFallbackValue = "")
        Map<String, String> set = new LinkedHashMap<>();

        GlimpseConfig load() {
            return GlimpseConfig.load(config != null ? config : Installation.defaultConfigFile(), set);
        }
    }

    @Command(name = "run", mixinStandardHelpOptions = true,
            description = "Run the streaming job against an existing Kafka, on a local Flink cluster (or, "
                    + "through 'flink run', on a real one). Runs until stopped.")
    public static final class Run implements Callable<Integer> {
        @Mixin JobOptions job;
        @Option(names = "--bootstrap", description = "Kafka bootstrap servers (kafka.bootstrap-servers).") String bootstrap;
        @Option(names = "--images-topic") String imagesTopic;
        @Option(names = "--captions-topic") String captionsTopic;
        @Option(names = "--dead-letter-topic") String deadLetterTopic;
        @Option(names = "--checkpoint-dir", description = "Durable checkpoint directory (checkpoint.dir).") String checkpointDir;
        @Option(names = "--resume", description = "Continue from the latest retained checkpoint in the checkpoint directory.")
        boolean resume;
        @Option(names = "--from-savepoint", description = "Start from this savepoint or retained checkpoint.") String fromSavepoint;
        @Option(names = "--rest-port", defaultValue = "8081", description = "REST/web UI port of the local cluster.") int restPort;
        @Option(names = "--prometheus-port", defaultValue = "0", description = "Serve the local cluster's metrics "
                + "for Prometheus on this port, all interfaces (0: none; a cluster takes its own config.yaml).")
        int prometheusPort;

        /** Ctrl-C (SIGINT/SIGTERM) stops the job with a savepoint before the process exits. */
        private static void stopWithSavepointOnCtrlC(JobClient client, GlimpseConfig c,
                                                     java.util.concurrent.atomic.AtomicBoolean ended) {
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                if (ended.get()) {
                    return;
                }
                try {
                    String path = client.stopWithSavepoint(false,
                            GlimpseJob.toUri(c.get(GlimpseOptions.CHECKPOINT_DIR)) + "/savepoints",
                            SavepointFormatType.CANONICAL).get(2, java.util.concurrent.TimeUnit.MINUTES);
                    System.err.println("stopped with savepoint " + path + "\ncontinue with: bin/glimpse run ... --from-savepoint " + path);
                } catch (Exception e) {
                    System.err.println("could not stop with a savepoint (" + e + "); resume from the latest checkpoint with --resume");
                }
            }, "glimpse-stop-with-savepoint"));
        }

        @Override
        public Integer call() throws Exception {
            Map<String, String> flags = new LinkedHashMap<>();
            putIf(flags, GlimpseOptions.BOOTSTRAP_SERVERS.key(), bootstrap);
            putIf(flags, GlimpseOptions.IMAGES_TOPIC.key(), imagesTopic);
            putIf(flags, GlimpseOptions.CAPTIONS_TOPIC.key(), captionsTopic);
            putIf(flags, GlimpseOptions.DEAD_LETTER_TOPIC.key(), deadLetterTopic);
            putIf(flags, GlimpseOptions.CHECKPOINT_DIR.key(), checkpointDir);
            GlimpseConfig c = job.load(flags);
            Configuration flink = GlimpseJob.localCluster(c);
            String restoreFrom = fromSavepoint;
            if (resume && restoreFrom == null) {
                restoreFrom = Checkpoints.latest(Path.of(c.get(GlimpseOptions.CHECKPOINT_DIR)))
                        .map(Path::toString)
                        .orElseThrow(() -> new IllegalArgumentException("--resume: no retained checkpoint in "
                                + c.get(GlimpseOptions.CHECKPOINT_DIR)));
            }
            if (restoreFrom != null) {
                flink.set(StateRecoveryOptions.SAVEPOINT_PATH, restoreFrom);
                System.err.println("restoring from " + restoreFrom);
            }
            StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(flink);
            LocalCluster local = null;
            if (env instanceof LocalStreamEnvironment) {
                // A local cluster of our own: give it the web UI and REST API (glimpse stop talks to it).
                local = new LocalCluster(restPort, prometheusPort);
                env = local.environment(flink);
            }
            StartupBanner.print(System.err, "Glimpse run", c, local);
            if (local != null && FlinkFileSystems.neededFor(c)) {
                // envelopes' s3:// URIs are read through the plugins, as on a cluster (which sets them up itself)
                System.err.println("file systems " + FlinkFileSystems.initialize(c).describe());
            }
            GlimpseJob.addTo(env, c);
            JobClient client = env.executeAsync("glimpse");
            if (!(env instanceof LocalStreamEnvironment)) {
                // On a cluster (flink run, REST, application mode) main() only submits: the job runs on without it.
                System.out.println("submitted job " + client.getJobID());
                return 0;
            }
            java.util.concurrent.atomic.AtomicBoolean ended = new java.util.concurrent.atomic.AtomicBoolean();
            long started = System.currentTimeMillis();
            System.err.println("job " + client.getJobID() + " running; web UI and REST API on " + local.webUi()
                    + (local.metrics() != null ? "; metrics on " + local.metrics() : "")
                    + "; Ctrl-C or 'bin/glimpse stop' stops it with a savepoint");
            stopWithSavepointOnCtrlC(client, c, ended);
            client.getJobExecutionResult().get();
            ended.set(true);
            Checkpoints.newestSavepoint(Path.of(c.get(GlimpseOptions.CHECKPOINT_DIR)), started).ifPresent(sp ->
                    System.err.println("stopped with savepoint " + sp + "\ncontinue with: bin/glimpse run ... --from-savepoint " + sp));
            return 0;
        }
    }

    static void putIf(Map<String, String> m, String key, String value) {
        if (value != null) {
            m.put(key, value);
        }
    }

    @Command(name = "scenes", mixinStandardHelpOptions = true,
            description = "Write synthetic scenes (images + manifest.jsonl with id, file, caption).")
    static final class Scenes implements Callable<Integer> {
        @Option(names = "--count", required = true) long count;
        @Option(names = "--seed", defaultValue = "1") long seed;
        @Option(names = "--out", required = true) Path out;

        @Override
        public Integer call() throws Exception {
            Path manifest = SceneWriter.write(new SceneGenerator(seed), count, out);
            System.out.println("wrote " + count + " scenes and " + manifest);
            return 0;
        }
    }

    @Command(name = "train", mixinStandardHelpOptions = true,
            description = "Train the built-in scenes model on scenes generated on the fly, from scratch or from a model folder.")
    static final class Train implements Callable<Integer> {
        @Option(names = "--steps", defaultValue = "10000") int steps;
        @Option(names = "--batch-size", defaultValue = "32") int batchSize;
        @Option(names = "--lr", defaultValue = "2e-3") double lr;
        @Option(names = "--min-lr", defaultValue = "5e-5") double minLr;
        @Option(names = "--warmup", defaultValue = "300") int warmup;
        @Option(names = "--weight-decay", defaultValue = "0.01") double weightDecay;
        @Option(names = "--clip", defaultValue = "1.0") double clip;
        @Option(names = "--seed", defaultValue = "1") long seed;
        @Option(names = "--out", defaultValue = "runs/glimpse-scenes") Path out;
        @Option(names = "--resume", description = "Continue from the checkpoint in --out.") boolean resume;
        @Option(names = "--checkpoint-every", defaultValue = "250") int checkpointEvery;
        @Option(names = "--log-every", defaultValue = "50") int logEvery;
        @Option(names = "--data-threads", defaultValue = "1") int dataThreads;
        @Option(names = "--threads", defaultValue = "0", description = "PyTorch threads (0: all cores).") int threads;
        @Option(names = "--init-from", description = "Warm start: begin from this model folder's weights, "
                + "with a fresh optimizer and schedule.") Path initFrom;
        @Option(names = "--lm-blocks", defaultValue = "0", description = "Decoder blocks of a new model; with "
                + "--init-from, deepen the source's decoder to this many, new blocks starting as the identity "
                + "(0: the default, or the source's depth).") int lmBlocks;
        @Option(names = "--object-weights", split = ",", description = "Relative weights of scenes with 1, 2 "
                + "and 3 objects, e.g. 1,2,3 (default: uniform, as SCENES.md draws them).") double[] objectWeights;
        @Option(names = "--hard-share", defaultValue = "0", description = "Share of scenes (0 to 1) drawn from "
                + "the hardest corner of SCENES.md: 64-128 px canvases, mostly low-quality JPEG, mostly small "
                + "objects.") double hardShare;
        @Option(names = "--image-size", defaultValue = "0", description = "Input size in pixels of a new model; "
                + "with --init-from, resize the source's input to this, its position embeddings interpolated to the "
                + "new patch grid (0: the default, or the source's size).") int imageSize;
        @Option(names = "--vit-blocks", defaultValue = "0", description = "Vision-encoder blocks of a new model; "
                + "with --init-from, deepen the source's encoder to this many, new blocks starting as the identity "
                + "(0: the default, or the source's depth).") int vitBlocks;

        @Override
        public Integer call() throws Exception {
            Engines.configureThreads(threads);
            TrainerOptions opt = new TrainerOptions(steps, batchSize, lr, minLr, warmup, weightDecay, clip, seed,
                    out, resume, checkpointEvery, logEvery, dataThreads, initFrom, lmBlocks, objectWeights, hardShare,
                    imageSize, vitBlocks);
            Trainer.train(opt, ScenesModel.defaultConfig(), System.out);
            return 0;
        }
    }

    @Command(name = "eval", mixinStandardHelpOptions = true,
            description = "Caption N fresh scenes and print exact match, per-attribute accuracy and the worst confusions.")
    static final class Eval implements Callable<Integer> {
        @Option(names = "--model", description = "Model folder (default: the built-in model).") Path model;
        @Option(names = "--count", defaultValue = "2000") int count;
        @Option(names = "--seed", defaultValue = "424242") long seed;
        @Option(names = "--batch-size", defaultValue = "64") int batchSize;
        @Option(names = "--manifest", description = "Score the images of this manifest.jsonl (file, caption per "
                + "line; e.g. scenes drawn by other software) instead of fresh scenes.") Path manifest;
        @Option(names = "--single-view", description = "Caption one unmoved view of each image instead of the "
                + "model's test-time views (view_shifts in its config.json).") boolean singleView;

        @Override
        public Integer call() throws IOException {
            try (VisionLanguageModel m = VisionLanguageModel.load(model != null ? model : Installation.builtInModel())) {
                System.out.print((manifest != null ? Evaluator.evaluate(m, manifest, batchSize, !singleView)
                        : Evaluator.evaluate(m, seed, count, batchSize, !singleView)).table());
            }
            return 0;
        }
    }

    @Command(name = "verify-reference", mixinStandardHelpOptions = true,
            description = "Compare every stage of a model with reference outputs of its original implementation.")
    static final class VerifyReference implements Callable<Integer> {
        @Option(names = "--model", required = true) Path model;
        @Option(names = "--expected", required = true) Path expected;

        @Override
        public Integer call() throws Exception {
            try (VisionLanguageModel m = VisionLanguageModel.load(model)) {
                List<ReferenceVerifier.Stage> stages = ReferenceVerifier.verify(m, expected);
                System.out.print(ReferenceVerifier.table(stages));
                boolean ok = !stages.isEmpty() && stages.stream().allMatch(ReferenceVerifier.Stage::pass);
                System.out.println(ok ? "all stages match (float tolerance " + ReferenceVerifier.TOLERANCE + ")"
                        : "MISMATCH");
                return ok ? 0 : 1;
            }
        }
    }
}
