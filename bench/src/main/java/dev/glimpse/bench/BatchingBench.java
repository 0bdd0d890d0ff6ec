package dev.glimpse.bench;

import dev.glimpse.cli.Subcommand;
import dev.glimpse.job.Engines;
import dev.glimpse.job.Installation;
import dev.glimpse.model.Captioner;
import dev.glimpse.model.ImagePreprocessor;
import dev.glimpse.model.ModelConfig;
import dev.glimpse.model.RgbImage;
import dev.glimpse.model.ViewPlan;
import dev.glimpse.model.VisionLanguageModel;
import dev.glimpse.model.scenes.SceneGenerator;
import dev.glimpse.operators.BatchedCaptioner;
import dev.glimpse.operators.BatchingSettings;
import dev.glimpse.operators.CaptionRecord;
import dev.glimpse.operators.EmbeddedImage;
import dev.glimpse.operators.ImageRequest;
import dev.glimpse.operators.SourceRef;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Callable;
import org.apache.flink.api.common.functions.MapFunction;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.functions.RichMapFunction;
import org.apache.flink.api.common.typeinfo.PrimitiveArrayTypeInfo;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.util.CloseableIterator;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code glimpse bench-batching}: continuous against static batching in the real operator on a
 * local Flink cluster, on a stream whose records ask for different {@code max_new_tokens}. Images are
 * patch-embedded once up front, so the runs time the captioner alone: a source task emits them,
 * as fast as the captioner takes them (throughput) or at a fixed rate (latency from the moment a
 * record was due to the moment its caption was emitted). Both modes run in the same process, one
 * after the other, at the same rate.
 */
@Command(name = "bench-batching", mixinStandardHelpOptions = true,
        description = "Continuous vs static batching on a stream of mixed caption lengths; prints a table.")
public final class BatchingBench implements Callable<Integer>, Subcommand {
    @Option(names = "--model", description = "Model folder (default: the built-in models/glimpse-scenes).") Path model;
    @Option(names = "--images", defaultValue = "320", description = "Records per run.") int images;
    @Option(names = "--caps", defaultValue = "4,24", split = ",",
            description = "max_new_tokens of the records, in turn (default: half 4, half 24).") int[] caps;
    @Option(names = "--batch-size", defaultValue = "16", description = "batching.max-batch-size.") int batchSize;
    @Option(names = "--delay-ms", defaultValue = "50", description = "batching.max-batch-delay.") long delayMs;
    @Option(names = "--load", defaultValue = "0.5,0.9", split = ",",
            description = "Paced runs: rates as shares of static batching's throughput measured first.") double[] load;
    @Option(names = "--rates", split = ",", description = "Paced runs: images/s (instead of --load).") double[] rates;
    @Option(names = "--single-view", description = "One view per image (default: the model's test-time views).")
    boolean singleView;
    @Option(names = "--threads", defaultValue = "0", description = "PyTorch threads (0: the engine's default).") int threads;
    @Option(names = "--out", defaultValue = "target/bench", description = "Folder for batching.csv.") Path out;

    static final BatchingSettings.Mode[] MODES = {BatchingSettings.Mode.STATIC, BatchingSettings.Mode.CONTINUOUS};

    /** What one run measured. */
    record Run(BatchingSettings.Mode mode, double offeredRate, int captions, double imagesPerSecond, double p50,
               double p95, double p99, double meanBatch, double meanTokensShort, double meanTokensLong) {}

    @Override
    public Integer call() throws Exception {
        Engines.configureThreads(threads);
        if (images < 1 || caps.length == 0 || Arrays.stream(caps).anyMatch(c -> c < 1) || batchSize < 1
                || Arrays.stream(load).anyMatch(l -> l <= 0) || (rates != null && Arrays.stream(rates).anyMatch(r -> r <= 0))) {
            throw new IllegalArgumentException("--images, --caps, --batch-size, --load and --rates must be positive");
        }
        Path dir = (model != null ? model : Installation.builtInModel()).toAbsolutePath();
        Embedded embedded = embed(dir, singleView);
        System.err.printf("model %s, %d distinct images embedded (%s), caps %s, batch size %d, delay %d ms%n",
                dir.getFileName(), embedded.patches().length, embedded.plan(), Arrays.toString(caps), batchSize, delayMs);
        List<Run> runs = new ArrayList<>();
        double[] saturated = new double[MODES.length];
        for (int m = 0; m < MODES.length; m++) {
            Run r = run(dir, embedded, MODES[m], 0);
            saturated[m] = r.imagesPerSecond();
            runs.add(r);
        }
        double[] paced = rates != null ? rates : Arrays.stream(load).map(l -> l * saturated[0]).toArray();
        for (double perSecond : paced) {
            for (BatchingSettings.Mode mode : MODES) {
                runs.add(run(dir, embedded, mode, perSecond));
            }
        }
        BenchReport report = report(dir, embedded.plan(), runs);
        report.print(System.out);
        java.nio.file.Files.createDirectories(out);
        report.writeCsv(out.resolve("batching.csv"));
        System.err.println("wrote " + out.resolve("batching.csv"));
        return 0;
    }

