package dev.glimpse.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** BF16 and F16 products through {@link LowPrecision}, against the same products in F32. */
class LowPrecisionTest {

    private static float maxAbsDiff(NDArray a, NDArray b) {
        return a.sub(b).abs().max().getFloat();
    }

    @Test
    void shouldMultiplyByBf16AndF16WeightsToWithinTheirRoundingAndReturnF32() {
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray x = m.randomNormal(new Shape(3, 5, 256));
            NDArray w = m.randomNormal(new Shape(64, 256)).mul(0.05f);
            NDArray b = m.randomNormal(new Shape(64));
            NDArray want = Ops.linear(x, w, b); // [3, 5, 64]
            float scale = want.abs().max().getFloat();
            for (EngineDtype dtype : new EngineDtype[] {EngineDtype.BFLOAT16, EngineDtype.FLOAT16}) {
                NDArray low = LowPrecision.cast(w, dtype);
                assertThat(LowPrecision.isLow(low)).isTrue();
                NDArray got = Ops.linear(x, low, b);
                assertThat(got.getDataType()).isEqualTo(DataType.FLOAT32);
                assertThat(got.getShape()).isEqualTo(new Shape(3, 5, 64));
                float err = maxAbsDiff(got, want) / scale;
                // BF16 keeps 8 bits of mantissa, F16 11: the products differ from F32's, within their rounding.
                float bound = dtype == EngineDtype.BFLOAT16 ? 2e-2f : 2e-3f;
                assertThat(err).as(dtype.label()).isGreaterThan(0f).isLessThan(bound);
                assertThat(maxAbsDiff(Ops.linear(x, low, null), want.sub(b)) / scale).isLessThan(bound);
            }
        }
    }

    @Test
    void shouldRunBothMlpsInBf16AsInF32() {
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray x = m.randomNormal(new Shape(2, 5, 64));
            NDArray w1 = m.randomNormal(new Shape(256, 64)).mul(0.1f);
            NDArray b1 = m.randomNormal(new Shape(256)).mul(0.1f);
            NDArray w2 = m.randomNormal(new Shape(64, 256)).mul(0.1f);
            NDArray b2 = m.randomNormal(new Shape(64)).mul(0.1f);
            NDArray want = Ops.linear(Ops.geluTanh(Ops.linear(x, w1, b1)), w2, b2);
            NDArray got = LowPrecision.mlpGelu(x, LowPrecision.cast(w1, EngineDtype.BFLOAT16), b1,
                    LowPrecision.cast(w2, EngineDtype.BFLOAT16), b2);
            assertThat(got.getDataType()).isEqualTo(DataType.FLOAT32);
            assertThat(maxAbsDiff(got, want) / want.abs().max().getFloat()).isGreaterThan(0f).isLessThan(3e-2f);

            NDArray gate = m.randomNormal(new Shape(256, 64)).mul(0.1f);
            NDArray up = m.randomNormal(new Shape(256, 64)).mul(0.1f);
            NDArray wantGlu = Ops.linear(Ops.silu(Ops.linear(x, gate, null)).mul(Ops.linear(x, up, null)), w2, null);
            NDArray gotGlu = LowPrecision.mlpSwiGlu(x, LowPrecision.cast(gate, EngineDtype.BFLOAT16),
                    LowPrecision.cast(up, EngineDtype.BFLOAT16), LowPrecision.cast(w2, EngineDtype.BFLOAT16));
            assertThat(gotGlu.getShape()).isEqualTo(new Shape(2, 5, 64));
            assertThat(maxAbsDiff(gotGlu, wantGlu) / wantGlu.abs().max().getFloat()).isGreaterThan(0f).isLessThan(3e-2f);
        }
    }

    @Test
    void shouldLookUpRowsOfABf16TableAsF32() {
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray table = m.randomNormal(new Shape(10, 8));
            NDArray ids = m.create(new long[] {3, 0, 9, 3});
            NDArray got = Ops.embedding(ids, LowPrecision.cast(table, EngineDtype.BFLOAT16));
            assertThat(got.getDataType()).isEqualTo(DataType.FLOAT32);
            float[] values = got.toFloatArray();
            float[] rows = table.toFloatArray();
            int[] picked = {3, 0, 9, 3};
            for (int i = 0; i < picked.length; i++) {
                for (int j = 0; j < 8; j++) {
                    float want = rows[picked[i] * 8 + j];
                    assertThat(values[i * 8 + j]).isCloseTo(want, within(Math.abs(want) / 128 + 1e-6f));
                }
            }
        }
    }

    @Test
    void shouldAttendInBf16AsSoftmaxAttentionInF32() {
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray q = m.randomNormal(new Shape(2, 3, 7, 16));
            NDArray k = m.randomNormal(new Shape(2, 3, 7, 16));
            NDArray v = m.randomNormal(new Shape(2, 3, 7, 16));
            double scale = 0.25;
            NDArray want = q.matMul(k.transpose(0, 1, 3, 2)).mul(scale).softmax(-1).matMul(v);
            NDArray got = LowPrecision.attention(q, k, v, null, scale, EngineDtype.BFLOAT16);
            assertThat(got.getDataType()).isEqualTo(DataType.FLOAT32);
            assertThat(got.getShape()).isEqualTo(want.getShape());
            assertThat(maxAbsDiff(got, want)).isLessThan(5e-2f);

            // Grouped-query attention (3 query heads on 1 kv head) under a causal mask, as the decoder's.
            NDArray k1 = k.get(":, :1");
            NDArray v1 = v.get(":, :1");
            NDArray mask = TextDecoder.causalMask(m, 7);
            NDArray wantMasked = q.matMul(k1.repeat(1, 3).transpose(0, 1, 3, 2)).mul(scale).add(mask).softmax(-1)
                    .matMul(v1.repeat(1, 3));
            NDArray gotMasked = LowPrecision.attention(q, k1, v1, mask, scale, EngineDtype.BFLOAT16);
            assertThat(gotMasked.getShape()).isEqualTo(new Shape(2, 3, 7, 16));
            assertThat(maxAbsDiff(gotMasked, wantMasked)).isLessThan(5e-2f);
            // The first query sees only the first key: its output is that key's value.
            assertThat(maxAbsDiff(gotMasked.get(":, :, 0"), v1.get(":, :, 0").repeat(1, 3))).isLessThan(2e-2f);
        }
    }

    @Test
    void shouldAttendOneHeadAtATimeInBf16AsCloseToF32AsTorchsFusedKernel() {
        try (NDManager m = NDManager.newBaseManager()) {
            // A BF16 prefill's shape: 9 query heads on 3 kv heads, 300 tokens, a causal mask; the second
            // row's first 20 keys are padding (masked for every query), as a batch of unequal prompts.
            int t = 300;
            NDArray q = m.randomNormal(new Shape(2, 9, t, 64));
            NDArray k = m.randomNormal(new Shape(2, 3, t, 64));
            NDArray v = m.randomNormal(new Shape(2, 3, t, 64));
            double scale = 0.125;
            float[] mask = new float[2 * t * t];
            for (int r = 0; r < 2; r++) {
                for (int i = 0; i < t; i++) {
                    for (int j = 0; j < t; j++) {
                        mask[(r * t + i) * t + j] = j > i || (r == 1 && j < 20 && i >= 20) ? TextDecoder.MASKED : 0;
                    }
                }
            }
            NDArray masks = m.create(mask, new Shape(2, 1, t, t));
            NDArray want = q.matMul(k.repeat(1, 3).transpose(0, 1, 3, 2)).mul(scale).add(masks).softmax(-1)
                    .matMul(v.repeat(1, 3));
            NDArray byHead = DecoderKernel.attentionByHead(q, k, v, masks, scale, false);
            NDArray fused = LowPrecision.attention(q, k, v, masks, scale, EngineDtype.BFLOAT16);
            assertThat(byHead.getDataType()).isEqualTo(DataType.FLOAT32);
            assertThat(byHead.getShape()).isEqualTo(want.getShape());
            float fusedMean = fused.sub(want).abs().mean().getFloat();
            float byHeadMean = byHead.sub(want).abs().mean().getFloat();
            assertThat(maxAbsDiff(byHead, want)).isLessThan(5e-2f);
            // The scores are rounded to BF16 here (the originals' eager attention does so too), which
            // the fused kernel keeps in F32: a little further from F32, not by much.
            assertThat(byHeadMean).as("mean error, one head at a time (fused: %s)", fusedMean).isLessThan(2 * fusedMean + 1e-4f);
            // The padded row's 20th query sees only its own key among the first 21.
            assertThat(maxAbsDiff(byHead.get("1, :, 20"), v.get("1, :, 20").repeat(0, 3))).isLessThan(2e-2f);
            // A head's queries in chunks (here of 7 queries: 2,100 scores over 300 keys) as a large image's
            // are: the same sums, chunk by chunk.
            assertThat(maxAbsDiff(DecoderKernel.attentionByHead(q, k, v, masks, scale, false, 2_100), byHead)).isEqualTo(0f);
            assertThat(maxAbsDiff(DecoderKernel.attentionByHead(q, k, v, null, scale, false, 2_100),
                    DecoderKernel.attentionByHead(q, k, v, null, scale, false))).isEqualTo(0f);
            // Causal (a decoder's prefill): chunks of at most BY_HEAD_CAUSAL_ROWS queries (here 256, then 44), each
            // over the keys up to its last query. The scores left out had weights of exactly 0: the same values.
            NDArray causal = DecoderKernel.attentionByHead(q, k, v, masks, scale, true);
            assertThat(DecoderKernel.BY_HEAD_CAUSAL_ROWS).isLessThan(t);
            assertThat(maxAbsDiff(causal, byHead)).isEqualTo(0f);
            // In chunks of 7 queries, the products over 7 to 300 keys sum in another order than over all 300: an
            // output may round to the next BF16 value (a step of 2^-8 to 2^-7 for values of 0.5 to 2), no further.
            NDArray small = DecoderKernel.attentionByHead(q, k, v, masks, scale, true, 2_100);
            assertThat(maxAbsDiff(small, byHead)).isLessThanOrEqualTo(1f / 128);
            assertThat(small.sub(byHead).abs().mean().getFloat()).isLessThan(1e-5f);
            // From BY_HEAD_MIN_TOKENS on, the op-by-op BF16 prefill takes this path too, causal as the kernel's.
            assertThat(maxAbsDiff(LowPrecision.attentionRepeatingKv(q, k, v, masks, scale, EngineDtype.BFLOAT16), causal))
                    .isEqualTo(0f);
            assertThat(t).isGreaterThanOrEqualTo(DecoderKernel.BY_HEAD_MIN_TOKENS);
        }
    }

    @Test
    void shouldPredictTheFirstTokensInBf16AsInF32OnTheReferenceModel() throws Exception {
        try (VisionLanguageModel f32 = VisionLanguageModel.load(ReferenceParityTest.golden());
             VisionLanguageModel bf16 = VisionLanguageModel.load(ReferenceParityTest.golden(), null, EngineDtype.BFLOAT16)) {
            assertThat(bf16.dtype()).isEqualTo(EngineDtype.BFLOAT16);
            assertThat(bf16.weights().get("decoder.blocks.0.attn.q_proj.weight").getDataType()).isEqualTo(DataType.UNKNOWN);
            assertThat(bf16.weights().get("decoder.blocks.0.norm1.weight").getDataType()).isEqualTo(DataType.FLOAT32);
            Random rnd = new Random(7);
            int s = f32.config().vitImgSize;
            int n = 4;
            float[] pixels = CaptionGeneratorTest.randomPixels(rnd, n * 3 * s * s);
            List<long[]> prompts = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                prompts.add(CaptionGeneratorTest.randomPrompt(rnd, 3 + i));
            }
            int[] caps = {3, 3, 3, 3};
            var opt = new CaptionGenerator.Options(true, false, true);
            List<CaptionGenerator.Result> want;
            List<CaptionGenerator.Result> got;
            try (NDScope ignored = new NDScope()) {
                want = new CaptionGenerator(f32).generate(
                        f32.patchEmbedding().embed(f32.manager().create(pixels, new Shape(n, 3, s, s))), prompts, caps, opt);
            }
            try (NDScope ignored = new NDScope()) {
                got = new CaptionGenerator(bf16).generate(
                        bf16.patchEmbedding().embed(bf16.manager().create(pixels, new Shape(n, 3, s, s))), prompts, caps, opt);
            }
            // Random weights leave small margins between candidates a few tokens in (8 tokens on: one
            // row in four differed here), so the first three tokens, and the first step's logits
            // to within BF16's rounding.
            for (int i = 0; i < n; i++) {
                assertThat(got.get(i).tokens()).as("row %d", i).containsExactly(want.get(i).tokens());
                float[] a = want.get(i).stepLogits().get(0);
                float[] b = got.get(i).stepLogits().get(0);
                float largest = 0;
                float diff = 0;
                for (int v = 0; v < a.length; v++) {
                    largest = Math.max(largest, Math.abs(a[v]));
                    diff = Math.max(diff, Math.abs(a[v] - b[v]));
                }
                assertThat(diff / largest).as("row %d", i).isGreaterThan(0f).isLessThan(0.05f);
            }
        }
    }
}
