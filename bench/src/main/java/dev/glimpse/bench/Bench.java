package dev.glimpse.bench;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.Shape;
import dev.glimpse.cli.JobOptions;
import dev.glimpse.cli.Subcommand;
import dev.glimpse.job.Engines;
import dev.glimpse.model.CaptionGenerator;
import dev.glimpse.model.Captioner;
import dev.glimpse.model.ImagePreprocessor;
import dev.glimpse.model.DecodeStepProfile;
import dev.glimpse.model.DecodingBatch;
import dev.glimpse.model.EngineDtype;
import dev.glimpse.model.Idefics3ImageProcessor;
import dev.glimpse.model.ModelConfig;
import dev.glimpse.model.CaptionFlops;
import dev.glimpse.model.ModelFlops;
import dev.glimpse.model.ModelPresets;
import dev.glimpse.model.Qwen2VlConfig;
import dev.glimpse.model.Qwen2VlModel;
import dev.glimpse.model.RgbImage;
import dev.glimpse.model.VisionLanguageModel;
import dev.glimpse.model.training.ScenesModel;
import dev.glimpse.operators.EmbeddedImage;
import dev.glimpse.operators.ImageRequest;
import dev.glimpse.operators.SourceRef;
import java.io.IOException;
import java.nio.FloatBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code glimpse bench}: model-level speed on this machine, as a table of ratios measured in one
 * run (the machine is shared and noisy: compare rows, not runs). Without {@code --model} it builds
 * random weights of a preset architecture, so the real nanoVLM-222M shape can be timed without
 * downloading it.
 */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = "Time the model's stages and batched generation; prints a table.")
public final class Bench implements Callable<Integer>, Subcommand {
    /** Every row's prompt: 8 token ids. */
    private static final long[] PROMPT = {1, 2, 3, 4, 5, 6, 7, 8};

    @Option(names = "--model", description = "Model folder; default: random weights of --preset.") Path model;
    @Option(names = "--preset", defaultValue = "scenes",
            description = "scenes, nanovlm-222m, smolvlm-256m or qwen2vl-2b (random weights).") String preset;
    @Option(names = "--image-size", defaultValue = "448",
            description = "Qwen2-VL: side of the square photo each row captions, in pixels; default: ${DEFAULT-VALUE}.")
    int imageSize;
    @Option(names = "--max-image-tokens", defaultValue = "0",
            description = "Qwen2-VL: generation.max-image-tokens (0: the folder's max_pixels).") int maxImageTokens;
    @Option(names = "--batch-sizes", defaultValue = "1,8", split = ",") int[] batchSizes;
    @Option(names = "--tokens", defaultValue = "20", description = "Tokens generated per image (no early stop).") int tokens;
    @Option(names = "--repeats", defaultValue = "3", description = "Timed runs after one warm-up; 0: one cold run.") int repeats;
    @Option(names = "--threads", defaultValue = "0") int threads;
    @Option(names = "--dtype", defaultValue = "float32", split = ",",
            description = "float32, bfloat16, float16 or auto: the type the matrices are held and multiplied in; "
                    + "several (float32,bfloat16) are timed in turn, rows of one table, each beside its own floor.")
    List<String> dtypes;
    @Option(names = "--recompute", negatable = true, defaultValue = "true", fallbackValue = "true",
            description = "Also time decoding without the KV cache at the first batch size (the reference; slow at 222M).")
    boolean recompute;
    @Option(names = "--out", defaultValue = "target/bench",
            description = "Folder for the table as CSV and its plot (PNG), named after the model; default: ${DEFAULT-VALUE}.")
    Path out;
    @Option(names = "--image-splitting", defaultValue = "on,off", split = ",",
            description = "SmolVLM: time with image splitting (on), without (off), or both (default: ${DEFAULT-VALUE}).")
    List<String> imageSplitting;
    @Option(names = "--vision-column", negatable = true, defaultValue = "true", fallbackValue = "true",
            description = "Time the vision tower on its own too (generation runs it again); --no-vision-column halves a slow run.")
    boolean visionColumn;
    @Option(names = "--pipeline", description = "The streaming job end to end (Kafka in process, local Flink, the "
            + "shipped configuration) against the model alone, at each batch size; writes pipeline.csv and pipeline.png.")
    boolean pipeline;
    @Option(names = "--sql", description = "--pipeline: also the same images through ML_PREDICT with the SQL model "
            + "provider (Kafka table to Kafka table), after the job, at each batch size.")
    boolean sql;
    @Option(names = "--images", defaultValue = "600", description = "--pipeline: images per batch size; default: ${DEFAULT-VALUE}.")
    int images;
    @Option(names = "--records", description = "Only the records between the CPU stages and the captioner: one "
            + "1024x768 image (SmolVLM, split as --image-splitting's first value says) or --batch-sizes' first number of "
            + "scenes-sized random images, patch-embedded by the model as the job does; bytes and serialisation time "
            + "per patch encoding.")
    boolean records;
    @Option(names = "--decode-step", description = "Only the decode step: its time as the batch runs it and its parts "
            + "(embedding and rotary angles, the blocks, the head, the choice of the next token), with the blocks as one "
            + "TorchScript call and op by op, at each batch size, beside the step's memory floor. Qwen2-VL: the step as "
            + "generate runs it, its products op by op and laid out as its decoder prepares them (--steps steps, after "
            + "the first token of a --image-size photo's caption).")
    boolean decodeStep;
    @Option(names = "--context", defaultValue = "0", description = "--decode-step: keys each step attends to (the prefill's "
            + "length); default: the model's image tokens for one image or tile + 8 prompt tokens.") int context;
    @Option(names = "--steps", defaultValue = "24", description = "--decode-step: timed steps per row, after 4 untimed ones.")
    int steps;
    @Option(names = "--set", mapFallbackValue = "", description = "--pipeline: override an option of the job's configuration.")
    Map<String, String> set = new LinkedHashMap<>();

