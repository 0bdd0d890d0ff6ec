package dev.glimpse.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Runs a model on the inputs stored in a reference file ({@code pixel_values}, {@code input_ids})
 * and compares every stage the file holds ({@code patch_embeddings}, {@code vision_out},
 * {@code projected}, {@code prefill_logits}, {@code greedy_ids}) with what this implementation
 * computes: the proof that a checkpoint runs here exactly as in its original code.
 */
public final class ReferenceVerifier {
    /** One compared stage: the largest absolute difference, or for ids whether all match. */
    public record Stage(String name, String shape, double maxAbsDiff, boolean exact, boolean pass) {
        /** An integer stage (ids, masks, grid sizes): equal or not. */
        static Stage exact(String name, String shape, boolean same) {
            return new Stage(name, shape, same ? 0 : Double.NaN, true, same);
        }
    }

    public static final double TOLERANCE = 1e-4;

    private ReferenceVerifier() {}

    public static List<Stage> verify(VisionLanguageModel model, Path expectedFile) throws IOException {
        if (model.config().format() == ModelConfig.Format.IDEFICS3) {
            return Idefics3Verifier.verify(model, expectedFile);
        }
        List<Stage> stages = new ArrayList<>();
        try (NDManager m = model.manager().newSubManager(); NDScope ignored = new NDScope()) {
            Map<String, NDArray> expected = Safetensors.read(m, expectedFile);
            NDArray pixels = require(expected, "pixel_values").toType(DataType.FLOAT32, false);
            NDArray ids = require(expected, "input_ids").toType(DataType.INT64, false);
            long batch = pixels.getShape().get(0);

            NDArray patches = model.patchEmbedding().embed(pixels); // [B, N, D_vit]
            compare(stages, expected, "patch_embeddings", patches);
            NDArray visionOut = model.visionEncoder().forward(patches); // [B, N, D_vit]
            compare(stages, expected, "vision_out", visionOut);
            NDArray projected = model.projector().forward(visionOut); // [B, I, D_lm]
            compare(stages, expected, "projected", projected);

            TextDecoder decoder = model.decoder();
            NDArray seq = ai.djl.ndarray.NDArrays.concat(new NDList(projected, decoder.embed(ids)), 1);
            int t = Math.toIntExact(seq.getShape().get(1));
            long[][] positions = new long[(int) batch][t];
            for (long[] row : positions) {
                for (int j = 0; j < t; j++) {
                    row[j] = j;
                }
            }
            NDArray logits = decoder.logits(decoder.forward(seq, positions, TextDecoder.causalMask(m, t), null));
            compare(stages, expected, "prefill_logits", logits);

            NDArray greedy = expected.get("greedy_ids");
            if (greedy != null) {
                int steps = Math.toIntExact(greedy.getShape().get(1));
                List<long[]> prompts = new ArrayList<>();
                long[] flat = ids.toLongArray();
                int len = Math.toIntExact(ids.getShape().get(1));
                for (int r = 0; r < batch; r++) {
                    prompts.add(Arrays.copyOfRange(flat, r * len, (r + 1) * len));
                }
                int[] caps = new int[(int) batch];
                Arrays.fill(caps, steps);
                List<CaptionGenerator.Result> results = new CaptionGenerator(model).generate(patches, prompts, caps,
                        new CaptionGenerator.Options(true, false, false));
                long[] want = greedy.toType(DataType.INT64, false).toLongArray();
                long[] got = new long[want.length];
                for (int r = 0; r < batch; r++) {
                    long[] tokens = results.get(r).tokens();
                    System.arraycopy(tokens, 0, got, r * steps, Math.min(steps, tokens.length));
                }
                boolean same = Arrays.equals(want, got);
                stages.add(new Stage("greedy_ids", greedy.getShape().toString(), same ? 0 : Double.NaN, true, same));
            }
        }
        return stages;
    }

    static NDArray require(Map<String, NDArray> expected, String name) {
        NDArray a = expected.get(name);
        if (a == null) {
            throw new IllegalArgumentException("reference file has no tensor " + name);
        }
        return a;
    }

    static void compare(List<Stage> stages, Map<String, NDArray> expected, String name, NDArray actual) {
        NDArray want = expected.get(name);
        if (want == null) {
            return;
        }
        if (!want.getShape().equals(actual.getShape())) {
            stages.add(new Stage(name, "expected " + want.getShape() + " got " + actual.getShape(),
                    Double.POSITIVE_INFINITY, false, false));
            return;
        }
        double diff = want.toType(DataType.FLOAT32, false).sub(actual).abs().max().getFloat();
        stages.add(new Stage(name, want.getShape().toString(), diff, false, diff <= TOLERANCE));
    }

    /** The stages as a printable table. */
    public static String table(List<Stage> stages) {
        int width = Math.max(18, stages.stream().mapToInt(s -> s.name().length()).max().orElse(0));
        int shapeWidth = Math.max(16, stages.stream().mapToInt(s -> s.shape().length()).max().orElse(0));
        String row = "%-" + width + "s %-" + shapeWidth + "s %-14s %s%n";
        StringBuilder sb = new StringBuilder(String.format(row, "stage", "shape", "max |diff|", "result"));
        for (Stage s : stages) {
            String diff = s.exact() ? (s.pass() ? "identical" : "differ") : String.format("%.3e", s.maxAbsDiff());
            sb.append(String.format(row, s.name(), s.shape(), diff, s.pass() ? "PASS" : "FAIL"));
        }
        return sb.toString();
    }
}
