package dev.glimpse.bench;

import ai.djl.ndarray.NDManager;
import dev.glimpse.model.Qwen2VlConfig;
import dev.glimpse.model.Qwen2VlDecodingBatch;
import dev.glimpse.model.Qwen2VlFlops;
import dev.glimpse.model.Qwen2VlImageProcessor;
import dev.glimpse.model.Qwen2VlModel;
import dev.glimpse.model.RgbImage;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

/**
 * {@code bench} for a Qwen2-VL model (a folder, or {@code --preset qwen2vl-2b}: the real 2B shape
 * with random weights): rows of one square photo each at every batch size, timed as the job runs
 * them: preprocessing on the CPU, then one batch of vision tower, prefill and cached decoding to
 * the cap. Every row of a batch differs in its pixels, not in its size. Each model added (one per
 * {@code --dtype}) adds its rows to one table, {@code x first} against the table's first row, each
 * beside the floor measured for its type ({@link Qwen2VlFlops}, as the other presets' rows).
 */
final class Qwen2VlBench {
    private final int side;
    private final int tokens;
    private final int repeats;
    private final boolean visionColumn;
    /** Made by the first model added. */
    private BenchReport report;
    private double base;
    /** The model being timed. */
    private Qwen2VlModel model;

    Qwen2VlBench(int side, int tokens, int repeats, boolean visionColumn) {
        this.side = side;
        this.tokens = tokens;
        this.repeats = repeats;
        this.visionColumn = visionColumn;
    }

    /** Times {@code m} (its matrices in {@link Qwen2VlModel#dtype}) at every batch size, beside {@code floor}. */
    Qwen2VlBench add(Qwen2VlModel m, int[] batchSizes, MachineFloor floor) {
        model = m;
        // As the job does at load (SharedModels), not inside the first row's time.
        long layout = System.nanoTime();
        m.decoder().prepare();
        double layoutMs = (System.nanoTime() - layout) / 1e6;
        Qwen2VlConfig c = model.config();
        Qwen2VlImageProcessor processor = model.processor();
        int[] size = processor.targetSize(side, side);
        int patches = (size[0] / c.patchSize()) * (size[1] / c.patchSize());
        int imageTokens = patches / (c.mergeSize() * c.mergeSize());
        if (report == null) {
            report = new BenchReport(String.format(
                    "model %s: %,d parameters, photo %dx%d resized to %dx%d: %d patches, %d image tokens, %d generated tokens",
                    c.modelName(), model.weights().parameterCount(), side, side, size[1], size[0], patches, imageTokens, tokens),
                    "batch", "dtype", "img tok", "prefill", "preprocess ms", "vision ms", "generate ms", "latency ms",
                    "images/s", "tokens/s", "peak MB", "KV MB", "x first", "GFLOP/s", "% matmul", "floor ms", "% floor");
            report.format("images/s", "%.3f").format("tokens/s", "%.2f").format("KV MB", "%.1f").format("x first", "x%.2f")
                    .format("GFLOP/s", "%.3f").format("% matmul", "%.2f").format("floor ms", "%.1f").format("% floor", "%.2f");
            report.note("latency ms: preprocess (one CPU thread, per image in turn) + generate (vision tower, prefill and "
                    + "cached decoding; the vision column is a part of it); peak MB: the process's resident set (host memory); "
                    + "dtype: the matrices' type (norms, biases, activations, the KV cache and the logits stay F32)");
        }
        boolean first = base == 0;
        Qwen2VlFlops flops = new Qwen2VlFlops(c, patches);
        int prefillLength = 0;
        for (int b : batchSizes) {
            ProcessMemory.resetPeakAfterGc();
            double[] t = time(b);
            double latency = t[0] + t[2];
            double perSecond = b / latency * 1000;
            if (base == 0) {
                base = perSecond;
            }
            int prefill = (int) t[3];
            double kvBytes = 2.0 * c.layers() * b * c.kvHeads() * c.headDim() * (prefill + tokens) * Float.BYTES;
            prefillLength = prefill;
            BenchReport.Row row = report.row().put("batch", b).put("dtype", model.dtype().label()).put("img tok", imageTokens)
                    .put("prefill", prefill).put("preprocess ms", t[0])
                    .put("vision ms", visionColumn ? t[1] : null).put("generate ms", t[2]).put("latency ms", latency)
                    .put("images/s", perSecond).put("tokens/s", (double) b * tokens / t[2] * 1000)
                    .put("peak MB", ProcessMemory.peakRssMb()).put("KV MB", kvBytes / 1e6).put("x first", perSecond / base);
            Bench.putFloor(row, floor, flops, b, 1, prefill, tokens, latency);
            System.err.printf("bench: qwen2-vl %s batch %d: %.1f ms%n", model.dtype().label(), b, latency);
        }
        if (prefillLength > 0) {
            Bench.noteFloor(report, floor, flops, 1, prefillLength, tokens, first);
        }
        report.note(String.format("%s: the decoder's matrices laid out for its products (Qwen2VlDecoder.prepare, once at load,"
                + " before the rows) in %.0f ms", model.dtype().label(), layoutMs));
        return this;
    }