    /** The table, made by the first model timed; every dtype's rows go into it. */
    private BenchReport report;
    /** The first row's images/s: the "x first" column's unit. */
    private double base;

    @Override
    public Integer call() throws Exception {
        Engines.configureThreads(threads);
        if (sql && !pipeline) {
            throw new IllegalArgumentException("--sql goes with --pipeline");
        }
        if (pipeline) {
            JobOptions job = new JobOptions();
            job.model = model;
            job.set.putAll(set);
            return new PipelineBench(job, images, Math.min(images, 200), batchSizes, out, Duration.ofMinutes(30), sql).run();
        }
        if (model != null ? Qwen2VlConfig.isQwen2Vl(model) : preset.equals("qwen2vl-2b")) {
            Qwen2VlConfig preset2b = ModelPresets.qwen2Vl2b();
            Qwen2VlBench bench = new Qwen2VlBench(imageSize, tokens, repeats, visionColumn);
            BenchReport steps = null;
            for (String d : dtypes) {
                EngineDtype dtype = EngineDtype.parse(d);
                try (Qwen2VlModel m = model != null ? Qwen2VlModel.load(model, null, maxImageTokens, dtype)
                        : Qwen2VlModel.random(maxImageTokens > 0 ? preset2b.withMaxImageTokens(maxImageTokens) : preset2b, 1, null)) {
                    m.castTo(dtype);
                    MachineFloor floor = MachineFloor.measure(m.manager(), m.dtype());
                    if (decodeStep) {
                        steps = Qwen2VlBench.decodeSteps(steps, m, imageSize, batchSizes, this.steps, floor);
                    } else {
                        bench.add(m, batchSizes, floor);
                    }
                }
            }
            if (decodeStep) {
                write(steps, List.of("tokens/s", "step ms"), "dtype", "products");
            } else {
                write(bench.report());
            }
            return 0;
        }
        if (records) {
            try (VisionLanguageModel m = open(EngineDtype.FLOAT32)) {
                RecordTransport.measure(m.config().displayName(), embeddedRecords(m), 5).print(System.out);
            }
            return 0;
        }
        List<EngineDtype> types = new ArrayList<>();
        for (String d : dtypes) {
            types.add(EngineDtype.parse(d).resolve(null));
        }
        if (decodeStep) {
            for (EngineDtype type : types) {
                try (VisionLanguageModel m = open(type)) {
                    benchDecodeStep(m, MachineFloor.measure(m.manager(), m.dtype()));
                }
            }
            write(report, List.of("tokens/s", "step ms"), "dtype", "blocks");
            return 0;
        }
        boolean tiled = false;
        for (int i = 0; i < types.size(); i++) {
            try (VisionLanguageModel m = open(types.get(i))) {
                // Measured first, before the model's rows fill the allocator's caches.
                MachineFloor floor = MachineFloor.measure(m.manager(), m.dtype());
                tiled = m.config().idefics3 != null;
                if (tiled) {
                    benchTiles(m, floor, i == 0);
                } else {
                    benchViews(m, floor, i == 0);
                }
            }
        }
        write(report, "dtype", tiled ? "splitting" : "views", "cache");
        return 0;
    }

