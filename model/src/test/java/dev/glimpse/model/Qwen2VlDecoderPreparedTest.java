package dev.glimpse.model;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.pytorch.jni.JniUtils;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Qwen2-VL's decoder as inference runs it on a CPU ({@link Qwen2VlDecoder#prepare}: q|k|v and
 * gate|up joined, held transposed with out and the head, each product through {@link
 * DecoderKernel#product}) against the op-by-op path ({@code torch.linear} on the model's own
 * tensors), on the tiny Qwen2-VL checkpoint.
 */
class Qwen2VlDecoderPreparedTest {
    private static final int STEPS = 6;

    @Test
    void shouldGenerateAsTheOpByOpPathWithTheMatricesLaidOutOnce() throws Exception {
        ai.djl.pytorch.jni.IValue kernelWeights;
        try (Qwen2VlModel model = Qwen2VlModel.load(Qwen2VlPromptTest.golden())) {
            Qwen2VlConfig c = model.config();
            Weights w = model.weights();
            String q = "model.layers.0.self_attn.q_proj.weight";
            String down = "model.layers." + (c.layers() - 1) + ".mlp.down_proj.weight";
            float[] qValues = w.get(q).toFloatArray();
            float[] headValues = w.get(Qwen2VlWeights.EMBED).toFloatArray();
            List<Qwen2VlModel.Prepared> rows = List.of(
                    model.prepare(Qwen2VlBatchingTest.image(160, 96, 1), "Describe this image."),
                    model.prepare(Qwen2VlBatchingTest.image(45, 70, 2), null));

            model.decoder().useKernel(false);
            List<Qwen2VlModel.Result> opByOp = model.generate(rows, new int[] {STEPS, STEPS}, true, false);
            Qwen2VlModel.Result opByOpAlone = model.generate(rows.subList(0, 1), new int[] {STEPS}, true, false).get(0);
            assertThat(transposed(w.get(q))).as("nothing is laid out for the op-by-op path").isFalse();

            model.decoder().useKernel(true);
            long calls = DecoderKernel.CALLS.get();
            List<Qwen2VlModel.Result> prepared = model.generate(rows, new int[] {STEPS, STEPS}, true, false);
            // one call a forward: the prefill and each later step
            assertThat(DecoderKernel.CALLS.get() - calls).isEqualTo(STEPS);
            Qwen2VlModel.Result preparedAlone = model.generate(rows.subList(0, 1), new int[] {STEPS}, true, false).get(0);

            for (String name : List.of(q, "model.layers.0.self_attn.v_proj.weight", "model.layers.1.self_attn.o_proj.weight",
                    "model.layers.1.mlp.up_proj.weight", Qwen2VlWeights.EMBED)) {
                assertThat(transposed(w.get(name))).as(name).isTrue();
            }
            assertThat(transposed(w.get(down))).as("the down projection stays as it is").isFalse();
            assertThat(w.get(q).toFloatArray()).containsExactly(qValues);
            assertThat(w.get(Qwen2VlWeights.EMBED).toFloatArray()).containsExactly(headValues);

            // a batch of two (oneDNN's products of several rows) and one row alone (two BLAS products side by side)
            for (int r = 0; r < rows.size(); r++) {
                assertThat(prepared.get(r).tokens()).as("row %d", r).containsExactly(opByOp.get(r).tokens());
                assertClose(prepared.get(r).stepLogits(), opByOp.get(r).stepLogits());
            }
            assertThat(preparedAlone.tokens()).containsExactly(opByOpAlone.tokens());
            assertClose(preparedAlone.stepLogits(), opByOpAlone.stepLogits());
            kernelWeights = model.decoder().kernelWeights();
            assertThat(kernelWeights.isReleased()).isFalse();
        }
        // The kernel's list holds the joined matrices: it goes with the model, or they would outlive it.
        assertThat(kernelWeights.isReleased()).isTrue();
    }