    BenchReport report() {
        return report;
    }

    /**
     * {@code --decode-step}: the decode step of {@code m} at every batch size, with its products op by
     * op ({@code torch.linear} on the model's tensors as loaded: these rows come first, before anything
     * is laid out) and as {@link dev.glimpse.model.Qwen2VlDecoder#prepare} lays them out. Steps are
     * timed as the job runs them ({@link Qwen2VlDecodingBatch#step}, the caption of a {@code side}-pixel
     * photo, its first token from the prefill): the median of {@code steps} steps after 4 untimed ones,
     * beside the step's floor (its weights and keys read at the memory bandwidth, or its FLOPs at the
     * matmul rate, whichever is slower). Rows go to {@code into}, or to a new report (null); returns it.
     */
    static BenchReport decodeSteps(BenchReport into, Qwen2VlModel m, int side, int[] batchSizes, int steps,
                                   MachineFloor floor) {
        Qwen2VlBench bench = new Qwen2VlBench(side, 1, 0, false);
        bench.model = m;
        Qwen2VlConfig c = m.config();
        int[] size = m.processor().targetSize(side, side);
        int patches = (size[0] / c.patchSize()) * (size[1] / c.patchSize());
        Qwen2VlFlops flops = new Qwen2VlFlops(c, patches);
        BenchReport report = into != null ? into : new BenchReport(String.format(
                "decode step of %s: %,d parameters, %d layers of width %d, vocabulary %,d; photo %dx%d (%d patches), "
                        + "median of %d steps after 4", c.modelName(), m.weights().parameterCount(), c.layers(),
                c.hiddenSize(), c.vocabSize(), side, side, patches, steps),
                "batch", "dtype", "products", "keys", "step ms", "tokens/s", "floor ms", "% floor", "x op by op");
        report.format("step ms", "%.2f").format("tokens/s", "%.2f").format("floor ms", "%.2f").format("% floor", "%.1f")
                .format("x op by op", "x%.2f");
        double[] opByOp = new double[batchSizes.length];
        int lastKeys = 0;
        for (boolean laidOut : new boolean[] {false, true}) {
            m.decoder().useKernel(laidOut);
            for (int i = 0; i < batchSizes.length; i++) {
                int b = batchSizes[i];
                double[] timed = bench.steps(b, 4, steps);
                double step = timed[0];
                int keys = (int) timed[1] + 4 + steps / 2 + 1; // the middle timed step attends the prefill and the tokens fed so far, its own included
                lastKeys = keys;
                double floorMs = floor.decodeStepMs(flops, b, keys);
                if (!laidOut) {
                    opByOp[i] = step;
                }
                report.row().put("batch", b).put("dtype", m.dtype().label()).put("products", laidOut ? "laid out" : "op by op")
                        .put("keys", keys).put("step ms", step).put("tokens/s", b * 1000 / step).put("floor ms", floorMs)
                        .put("% floor", 100 * floorMs / step).put("x op by op", opByOp[i] / step);
                System.err.printf("bench: qwen2-vl decode step, batch %d, %s, %s: %.1f ms%n", b, m.dtype().label(),
                        laidOut ? "laid out" : "op by op", step);
            }
        }
        m.decoder().useKernel(true);
        report.note(m.dtype().label() + ": " + floor);
        report.note(String.format("  a step reads %.1f MB of decoder weights (the head's included) and %.2f MB of keys and "
                + "values per row at %d keys", floor.decodeWeightBytes(flops) / 1e6, flops.kvBytes(lastKeys) / 1e6, lastKeys));
        return report;
    }