    /** Records as the job's patch embedder makes them, of random pixels. */
    private List<EmbeddedImage> embeddedRecords(VisionLanguageModel m) {
        ModelConfig c = m.config();
        Random rnd = new Random(1);
        Captioner captioner = new Captioner(m);
        List<EmbeddedImage> out = new ArrayList<>();
        if (c.idefics3 != null) {
            byte[] rgb = new byte[3 * 1024 * 768];
            rnd.nextBytes(rgb);
            boolean split = imageSplitting.get(0).equals("on");
            Idefics3ImageProcessor.Tiles tiles = new Idefics3ImageProcessor(c.idefics3.withImageSplitting(split))
                    .process(new RgbImage(1024, 768, rgb));
            out.add(EmbeddedImage.tiled(request(0), captioner.patchEmbed(tiles.pixels()), tiles.rows(), tiles.cols()));
            return out;
        }
        ImagePreprocessor pre = new ImagePreprocessor(c);
        for (int i = 0; i < batchSizes[0]; i++) {
            byte[] rgb = new byte[3 * c.vitImgSize * c.vitImgSize];
            rnd.nextBytes(rgb);
            out.add(new EmbeddedImage(request(i), captioner.patchEmbed(pre.toViews(new RgbImage(c.vitImgSize, c.vitImgSize, rgb))),
                    pre.plan()));
        }
        return out;
    }

    private static ImageRequest request(int i) {
        ImageRequest r = new ImageRequest();
        r.id = "image-" + i;
        r.source = new SourceRef("images", 0, i, 0);
        return r;
    }

    private VisionLanguageModel open(EngineDtype dtype) throws Exception {
        VisionLanguageModel m = model != null ? VisionLanguageModel.load(model) : random(preset);
        try {
            return m.castTo(dtype);
        } catch (RuntimeException e) {
            m.close();
            throw e;
        }
    }

