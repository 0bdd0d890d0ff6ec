package dev.glimpse.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

/**
 * Where a decode step's time goes, measured on a model: the step as {@link DecodingBatch} runs it
 * (the job's), and the same step cut into its parts on the decoder alone: the new tokens' embedding
 * and rotary angles, the blocks (with the cache's writes and reads), the vocabulary head, and the
 * choice of the next token with its copy to the host. Each figure is the median over the timed
 * steps, after warm-up steps; rows start from a prefill of {@code context} random embeddings, so
 * each step attends to about that many keys.
 */
public final class DecodeStepProfile {

    /** Medians in ms of one step of {@code rows} rows after a prefill of {@code context} positions. */
    public record Parts(int rows, int context, boolean kernel, double stepMs, double embedMs, double blocksMs,
                        double headMs, double chooseMs) {
        /** The parts' sum: the decoder-level step. */
        public double partsMs() {
            return embedMs + blocksMs + headMs + chooseMs;
        }
    }

    private DecodeStepProfile() {}

    /**
     * Times {@code steps} decode steps of {@code rows} rows (after {@code warmup} untimed ones), with
     * the decoder's blocks as one {@link DecoderKernel} call or op by op ({@code kernel}).
     */
    public static Parts measure(VisionLanguageModel model, int rows, int context, int warmup, int steps, boolean kernel) {
        TextDecoder decoder = model.decoder();
        decoder.useKernel(kernel);
        try {
            double step = batchStep(model, rows, context, warmup, steps);
            double[] parts = decoderParts(model, rows, context, warmup, steps);
            return new Parts(rows, context, kernel, step, parts[0], parts[1], parts[2], parts[3]);
        } finally {
            decoder.useKernel(true);
        }
    }

    /** The median time of {@link DecodingBatch#step} over a batch of {@code rows} prefilled images. */
    private static double batchStep(VisionLanguageModel model, int rows, int context, int warmup, int steps) {
        ModelConfig c = model.config();
        List<Integer> tags = new ArrayList<>();
        for (int r = 0; r < rows; r++) {
            tags.add(r);
        }
        int[] caps = new int[rows];
        Arrays.fill(caps, warmup + steps + 1);
        double[] times = new double[steps];
        try (NDManager m = model.manager().newSubManager();
             DecodingBatch<Integer> batch = new DecodingBatch<>(model, rows, context + warmup + steps + 2,
                     new CaptionGenerator.Options(true, false, false))) {
            NDArray seq = m.randomNormal(0, 0.02f, new Shape(rows, context, c.lmHiddenDim), DataType.FLOAT32);
            batch.joinPrefilled(tags, seq, context, new int[rows], 1, caps);
            for (int s = 0; s < warmup + steps; s++) {
                long t0 = System.nanoTime();
                batch.step();
                if (s >= warmup) {
                    times[s - warmup] = (System.nanoTime() - t0) / 1e6;
                }
            }
        }
        return median(times);
    }

    /** Medians of embed + rotary, the blocks, the head and the choice, on the decoder and a cache alone. */
    private static double[] decoderParts(VisionLanguageModel model, int rows, int context, int warmup, int steps) {
        ModelConfig c = model.config();
        TextDecoder decoder = model.decoder();
        int columns = context + warmup + steps + 1;
        double[][] times = new double[4][steps];
        Random rnd = new Random(7);
        try (NDManager m = model.manager().newSubManager();
             KvCache cache = new KvCache(m, c, rows, columns)) {
            NDArray slots = m.arange(0, rows, 1, DataType.INT64);
            try (NDManager p = m.newSubManager()) {
                NDArray seq = p.randomNormal(0, 0.02f, new Shape(rows, context, c.lmHiddenDim), DataType.FLOAT32);
                float[] positions = new float[rows * context];
                for (int i = 0; i < positions.length; i++) {
                    positions[i] = i % context;
                }
                cache.prefill(slots, context);
                decoder.forward(seq, decoder.rotary(p.create(positions, new Shape(rows, context)), context - 1),
                        TextDecoder.causalMask(p, context), cache);
            }
            NDArray keyMask = m.zeros(new Shape(rows, 1, 1, columns));
            for (int s = 0; s < warmup + steps; s++) {
                int column = context + s;
                try (NDManager step = m.newSubManager()) {
                    long[] next = new long[rows];
                    for (int r = 0; r < rows; r++) {
                        next[r] = rnd.nextInt(c.lmVocabSize);
                    }
                    long t0 = System.nanoTime();
                    NDArray x = decoder.embed(step.create(next).reshape(rows, 1));
                    NDArray[] cosSin = decoder.rotary(step.full(new Shape(rows, 1), (float) column), column);
                    NDArray mask = keyMask.get(new NDIndex(":, :, :, :{}", column + 1));
                    mask.attach(step);
                    long[] columnOfRow = new long[rows];
                    Arrays.fill(columnOfRow, column);
                    long t1 = System.nanoTime();
                    cache.decode(slots, step.create(columnOfRow), rows, column + 1);
                    NDArray hidden = decoder.forward(x, cosSin, mask, cache);
                    long t2 = System.nanoTime();
                    NDArray logits = decoder.logits(hidden.squeeze(1));
                    long t3 = System.nanoTime();
                    NDArray best = logits.logSoftmax(-1).max(new int[] {-1});
                    logits.argMax(-1).toType(DataType.FLOAT32, false).toFloatArray();
                    best.toFloatArray();
                    long t4 = System.nanoTime();
                    if (s >= warmup) {
                        times[0][s - warmup] = (t1 - t0) / 1e6;
                        times[1][s - warmup] = (t2 - t1) / 1e6;
                        times[2][s - warmup] = (t3 - t2) / 1e6;
                        times[3][s - warmup] = (t4 - t3) / 1e6;
                    }
                }
            }
        }
        return new double[] {median(times[0]), median(times[1]), median(times[2]), median(times[3])};
    }

    private static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }
}