    private BenchReport report(Path dir, ViewPlan plan, List<Run> runs) {
        BenchReport r = new BenchReport("batching: model " + dir.getFileName() + ", " + images + " images a run, caps "
                + Arrays.toString(caps) + " in turn, max-batch-size " + batchSize + ", " + plan.rows() + " view(s)"
                + (plan.adaptive() ? " (adaptive)" : ""),
                "mode", "offered/s", "captions", "images/s", "p50 ms", "p95 ms", "p99 ms", "mean batch",
                "tokens cap " + caps[0], "tokens cap " + caps[caps.length - 1]);
        for (Run run : runs) {
            boolean pacedRun = run.offeredRate() > 0;
            r.row().put("mode", run.mode().name().toLowerCase()).put("offered/s", pacedRun ? run.offeredRate() : "max")
                    .put("captions", run.captions()).put("images/s", run.imagesPerSecond())
                    .put("p50 ms", pacedRun ? run.p50() : null).put("p95 ms", pacedRun ? run.p95() : null)
                    .put("p99 ms", pacedRun ? run.p99() : null).put("mean batch", run.meanBatch())
                    .put("tokens cap " + caps[0], run.meanTokensShort())
                    .put("tokens cap " + caps[caps.length - 1], run.meanTokensLong());
        }
        r.note("offered/s max: the source emits as fast as the captioner takes records (throughput; latency is then queueing)");
        r.note("latency: from the moment a paced record was due at the source to the moment its caption was emitted");
        r.note("mean batch: per caption, the most images that decoded in one step beside it (static: its batch's size)");
        return r;
    }

    /** One run of {@link #images} records through the captioner in {@code mode}; {@code perSecond} 0: unpaced. */
    private Run run(Path dir, Embedded embedded, BatchingSettings.Mode mode, double perSecond) throws Exception {
        Configuration flink = new Configuration();
        StreamExecutionEnvironment env = StreamExecutionEnvironment.createLocalEnvironment(1, flink);
        // Flush every record at once: the default 100 ms buffer timeout would sit in every latency.
        env.setBufferTimeout(0);
        BatchingSettings settings = new BatchingSettings(batchSize, Duration.ofMillis(delayMs), Duration.ofMillis(delayMs),
                mode);
        long[][] outcomes = new long[images][];
        int n = 0;
        try (CloseableIterator<long[]> it = env.fromSequence(0, images - 1L)
                .map(new DueRecords(embedded, caps, perSecond)).returns(TypeInformation.of(EmbeddedImage.class))
                .transform(BatchedCaptioner.STAGE, TypeInformation.of(CaptionRecord.class),
                        new BatchedCaptioner(dir.toString(), settings)).startNewChain()
                .map(new Outcome()).returns(PrimitiveArrayTypeInfo.LONG_PRIMITIVE_ARRAY_TYPE_INFO)
                .executeAndCollect("bench-batching " + mode)) {
            while (it.hasNext()) {
                outcomes[n++] = it.next();
            }
        }
        return summarise(mode, perSecond, Arrays.copyOf(outcomes, n));
    }