    /**
     * BF16 matrices are laid out too (joined, not transposed): the same tokens as BF16's op-by-op path, logits within
     * {@link Qwen2VlLowPrecisionTest}'s BF16 tolerance of its (5 % of the largest; here 1.4 % at the
     * prefill). The two round differently: the laid-out SwiGLU rounds its activations to BF16 once, as
     * down reads them, the op-by-op one after silu and after the product as well, and q|k|v's biases
     * are added in F32, not BF16; each path lies within BF16's rounding of F32. A product left out or
     * misread (a bias, a slice of q|k|v) moves the logits by tens of per cent.
     */
    @Test
    void shouldGenerateInBf16AsBf16sOpByOpPath() throws Exception {
        try (Qwen2VlModel model = Qwen2VlModel.load(Qwen2VlPromptTest.golden(), null, 0, EngineDtype.BFLOAT16)) {
            Qwen2VlModel.Prepared row = model.prepare(Qwen2VlBatchingTest.image(160, 96, 1), "Describe this image.");
            model.decoder().useKernel(false);
            Qwen2VlModel.Result opByOp = model.generate(List.of(row), new int[] {STEPS}, true, false).get(0);
            model.decoder().useKernel(true);
            long calls = DecoderKernel.CALLS.get();
            Qwen2VlModel.Result prepared = model.generate(List.of(row), new int[] {STEPS}, true, false).get(0);
            assertThat(DecoderKernel.CALLS.get() - calls).isEqualTo(STEPS);
            String q = "model.layers.0.self_attn.q_proj.weight";
            assertThat(transposed(model.weights().get(q))).as("BF16 keeps [N, K]").isFalse();
            assertThat(LowPrecision.typeOf(model.weights().get(q))).isEqualTo(EngineDtype.BFLOAT16);
            assertThat(model.decoder().kernelWeights()).as("laid out all the same").isNotNull();
            assertThat(prepared.tokens()).containsExactly(opByOp.tokens());
            for (int k = 0; k < STEPS; k++) {
                assertThat(Qwen2VlLowPrecisionTest.relativeDiff(prepared.stepLogits().get(k), opByOp.stepLogits().get(k)))
                        .as("step %d", k).isLessThan(0.05);
            }
        }
    }

    @Test
    void shouldLayNothingOutInGradModeNorForF16Matrices() throws Exception {
        try (Qwen2VlModel f32 = Qwen2VlModel.load(Qwen2VlPromptTest.golden());
             Qwen2VlModel f16 = Qwen2VlModel.load(Qwen2VlPromptTest.golden(), null, 0, EngineDtype.FLOAT16)) {
            Qwen2VlModel.Prepared row = f32.prepare(Qwen2VlBatchingTest.image(100, 100, 3), null);
            String q = "model.layers.0.self_attn.q_proj.weight";
            JniUtils.setGradMode(true);
            try {
                f32.generate(List.of(row), new int[] {2}, false, false);
            } finally {
                JniUtils.setGradMode(false);
            }
            assertThat(transposed(f32.weights().get(q))).isFalse();
            long calls = DecoderKernel.CALLS.get() + DecoderKernel.PRODUCT_CALLS.get();
            f16.generate(List.of(row), new int[] {2}, false, false);
            assertThat(DecoderKernel.CALLS.get() + DecoderKernel.PRODUCT_CALLS.get()).isEqualTo(calls);
            assertThat(transposed(f16.weights().get(q))).isFalse();
        }
    }