    private void benchViews(VisionLanguageModel m, MachineFloor floor, boolean first) {
        ModelConfig c = m.config();
        if (report == null) {
            report = new BenchReport(String.format(
                    "model %s: %,d parameters, %d px, %d patches, %d image tokens, %d generated tokens",
                    c.displayName(), m.weights().parameterCount(), c.vitImgSize, c.numPatches(), c.imageTokens(), tokens),
                    "batch", "dtype", "views", "cache", "embed ms", "vision ms", "generate ms", "latency ms", "images/s",
                    "peak MB", "KV MB", "copies/step", "x first", "GFLOP/s", "% matmul", "floor ms", "% floor");
            report.format("KV MB", "%.1f").format("copies/step", "%.2f").format("x first", "x%.2f")
                    .format("GFLOP/s", "%.3f").format("% matmul", "%.2f").format("floor ms", "%.1f").format("% floor", "%.2f");
        }
        ModelFlops flops = new ModelFlops(c);
        int prefill = c.imageTokens() + PROMPT.length;
        // One view, then the model's shifted test-time views (view_shifts) decoded together. With
        // view_confidence the model decodes those only for the images one view leaves unsure, a
        // share that depends on the images: eval prints it, and the rate that results.
        int shifted = c.viewShifts == null ? 1 : c.viewShifts.length;
        int[] viewCounts = shifted > 1 ? new int[] {1, shifted} : new int[] {1};
        for (int b : batchSizes) {
            for (int views : viewCounts) {
                for (boolean cache : new boolean[] {true, false}) {
                    if (!cache && (!recompute || b != batchSizes[0] || views != 1)) {
                        continue;
                    }
                    ProcessMemory.resetPeakAfterGc();
                    double[] t = time(m, b, views, cache);
                    // Generation runs the vision encoder itself: the vision column is a part of it.
                    double latency = t[0] + t[2];
                    double perSecond = b / latency * 1000;
                    if (base == 0) {
                        base = perSecond;
                    }
                    BenchReport.Row row = report.row().put("batch", b).put("dtype", m.dtype().label()).put("views", views).put("cache", cache ? "kv" : "recompute")
                            .put("embed ms", t[0]).put("vision ms", visionColumn ? t[1] : null).put("generate ms", t[2])
                            .put("latency ms", latency).put("images/s", perSecond)
                            .put("peak MB", ProcessMemory.peakRssMb())
                            .put("KV MB", cache ? t[3] / 1e6 : null).put("copies/step", cache ? t[4] : null)
                            .put("x first", perSecond / base);
                    putFloor(row, floor, flops, b * views, 1, prefill, tokens, latency);
                    progress(b, views, cache ? "kv" : "recompute", latency);
                }
            }
        }
        if (first) {
            report.note("latency ms: embed + generate (generation runs vision again: the vision column is a part of it)");
        }
        noteFloor(report, floor, flops, 1, prefill, tokens, first);
    }

    /**
     * Median over the repeats of {embed, vision+projector, generation} in ms, after one warm-up;
     * generation starts from the patch embeddings, so it includes a second vision+projector pass.
     * Then, for the cached runs: the KV cache's bytes and the host transfers per decode step.
     */
    private double[] time(VisionLanguageModel m, int batch, int views, boolean cache) {
        ModelConfig c = m.config();
        Random rnd = new Random(1);
        float[] pixels = new float[batch * views * 3 * c.vitImgSize * c.vitImgSize];
        for (int i = 0; i < pixels.length; i++) {
            pixels[i] = rnd.nextFloat();
        }
        List<long[]> prompts = new ArrayList<>();
        for (int i = 0; i < batch; i++) {
            prompts.add(PROMPT);
        }
        int[] caps = new int[batch];
        Arrays.fill(caps, tokens);
        List<double[]> runs = new ArrayList<>();
        CaptionGenerator generator = new CaptionGenerator(m);
        for (int r = 0; r <= repeats; r++) {
            try (NDScope ignored = new NDScope()) {
                long t0 = System.nanoTime();
                NDArray x = m.manager().create(pixels, new Shape((long) batch * views, 3, c.vitImgSize, c.vitImgSize));
                NDArray patches = m.patchEmbedding().embed(x);
                patches.toFloatArray();
                long t1 = System.nanoTime();
                if (visionColumn) {
                    m.imageTokensInChunks(patches).toFloatArray();
                }
                long t2 = System.nanoTime();
                generator.generate(patches, views, prompts, caps, new CaptionGenerator.Options(cache, false, false));
                long t3 = System.nanoTime();
                if (r > 0 || repeats == 0) {
                    runs.add(new double[] {(t1 - t0) / 1e6, (t2 - t1) / 1e6, (t3 - t2) / 1e6});
                }
            }
        }
        double[] median = new double[5];
        for (int k = 0; k < 3; k++) {
            final int kk = k;
            double[] v = runs.stream().mapToDouble(a -> a[kk]).sorted().toArray();
            median[k] = v[v.length / 2];
        }
        DecodingBatch.Counts counts = generator.lastCounts();
        if (cache && counts != null) {
            median[3] = (double) batch * views * DecodingBatch.columnsFor(c, 8, tokens) * c.lmNBlocks * 2
                    * c.lmNKvHeads * c.lmHeadDim() * Float.BYTES;
            median[4] = (double) counts.hostTransfers() / counts.steps();
        }
        return median;
    }


