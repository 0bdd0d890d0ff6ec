package dev.glimpse.model;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The tiny Qwen2-VL with its matrices in BF16: every path of the vision tower (patch embedding,
 * attention with biases, the QuickGELU MLP, the merger) and of the decoder (embedding, attention with
 * biases and grouped kv heads, SwiGLU, the tied head) runs, its logits stay within BF16's rounding of
 * the F32 ones, and batching still gives each row what it gets alone.
 */
class Qwen2VlLowPrecisionTest {
    private static final int STEPS = 6;
    private static final double BF16_TOLERANCE = 0.05;
    private static Qwen2VlModel f32;
    private static Qwen2VlModel bf16;
    private static List<Qwen2VlModel.Prepared> rows;

    @BeforeAll
    static void load() throws Exception {
        f32 = Qwen2VlModel.load(Qwen2VlPromptTest.golden());
        bf16 = Qwen2VlModel.load(Qwen2VlPromptTest.golden(), null, 0, EngineDtype.BFLOAT16);
        rows = List.of(
                f32.prepare(Qwen2VlBatchingTest.image(160, 96, 1), "Describe this image."), // 8 image tokens
                f32.prepare(Qwen2VlBatchingTest.image(45, 70, 2), "What is in the picture, in a few words?"), // 4
                f32.prepare(Qwen2VlBatchingTest.image(100, 100, 3), null)); // 9
    }

    @AfterAll
    static void close() {
        f32.close();
        bf16.close();
    }

    @Test
    void shouldHoldTheMatricesInBf16AndTheNormsAndBiasesInF32() {
        assertThat(bf16.dtype()).isEqualTo(EngineDtype.BFLOAT16);
        for (String matrix : List.of("visual.patch_embed.proj.weight", "visual.blocks.0.attn.qkv.weight",
                "visual.blocks.1.mlp.fc2.weight", "visual.merger.mlp.0.weight", Qwen2VlWeights.EMBED,
                "model.layers.0.self_attn.q_proj.weight", "model.layers.1.mlp.down_proj.weight")) {
            assertThat(LowPrecision.typeOf(bf16.weights().get(matrix))).as(matrix).isEqualTo(EngineDtype.BFLOAT16);
        }
        for (String vector : List.of("visual.blocks.0.norm1.weight", "visual.blocks.0.attn.qkv.bias",
                "visual.merger.ln_q.bias", "visual.merger.mlp.2.bias", "model.layers.0.self_attn.k_proj.bias",
                "model.layers.0.input_layernorm.weight", "model.norm.weight")) {
            assertThat(LowPrecision.typeOf(bf16.weights().get(vector))).as(vector).isEqualTo(EngineDtype.FLOAT32);
        }
    }