    /** {@code outcomes}: {due, completed, tokens, batch size, cap} per caption. */
    private Run summarise(BatchingSettings.Mode mode, double perSecond, long[][] outcomes) {
        long first = Arrays.stream(outcomes).mapToLong(o -> o[0]).min().orElse(0);
        long last = Arrays.stream(outcomes).mapToLong(o -> o[1]).max().orElse(0);
        double[] latency = Arrays.stream(outcomes).mapToDouble(o -> o[1] - o[0]).sorted().toArray();
        double meanBatch = Arrays.stream(outcomes).mapToLong(o -> o[3]).average().orElse(0);
        double shortTokens = Arrays.stream(outcomes).filter(o -> o[4] == caps[0]).mapToLong(o -> o[2]).average().orElse(0);
        double longTokens = Arrays.stream(outcomes).filter(o -> o[4] == caps[caps.length - 1]).mapToLong(o -> o[2])
                .average().orElse(0);
        Run r = new Run(mode, perSecond, outcomes.length, outcomes.length * 1000.0 / Math.max(1, last - first),
                percentile(latency, 0.50), percentile(latency, 0.95), percentile(latency, 0.99), meanBatch, shortTokens,
                longTokens);
        System.err.printf("%s %s: %d captions, %.1f images/s, p99 %.0f ms%n", mode, perSecond > 0
                ? String.format("at %.1f/s", perSecond) : "unpaced", r.captions(), r.imagesPerSecond(), r.p99());
        return r;
    }

    static double percentile(double[] sorted, double q) {
        if (sorted.length == 0) {
            return 0;
        }
        return sorted[Math.min(sorted.length - 1, (int) Math.ceil(q * sorted.length) - 1)];
    }

    /** Patch embeddings of distinct scenes, computed once; the records cycle through them. */
    record Embedded(float[][] patches, int views, double viewConfidence) implements java.io.Serializable {
        ViewPlan plan() {
            return new ViewPlan(views, viewConfidence);
        }
    }

    static Embedded embed(Path dir, boolean singleView) throws Exception {
        int distinct = 24;
        try (VisionLanguageModel m = VisionLanguageModel.load(dir)) {
            if (m.config().idefics3 != null) {
                throw new IllegalArgumentException("bench-batching embeds views, not Idefics3 tiles: give the built-in "
                        + "or a nanoVLM model");
            }
            ModelConfig cfg = singleView ? m.config().singleView() : m.config();
            ImagePreprocessor pre = new ImagePreprocessor(cfg);
            Captioner captioner = new Captioner(m);
            SceneGenerator scenes = new SceneGenerator(17);
            float[][] patches = new float[distinct][];
            for (int i = 0; i < distinct; i++) {
                RgbImage rgb = ImagePreprocessor.decodeRgb(scenes.sample(i).encoded(), ImagePreprocessor.Limits.DEFAULT,
                        cfg.vitImgSize);
                patches[i] = captioner.patchEmbed(pre.toViews(rgb));
            }
            return new Embedded(patches, pre.plan().rows(), pre.plan().confidence());
        }
    }

    /** Record i, stamped with the time it was due: paced, i / rate after the first; unpaced, when emitted. */
    static final class DueRecords extends RichMapFunction<Long, EmbeddedImage> {
        private final Embedded embedded;
        private final int[] caps;
        private final double perSecond;
        private transient long start;

        DueRecords(Embedded embedded, int[] caps, double perSecond) {
            this.embedded = embedded;
            this.caps = caps;
            this.perSecond = perSecond;
        }

        @Override
        public void open(OpenContext context) {
            start = -1;
        }

        @Override
        public EmbeddedImage map(Long i) throws InterruptedException {
            long now = System.currentTimeMillis();
            if (start < 0) {
                start = now;
            }
            long due = now;
            if (perSecond > 0) {
                due = start + Math.round(i * 1000 / perSecond);
                if (due > now) {
                    Thread.sleep(due - now);
                }
            }
            ImageRequest r = new ImageRequest();
            r.id = "bench-" + i;
            r.maxNewTokens = caps[(int) (i % caps.length)];
            r.source = new SourceRef("bench", 0, i, due);
            r.receivedAtMs = due;
            float[] patches = embedded.patches()[(int) (i % embedded.patches().length)];
            return new EmbeddedImage(r, patches, embedded.plan());
        }
    }

    /** {due, completed, tokens, batch size, cap} of a caption. */
    static final class Outcome implements MapFunction<CaptionRecord, long[]> {
        @Override
        public long[] map(CaptionRecord c) {
            return new long[] {c.request.receivedAtMs, c.completedAtMs, c.tokens, c.batchSize, c.request.maxNewTokens};
        }
    }
}