    /**
     * SmolVLM: one 4:3 photo-sized image per row (1024 x 768 random pixels), with image splitting
     * (4 x 3 tiles + the global image) and without (the global image alone).
     */
    private void benchTiles(VisionLanguageModel m, MachineFloor floor, boolean first) {
        ModelConfig c = m.config();
        if (report == null) {
            report = new BenchReport(String.format(
                    "model %s: %,d parameters, %d px tiles, %d patches and %d image tokens per tile, "
                            + "%d generated tokens, image 1024x768",
                    c.displayName(), m.weights().parameterCount(), c.vitImgSize, c.numPatches(), c.imageTokens(), tokens),
                    "batch", "dtype", "splitting", "tiles", "img tok", "cache", "embed ms", "vision ms", "generate ms", "latency ms",
                    "images/s", "peak MB", "x first", "GFLOP/s", "% matmul", "floor ms", "% floor");
            report.format("images/s", "%.3f").format("x first", "x%.2f")
                    .format("GFLOP/s", "%.3f").format("% matmul", "%.2f").format("floor ms", "%.1f").format("% floor", "%.2f");
        }
        ModelFlops flops = new ModelFlops(c);
        Random rnd = new Random(1);
        byte[] rgb = new byte[3 * 1024 * 768];
        rnd.nextBytes(rgb);
        RgbImage photo = new RgbImage(1024, 768, rgb);
        List<Integer> tileCounts = new ArrayList<>();
        for (String mode : imageSplitting) {
            if (!mode.equals("on") && !mode.equals("off")) {
                throw new IllegalArgumentException("--image-splitting takes on, off or on,off; got " + mode);
            }
            boolean split = mode.equals("on");
            Idefics3ImageProcessor processor = new Idefics3ImageProcessor(c.idefics3.withImageSplitting(split));
            Idefics3ImageProcessor.Tiles tiles = processor.process(photo);
            tileCounts.add(tiles.count());
            for (int b : batchSizes) {
                for (boolean cache : new boolean[] {true, false}) {
                    if (!cache && (!recompute || b != batchSizes[0])) {
                        continue;
                    }
                    ProcessMemory.resetPeakAfterGc();
                    double[] t = timeTiles(m, tiles, b, cache);
                    double latency = t[0] + t[2];
                    double perSecond = b / latency * 1000;
                    if (base == 0) {
                        base = perSecond;
                    }
                    BenchReport.Row row = report.row().put("batch", b).put("dtype", m.dtype().label()).put("splitting", split ? "on" : "off").put("tiles", tiles.count())
                            .put("img tok", tiles.count() * c.imageTokens()).put("cache", cache ? "kv" : "recompute")
                            .put("embed ms", t[0]).put("vision ms", visionColumn ? t[1] : null).put("generate ms", t[2])
                            .put("latency ms", latency).put("images/s", perSecond)
                            .put("peak MB", ProcessMemory.peakRssMb()).put("x first", perSecond / base);
                    putFloor(row, floor, flops, b, tiles.count(), tilePromptLength(c, tiles.count()), tokens, latency);
                    progress(b, tiles.count(), cache ? "kv" : "recompute", latency);
                }
            }
        }
        if (first) {
            report.note("latency ms: embed + generate (generation runs vision again: the vision column is a part of it)");
        }
        noteFloor(report, floor, flops, tileCounts.get(0), tilePromptLength(c, tileCounts.get(0)), tokens, first);
        if (first) {
            for (int n : tileCounts.subList(1, tileCounts.size())) {
                noteCaptionFlops(report, flops, n, tilePromptLength(c, n), tokens);
            }
        }
    }