    /** {@link LowPrecision#mlpQuickGelu}, the vision blocks' MLP in one call, against its F32 formula. */
    @Test
    void shouldRunTheVisionMlpInBf16AsInF32() {
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray x = m.randomNormal(new Shape(7, 32));
            NDArray w1 = m.randomNormal(new Shape(64, 32)).mul(0.2f);
            NDArray b1 = m.randomNormal(new Shape(64)).mul(0.1f);
            NDArray w2 = m.randomNormal(new Shape(32, 64)).mul(0.2f);
            NDArray b2 = m.randomNormal(new Shape(32)).mul(0.1f);
            NDArray h = Ops.linear(x, w1, b1);
            NDArray want = Ops.linear(h.mul(h.mul(1.702f).getNDArrayInternal().sigmoid()), w2, b2);
            NDArray got = LowPrecision.mlpQuickGelu(x, LowPrecision.cast(w1, EngineDtype.BFLOAT16), b1,
                    LowPrecision.cast(w2, EngineDtype.BFLOAT16), b2);
            assertThat(got.getDataType()).isEqualTo(DataType.FLOAT32);
            assertThat(got.getShape()).isEqualTo(new Shape(7, 32));
            // Two products, four BF16 roundings on the way (2^-8 each): a few per cent of the largest output at most.
            double diff = got.sub(want).abs().max().getFloat() / want.abs().max().getFloat();
            assertThat(diff).isGreaterThan(0).isLessThan(3e-2);
        }
    }

    /**
     * An image of 256 patches (a folder whose max_pixels allows it; the tiny one's stops at 48) is
     * attended one head at a time in BF16 on a CPU, as the SigLIP towers are: its image tokens stay
     * within BF16's rounding of the F32 ones.
     */
    @Test
    void shouldEncodeALargeImageOneHeadAtATimeInBf16WithinRoundingOfF32() {
        Qwen2VlConfig c = f32.config();
        Qwen2VlConfig big = new Qwen2VlConfig(c.visionDepth(), c.visionEmbedDim(), c.visionHeads(), c.visionMlpDim(),
                c.patchSize(), c.temporalPatchSize(), c.mergeSize(), c.hiddenSize(), c.intermediateSize(), c.heads(),
                c.kvHeads(), c.layers(), c.vocabSize(), c.rmsEps(), c.ropeTheta(), c.mropeSection(), c.tieWordEmbeddings(),
                c.imageTokenId(), c.visionStartTokenId(), c.visionEndTokenId(), c.stopTokenIds(), c.padTokenId(),
                c.minPixels(), 256 * 14 * 14, c.imageMean(), c.imageStd(), c.rescaleFactor(), c.resample(),
                c.chatTemplate(), c.modelName());
        try (Qwen2VlModel a = attentive(Qwen2VlModel.random(big, 11, null));
             Qwen2VlModel b = attentive(Qwen2VlModel.random(big, 11, null)).castTo(EngineDtype.BFLOAT16);
             NDManager m = NDManager.newBaseManager()) {
            Qwen2VlImageProcessor.Patches patches = a.processor().process(Qwen2VlBatchingTest.image(224, 224, 4));
            assertThat(patches.count()).isEqualTo(256);
            List<Qwen2VlModel.Prepared> row = List.of(new Qwen2VlModel.Prepared(List.of(patches), new long[0]));
            float[] want = a.imageTokens(m, row).toFloatArray();
            long calls = DecoderKernel.BY_HEAD_CALLS.get();
            float[] got = b.imageTokens(m, row).toFloatArray();
            assertThat(DecoderKernel.BY_HEAD_CALLS.get() - calls).isEqualTo(c.visionDepth());
            assertThat(relativeDiff(got, want)).isGreaterThan(0).isLessThan(BF16_TOLERANCE);
        }
    }

    /**
     * {@code model} with its vision q, k and v projections 30 times their random size: scores far from
     * uniform and values as large as the residual stream, so that what attention computes shows in the
     * image tokens (at the random weights' own size, attending to the keys in place of the values
     * moves them by less than BF16's rounding).
     */
    private static Qwen2VlModel attentive(Qwen2VlModel model) {
        for (int i = 0; i < model.config().visionDepth(); i++) {
            String name = "visual.blocks." + i + ".attn.qkv.weight";
            model.weights().replace(name, model.weights().get(name).mul(30f));
        }
        return model;
    }

    /**
     * The prefill's logits (the first step, through the KV-cache path) and those of the next steps on
     * the F32 model's own tokens (recomputed without a cache, so both models read the same prefix)
     * differ from F32's by at most 5 % of the largest F32 logit. Why 5 %: BF16 keeps 8 significant
     * bits, so each cast of a weight or of an activation before a product rounds by up to 2^-8
     * (0.39 %), and a logit sits behind about ten products in a row (patch embedding, two per vision
     * block, the merger's two, two or three per decoder layer, the head): some twenty roundings. Were
     * they all worst-case and of one sign they would reach ~8 %; as independent roundings (each of
     * standard deviation 2^-8 / sqrt 3) they add to about 1 % of the scale, and the largest over a
     * 352-word vocabulary lies near 3 to 3.5 of those: the tiny model shows 0.9-3.2 %. 5 % leaves room
     * for another CPU's kernels, while a path left unrounded or cast wrongly (tens of %) still fails.
     */
    @Test
    void shouldGiveLogitsWithinBf16RoundingOfTheF32OnesAtPrefillAndEachGreedyStep() {
        for (int r = 0; r < rows.size(); r++) {
            Qwen2VlModel.Prepared row = rows.get(r);
            Qwen2VlModel.Result reference = f32.generate(List.of(row), new int[] {STEPS}, true, false).get(0);
            Qwen2VlModel.Result low = bf16.generate(List.of(row), new int[] {STEPS}, true, false).get(0);
            assertThat(reference.stepLogits()).hasSize(STEPS);
            float[] prefill = reference.stepLogits().get(0);
            assertThat(relativeDiff(low.stepLogits().get(0), prefill)).as("row %d prefill", r).isLessThan(BF16_TOLERANCE);
            for (int k = 1; k < STEPS; k++) {
                long[] ids = Arrays.copyOf(row.ids(), row.ids().length + k);
                System.arraycopy(reference.tokens(), 0, ids, row.ids().length, k);
                float[] step = Qwen2VlBatchingTest.lastLogitsWithoutCache(bf16, new Qwen2VlModel.Prepared(row.images(), ids));
                assertThat(relativeDiff(step, reference.stepLogits().get(k))).as("row %d step %d", r, k).isLessThan(BF16_TOLERANCE);
            }
        }
    }

    /** BF16's KV cache path and a full BF16 recomputation agree as F32's do (to F32 accumulation order). */
    @Test
    void shouldGiveWithTheKvCacheTheLogitsOfAFullRecomputationInBf16() {
        for (Qwen2VlModel.Prepared row : rows) {
            Qwen2VlModel.Result cached = bf16.generate(List.of(row), new int[] {STEPS}, true, false).get(0);
            for (int k = 0; k < STEPS; k++) {
                long[] ids = Arrays.copyOf(row.ids(), row.ids().length + k);
                System.arraycopy(cached.tokens(), 0, ids, row.ids().length, k);
                float[] recomputed = Qwen2VlBatchingTest.lastLogitsWithoutCache(bf16, new Qwen2VlModel.Prepared(row.images(), ids));
                assertThat(relativeDiff(cached.stepLogits().get(k), recomputed)).as("step " + k).isLessThan(BATCH_TOLERANCE);
            }
        }
    }

    @Test
    void shouldGiveEachRowItsCaptionAloneInOneStaticBatchInBf16() {
        List<Qwen2VlModel.Result> together = bf16.generate(rows, new int[] {STEPS, STEPS, STEPS}, true, false);
        for (int r = 0; r < rows.size(); r++) {
            Qwen2VlModel.Result alone = bf16.generate(List.of(rows.get(r)), new int[] {STEPS}, true, false).get(0);
            assertThat(together.get(r).tokens()).as("row " + r).containsExactly(alone.tokens());
            assertThat(maxRelativeDiff(together.get(r).stepLogits(), alone.stepLogits())).as("row " + r)
                    .isLessThan(BATCH_TOLERANCE);
        }
    }

    @Test
    void shouldGiveEachRowItsCaptionAloneWhenRowsJoinAndLeaveARunningBatchInBf16() {
        List<Qwen2VlModel.Result> alone = new ArrayList<>();
        for (Qwen2VlModel.Prepared row : rows) {
            alone.add(bf16.generate(List.of(row), new int[] {STEPS}, true, false).get(0));
        }
        Qwen2VlModel.Result[] got = new Qwen2VlModel.Result[3];
        try (Qwen2VlDecodingBatch<Integer> batch = new Qwen2VlDecodingBatch<>(bf16, true, false)) {
            batch.join(List.of(0), List.of(rows.get(0)), new int[] {STEPS});
            for (int s = 0; s < 2; s++) {
                batch.step().forEach(d -> got[d.tag()] = d.result());
            }
            batch.join(List.of(1, 2), rows.subList(1, 3), new int[] {STEPS, 3}); // row 2 leaves after 3 tokens
            while (!batch.isEmpty()) {
                batch.step().forEach(d -> got[d.tag()] = d.result());
            }
        }
        for (int r = 0; r < 2; r++) {
            assertThat(got[r].tokens()).as("row " + r).containsExactly(alone.get(r).tokens());
            assertThat(maxRelativeDiff(got[r].stepLogits(), alone.get(r).stepLogits())).as("row " + r)
                    .isLessThan(BATCH_TOLERANCE);
        }
        assertThat(got[2].tokens()).containsExactly(Arrays.copyOf(alone.get(2).tokens(), 3));
    }

    /**
     * Batched and alone, cached and recomputed, the same BF16 model could differ only where F32 sums run
     * in another order and flip a BF16 rounding of an activation by one unit (2^-8): here they agree
     * exactly; 0.1 % leaves room for another CPU's kernels and is far below BF16 against F32.
     */
    private static final double BATCH_TOLERANCE = 1e-3;

    /** The largest difference between {@code got} and {@code expected}, over the largest {@code |expected|}. */
    static double relativeDiff(float[] got, float[] expected) {
        assertThat(got).hasSameSizeAs(expected);
        double diff = 0;
        double scale = 0;
        for (int i = 0; i < expected.length; i++) {
            diff = Math.max(diff, Math.abs(got[i] - expected[i]));
            scale = Math.max(scale, Math.abs(expected[i]));
        }
        return diff / scale;
    }

    private static double maxRelativeDiff(List<float[]> got, List<float[]> expected) {
        assertThat(got).hasSameSizeAs(expected);
        double max = 0;
        for (int i = 0; i < got.size(); i++) {
            max = Math.max(max, relativeDiff(got.get(i), expected.get(i)));
        }
        return max;
    }
}