    /**
     * The two laid-out paths agree: the decoder's forward in one {@link DecoderKernel#qwen} call (with a
     * cache, as generation runs it, and without one) and op by op through {@link DecoderKernel#product}
     * (as it runs when asked for every layer's hidden states, {@link Qwen2VlVerifier}).
     */
    @Test
    void shouldGiveTheSameHiddenStatesInOneCallAsOpByOp() throws Exception {
        try (Qwen2VlModel model = Qwen2VlModel.load(Qwen2VlPromptTest.golden());
             ai.djl.ndarray.NDManager m = ai.djl.ndarray.NDManager.newBaseManager()) {
            Qwen2VlConfig c = model.config();
            Qwen2VlDecoder decoder = model.decoder();
            decoder.prepare();
            int t = 5;
            ai.djl.ndarray.NDArray x = m.randomNormal(new ai.djl.ndarray.types.Shape(2, t, c.hiddenSize()));
            long[][][] positions = new long[2][3][t];
            for (int r = 0; r < 2; r++) {
                for (int s = 0; s < 3; s++) {
                    for (int i = 0; i < t; i++) {
                        positions[r][s][i] = i + r + s; // three streams apart, as an image's tokens are
                    }
                }
            }
            ai.djl.ndarray.NDArray[] cosSin = decoder.rotary(m, positions);
            ai.djl.ndarray.NDArray mask = TextDecoder.causalMask(m, t);
            long products = DecoderKernel.PRODUCT_CALLS.get();
            float[] opByOp = decoder.forward(x, cosSin, mask, null, new java.util.ArrayList<>()).toFloatArray();
            assertThat(DecoderKernel.PRODUCT_CALLS.get() - products).isEqualTo(4L * c.layers());
            long calls = DecoderKernel.CALLS.get();
            float[] oneCall = decoder.forward(x, cosSin, mask, null, null).toFloatArray();
            float[] cached;
            try (Qwen2VlDecoder.Cache cache = new Qwen2VlDecoder.Cache(c.layers(), m)) {
                cached = decoder.forward(x, cosSin, mask, cache, null).toFloatArray();
                assertThat(cache.length()).isEqualTo(t);
            }
            assertThat(DecoderKernel.CALLS.get() - calls).isEqualTo(2);
            assertThat(Qwen2VlLowPrecisionTest.relativeDiff(oneCall, opByOp)).isLessThan(1e-5);
            assertThat(cached).containsExactly(oneCall);
        }
    }

    /** A model prepared in F32 then cast to BF16 gives BF16's logits: its joined F32 matrices are forgotten. */
    @Test
    void shouldForgetTheLayoutWhenTheMatricesAreCast() throws Exception {
        try (Qwen2VlModel model = Qwen2VlModel.load(Qwen2VlPromptTest.golden());
             Qwen2VlModel bf16 = Qwen2VlModel.load(Qwen2VlPromptTest.golden(), null, 0, EngineDtype.BFLOAT16)) {
            Qwen2VlModel.Prepared row = model.prepare(Qwen2VlBatchingTest.image(100, 100, 3), "Describe this image.");
            model.generate(List.of(row), new int[] {2}, false, false);
            String q = "model.layers.0.self_attn.q_proj.weight";
            assertThat(transposed(model.weights().get(q))).isTrue();
            model.castTo(EngineDtype.BFLOAT16);
            assertThat(LowPrecision.typeOf(model.weights().get(q))).isEqualTo(EngineDtype.BFLOAT16);
            Qwen2VlModel.Result cast = model.generate(List.of(row), new int[] {STEPS}, true, false).get(0);
            Qwen2VlModel.Result loaded = bf16.generate(List.of(row), new int[] {STEPS}, true, false).get(0);
            assertThat(cast.tokens()).containsExactly(loaded.tokens());
            assertClose(cast.stepLogits(), loaded.stepLogits());
        }
    }

    /** Each step's logits within 1e-4 of the largest: the same products, summed in another order. */
    private static void assertClose(List<float[]> got, List<float[]> want) {
        assertThat(got).hasSameSizeAs(want);
        for (int k = 0; k < want.size(); k++) {
            assertThat(Qwen2VlLowPrecisionTest.relativeDiff(got.get(k), want.get(k))).as("step %d", k).isLessThan(1e-4);
        }
    }

    private static boolean transposed(ai.djl.ndarray.NDArray a) {
        return DecoderKernelTest.transposed(a);
    }
}