    /** The expanded prompt's length: per tile a marker pair and its image tokens, plus 16 tokens of the chat turn's text. */
    private static int tilePromptLength(ModelConfig c, int tiles) {
        return 16 + tiles * (c.imageTokens() + 2);
    }

    /**
     * The row's work as a rate and as a fraction of the floor: FLOPs of the {@code rows} captions
     * (with a KV cache: a recompute row does more work than it is credited with) over its latency,
     * against the matmul rate; and the least time this machine could take ({@link MachineFloor#captionFloorMs}).
     */
    static void putFloor(BenchReport.Row row, MachineFloor floor, CaptionFlops flops, int rows, int imagesPerRow,
            int prefill, int tokens, double latencyMs) {
        double gflops = (double) rows * flops.caption(imagesPerRow, prefill, tokens) / latencyMs / 1e6;
        double floorMs = floor.captionFloorMs(flops, rows, imagesPerRow, prefill, tokens);
        row.put("GFLOP/s", gflops).put("% matmul", 100 * gflops / floor.modelGflops())
                .put("floor ms", floorMs).put("% floor", 100 * floorMs / latencyMs);
    }

    /** The FLOPs of one caption whose row has {@code imagesPerRow} tiles (or views) and a {@code prefill}-token prompt. */
    static void noteCaptionFlops(BenchReport report, CaptionFlops f, int imagesPerRow, int prefill, int tokens) {
        double vision = imagesPerRow * f.vision() / 1e9;
        double prefillFlops = f.prefill(prefill) / 1e9;
        double decode = f.decode(prefill, tokens) / 1e9;
        report.note(String.format(Locale.ROOT, "FLOPs of one caption (matrix products, KV cache%s): vision %.4f GFLOP"
                        + " (patch embedding, encoder, projector), prefill of %d tokens %.4f, %d decode steps %.4f;"
                        + " total %.4f GFLOP", imagesPerRow > 1 ? ", " + imagesPerRow + " tiles" : "", vision, prefill,
                prefillFlops, tokens - 1, decode, vision + prefillFlops + decode));
    }

    /**
     * The floor and the bytes of a decode step in the floor's type, under the table; the FLOPs of one
     * caption (one view) and the columns' meaning once, with the {@code first} type's rows.
     */
    static void noteFloor(BenchReport report, MachineFloor floor, CaptionFlops f, int imagesPerRow, int prefill, int tokens,
            boolean first) {
        report.note(floor.dtype().label() + ": " + floor);
        if (first) {
            noteCaptionFlops(report, f, imagesPerRow, prefill, tokens);
        }
        int lastKeys = prefill + tokens - 1;
        double weightsMb = floor.decodeWeightBytes(f) / 1e6;
        double kvMb = f.kvBytes(lastKeys) / 1e6;
        double memoryMs = floor.memoryMs(floor.decodeWeightBytes(f));
        double computeMs = floor.computeMs(f.decodeStep(lastKeys));
        report.note(String.format(Locale.ROOT, "  a decode step reads %.1f MB of decoder weights once and %.2f MB of"
                        + " keys and values per row (last step): at %.1f GB/s at least %.3f ms a step at any batch size;"
                        + " its FLOPs take %.4f ms a row at the matmul rate: memory-bound below %d rows a step",
                weightsMb, kvMb, floor.bandwidthGbs(), memoryMs, computeMs, (long) Math.ceil(memoryMs / computeMs)));
        if (floor.decodeWeightBytes(f) < floor.addBytes()) {
            report.note(String.format(Locale.ROOT, "  (%.1f MB of weights may stay in a CPU's caches, where they read faster"
                    + " than the %d MiB the bandwidth was measured on: a step can beat that bound)", weightsMb,
                    floor.addBytes() >> 20));
        }
        if (first) {
            report.note("GFLOP/s: those FLOPs of the row's captions over its latency; floor ms: vision and prefill at the"
                    + " matmul rate of the row's dtype, each decode step at the slower of its FLOPs and its bytes;"
                    + " % floor: floor ms / latency ms");
        }
    }