    /** The median ms of {@code steps} decode steps of a batch of {@code batch} photos after {@code warmup}, and the prefill's length. */
    private double[] steps(int batch, int warmup, int steps) {
        List<Qwen2VlModel.Prepared> rows = new ArrayList<>();
        List<Integer> tags = new ArrayList<>();
        for (RgbImage photo : photos(batch)) {
            rows.add(row(model.processor().process(photo)));
            tags.add(tags.size());
        }
        int[] caps = new int[batch];
        Arrays.fill(caps, 1 + warmup + steps);
        double[] times = new double[steps];
        try (Qwen2VlDecodingBatch<Integer> decoding = new Qwen2VlDecodingBatch<>(model, false, false)) {
            decoding.join(tags, rows, caps);
            for (int s = 0; s < warmup + steps; s++) {
                long t0 = System.nanoTime();
                decoding.step();
                if (s >= warmup) {
                    times[s - warmup] = (System.nanoTime() - t0) / 1e6;
                }
            }
        }
        Arrays.sort(times);
        return new double[] {times[steps / 2], rows.get(0).ids().length};
    }

    private List<RgbImage> photos(int batch) {
        Random rnd = new Random(batch);
        List<RgbImage> photos = new ArrayList<>();
        for (int i = 0; i < batch; i++) {
            byte[] rgb = new byte[3 * side * side];
            rnd.nextBytes(rgb);
            photos.add(new RgbImage(side, side, rgb));
        }
        return photos;
    }

    /** Median {preprocess, vision, generate} ms of a batch of {@code batch} photos, and the prefill's length. */
    private double[] time(int batch) {
        List<RgbImage> photos = photos(batch);
        int runs = Math.max(1, repeats);
        double[][] samples = new double[3][runs];
        int prefill = 0;
        for (int run = -1; run < runs; run++) {
            if (run < 0 && repeats == 0) {
                continue; // one cold run
            }
            long start = System.nanoTime();
            List<Qwen2VlModel.Prepared> rows = new ArrayList<>();
            for (RgbImage photo : photos) {
                rows.add(row(model.processor().process(photo)));
            }
            long preprocessed = System.nanoTime();
            prefill = rows.get(0).ids().length;
            double vision = 0;
            if (visionColumn) {
                try (NDManager m = model.manager().newSubManager()) {
                    long v = System.nanoTime();
                    model.imageTokens(m, rows).toFloatArray(); // waits for the device
                    vision = (System.nanoTime() - v) / 1e6;
                }
            }
            int[] caps = new int[batch];
            Arrays.fill(caps, tokens);
            long g = System.nanoTime();
            model.generate(rows, caps, false, false); // no early stop: every row costs its cap
            double generate = (System.nanoTime() - g) / 1e6;
            if (run >= 0) {
                samples[0][run] = (preprocessed - start) / 1e6;
                samples[1][run] = vision;
                samples[2][run] = generate;
            }
        }
        double[] median = new double[4];
        for (int i = 0; i < 3; i++) {
            Arrays.sort(samples[i]);
            median[i] = samples[i][runs / 2];
        }
        median[3] = prefill;
        return median;
    }

    /** A row's prompt: the folder's chat template when it has a tokenizer, else the same layout of made-up text ids. */
    private Qwen2VlModel.Prepared row(Qwen2VlImageProcessor.Patches patches) {
        Qwen2VlConfig c = model.config();
        if (model.hasTokenizer()) {
            return model.prepared(List.of(patches), null);
        } else {
            int pads = patches.mergedTokens(c.mergeSize());
            long[] ids = new long[8 + 1 + pads + 1 + 8];
            int at = 0;
            for (int i = 0; i < 8; i++) {
                ids[at++] = 100 + i; // "<|im_start|>system ... user\n"
            }
            ids[at++] = c.visionStartTokenId();
            for (int i = 0; i < pads; i++) {
                ids[at++] = c.imageTokenId();
            }
            ids[at++] = c.visionEndTokenId();
            for (int i = 0; i < 8; i++) {
                ids[at++] = 200 + i; // "Describe this image.<|im_end|>\n<|im_start|>assistant\n"
            }
            return new Qwen2VlModel.Prepared(List.of(patches), ids);
        }
    }
}
