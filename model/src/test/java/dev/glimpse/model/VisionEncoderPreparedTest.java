package dev.glimpse.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.engine.PtSymbolBlock;
import ai.djl.pytorch.jni.IValue;
import ai.djl.pytorch.jni.JniUtils;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The vision tower as inference runs it on a CPU (its matrices held transposed, products through
 * oneDNN, the attention and the MLP one call each with torch's fused attention and GELU) against the
 * op-by-op path that training runs, on nanoVLM's and SmolVLM's tiny checkpoints.
 */
class VisionEncoderPreparedTest {

    @Test
    void shouldEncodeAsTheOpByOpPathOnNanoVlm() throws Exception {
        compare(ReferenceParityTest.golden());
    }

    @Test
    void shouldEncodeAsTheOpByOpPathOnSmolVlm() throws Exception {
        compare(SmolVlmReferenceParityTest.golden());
    }

    @Test
    void shouldEncodeInBf16AsLowPrecisionsOpByOpPath() throws Exception {
        // Both round each product's output to BF16; they differ by the order of a product's sums.
        compare(ReferenceParityTest.golden(), EngineDtype.BFLOAT16, 0.05f, 5e-3f);
    }

    @Test
    void shouldLeaveAnF16TowerAsItIs() throws Exception {
        try (VisionLanguageModel model = VisionLanguageModel.load(ReferenceParityTest.golden(), ai.djl.Device.cpu(), EngineDtype.FLOAT16);
             NDManager m = NDManager.newBaseManager()) {
            ModelConfig c = model.config();
            model.visionEncoder().forward(m.randomNormal(new Shape(1, c.numPatches(), c.vitHiddenDim)));
            assertThat(transposed(model.weights().get("vision_encoder.blocks.0.mlp.fc2.weight"))).isFalse();
        }
    }

    private static void compare(Path dir) throws Exception {
        compare(dir, EngineDtype.FLOAT32, 1e-4f, 1e-5f);
    }

    /** Each value within {@code tolerance}, and their mean absolute difference within {@code meanTolerance}. */
    private static void compare(Path dir, EngineDtype dtype, float tolerance, float meanTolerance) throws Exception {
        try (VisionLanguageModel model = VisionLanguageModel.load(dir, ai.djl.Device.cpu(), dtype); NDManager m = NDManager.newBaseManager()) {
            ModelConfig c = model.config();
            Weights w = model.weights();
            NDArray x = m.randomNormal(new Shape(2, c.numPatches(), c.vitHiddenDim));
            String fc2 = "vision_encoder.blocks." + (c.vitNBlocks - 1) + ".mlp.fc2.weight";
            float[] fc2Values = f32(w.get(fc2));
            float[] opByOp;
            JniUtils.setGradMode(true); // the training path: plain layout, torch.linear, GELU and attention op by op
            try {
                opByOp = model.visionEncoder().forward(x).toFloatArray();
            } finally {
                JniUtils.setGradMode(false);
            }
            assertThat(transposed(w.get(fc2))).as("nothing is prepared in grad mode").isFalse();
            float[] prepared = model.visionEncoder().forward(x).toFloatArray();
            assertThat(transposed(w.get(fc2))).isTrue();
            assertThat(transposed(w.get("vision_encoder.blocks.0.attn.qkv_proj.weight"))).isTrue();
            assertThat(f32(w.get(fc2))).containsExactly(fc2Values);
            assertThat(prepared).hasSameSizeAs(opByOp);
            float largest = 0;
            double sum = 0;
            for (int i = 0; i < opByOp.length; i++) {
                largest = Math.max(largest, Math.abs(opByOp[i]));
                sum += Math.abs(prepared[i] - opByOp[i]);
                assertThat(prepared[i]).as("value %d", i).isCloseTo(opByOp[i], within(tolerance));
            }
            assertThat(largest).isGreaterThan(0.1f);
            assertThat(sum / opByOp.length).as("mean absolute difference").isLessThan(meanTolerance);
        }
    }

    /** The values of {@code a} (any float type) as F32. */
    private static float[] f32(NDArray a) {
        PtSymbolBlock cast = LowPrecision.load("Widen", List.of(
                "class Widen(Module):",
                "  __parameters__ = []",
                "  __buffers__ = []",
                "  training : bool",
                "  def forward(self: __torch__.Widen, w: Tensor) -> Tensor:",
                "    return torch.to(w, 6)",
                ""));
        try (NDManager m = NDManager.newBaseManager()) {
            return LowPrecision.run(cast, "forward", m, IValue.from((PtNDArray) a)).toFloatArray();
        } finally {
            cast.close();
        }
    }

    private static boolean transposed(NDArray a) {
        return DecoderKernelTest.transposed(a);
    }
}