    /**
     * The decode step alone ({@link DecodeStepProfile}): at each batch size, with the blocks as one
     * TorchScript call and op by op; beside it the step's floor (its weights and keys read once at the
     * measured bandwidth, or its FLOPs at the matmul rate if slower).
     */
    private void benchDecodeStep(VisionLanguageModel m, MachineFloor floor) {
        ModelConfig c = m.config();
        int keys = context > 0 ? context : c.imageTokens() + PROMPT.length;
        if (report == null) {
            report = new BenchReport(String.format(Locale.ROOT,
                    "decode step of %s: %,d parameters, %d blocks of width %d, vocabulary %,d; %d keys attended, "
                            + "median of %d steps after 4", c.displayName(), m.weights().parameterCount(), c.lmNBlocks,
                    c.lmHiddenDim, c.lmVocabSize, keys, steps),
                    "batch", "dtype", "blocks", "step ms", "embed ms", "blocks ms", "head ms", "choose ms", "tokens/s",
                    "floor ms", "% floor", "x op by op");
            for (String col : List.of("step ms", "embed ms", "blocks ms", "head ms", "choose ms", "floor ms")) {
                report.format(col, "%.2f");
            }
            report.format("tokens/s", "%.1f").format("% floor", "%.1f").format("x op by op", "x%.2f");
        }
        ModelFlops flops = new ModelFlops(c);
        for (int b : batchSizes) {
            double opByOp = 0;
            for (boolean kernel : new boolean[] {false, true}) {
                DecodeStepProfile.Parts p = DecodeStepProfile.measure(m, b, keys, 4, steps, kernel);
                double floorMs = floor.decodeStepMs(flops, b, keys);
                if (!kernel) {
                    opByOp = p.stepMs();
                }
                report.row().put("batch", b).put("dtype", m.dtype().label()).put("blocks", kernel ? "one call" : "op by op")
                        .put("step ms", p.stepMs()).put("embed ms", p.embedMs()).put("blocks ms", p.blocksMs())
                        .put("head ms", p.headMs()).put("choose ms", p.chooseMs()).put("tokens/s", b * 1000 / p.stepMs())
                        .put("floor ms", floorMs).put("% floor", 100 * floorMs / p.stepMs()).put("x op by op", opByOp / p.stepMs());
                System.err.printf(Locale.ROOT, "bench: decode step, batch %d, %s, %s: %.2f ms%n", b, m.dtype().label(),
                        kernel ? "one call" : "op by op", p.stepMs());
            }
        }
        report.note(m.dtype().label() + ": " + floor);
        report.note(String.format(Locale.ROOT, "  a step reads %.1f MB of decoder weights (the head's included) and %.2f MB"
                        + " of keys and values per row", floor.decodeWeightBytes(flops) / 1e6, flops.kvBytes(keys) / 1e6));
    }

    /** A line per finished row on stderr: a row at the 222M shape takes minutes, the table comes at the end. */
    private static void progress(int batch, int views, String cache, double latencyMs) {
        System.err.printf("bench: batch %d x %d, %s: %.1f ms%n", batch, views, cache, latencyMs);
    }

    /** Prints the table, then writes it as CSV and plots images/s and latency against the batch size. */
    private void write(BenchReport report, String... series) throws IOException {
        write(report, List.of("images/s", "latency ms"), series);
    }

    /** As {@link #write(BenchReport, String...)}, plotting {@code plotted} against the batch size. */
    private void write(BenchReport report, List<String> plotted, String... series) throws IOException {
        report.print(System.out);
        String name = (model != null ? model.toAbsolutePath().normalize().getFileName().toString() : preset)
                .replaceAll("[^A-Za-z0-9._-]", "_");
        Path csv = out.resolve("bench-" + name + ".csv");
        Path png = out.resolve("bench-" + name + ".png");
        report.writeCsv(csv);
        report.writePlot(png, "batch", plotted, series);
        System.out.println("wrote " + csv + " and " + png);
    }

    /**
     * Median {embed, vision+connector, generation} ms of {@code batch} copies of one tiled image, the
     * way the job runs them: each image's patch embedding on its own (its record's array), generation
     * from those arrays with a few tiles on the device at a time ({@link VisionLanguageModel#imageTokensOfTiles}).
     */
    private double[] timeTiles(VisionLanguageModel m, Idefics3ImageProcessor.Tiles tiles, int batch, boolean cache) {
        ModelConfig c = m.config();
        int s = c.vitImgSize;
        int perTile = c.imageTokens();
        long[] ids = new long[tilePromptLength(c, tiles.count())];
        for (int j = 0; j < ids.length; j++) {
            ids[j] = 1 + j % 100;
        }
        for (int t = 0; t < tiles.count(); t++) {
            Arrays.fill(ids, 8 + t * (perTile + 2) + 2, 8 + (t + 1) * (perTile + 2), c.idefics3.imageTokenId());
        }
        List<long[]> prompts = new ArrayList<>();
        int[] counts = new int[batch];
        for (int i = 0; i < batch; i++) {
            prompts.add(ids);
            counts[i] = tiles.count();
        }
        int[] caps = new int[batch];
        Arrays.fill(caps, tokens);
        CaptionGenerator generator = new CaptionGenerator(m);
        List<double[]> runs = new ArrayList<>();
        for (int r = 0; r <= repeats; r++) {
            long t0 = System.nanoTime();
            float[] patches = null;
            try (NDScope ignored = new NDScope()) {
                NDArray x = m.manager().create(tiles.pixels(), new Shape(tiles.count(), 3, s, s));
                for (int i = 0; i < batch; i++) {
                    try (NDScope image = new NDScope()) { // as PatchEmbedder: once per image, freed at once
                        float[] row = m.patchEmbedding().embed(x).toFloatArray();
                        patches = patches == null ? row : patches; // the rows are copies: the batch shares one array
                    }
                }
            }
            List<FloatBuffer> rows = new ArrayList<>(batch);
            for (int i = 0; i < batch; i++) {
                rows.add(FloatBuffer.wrap(patches));
            }
            long t1 = System.nanoTime();
            if (visionColumn) {
                try (NDScope ignored = new NDScope()) {
                    m.imageTokensOfTiles(rows).toFloatArray();
                }
            }
            long t2 = System.nanoTime();
            try (NDScope ignored = new NDScope()) {
                generator.generateFromImageTokens(m.imageTokensOfTiles(rows), counts, prompts, caps,
                        new CaptionGenerator.Options(cache, false, false));
            }
            long t3 = System.nanoTime();
            if (r > 0 || repeats == 0) {
                runs.add(new double[] {(t1 - t0) / 1e6, (t2 - t1) / 1e6, (t3 - t2) / 1e6});
            }
        }
        double[] median = new double[3];
        for (int k = 0; k < 3; k++) {
            final int kk = k;
            double[] v = runs.stream().mapToDouble(a -> a[kk]).sorted().toArray();
            median[k] = v[v.length / 2];
        }
        return median;
    }

    private static VisionLanguageModel random(String preset) throws Exception {
        ModelConfig c;
        if (preset.equals("nanovlm-222m")) {
            c = new ModelConfig(); // nanoVLM's defaults are the 222M checkpoint's shape
            c.modelName = "nanovlm-222m (random weights)";
        } else if (preset.equals("smolvlm-256m")) {
            c = ModelPresets.smolVlm256m();
        } else if (preset.equals("scenes")) {
            c = ScenesModel.defaultConfig();
            c.modelName = "glimpse-scenes (random weights)";
        } else {
            throw new IllegalArgumentException("--preset must be scenes, nanovlm-222m, smolvlm-256m or qwen2vl-2b");
        }
        return VisionLanguageModel.random(c, null, 1, null);
    }
}
