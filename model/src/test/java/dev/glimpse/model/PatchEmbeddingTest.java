package dev.glimpse.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import org.junit.jupiter.api.Test;

class PatchEmbeddingTest {
    /** A 4×4 image, 2×2 patches, width 2: every output value worked out by hand below. */
    @Test
    void shouldMatchAHandComputedExample() {
        ModelConfig cfg = new ModelConfig();
        cfg.vitImgSize = 4;
        cfg.vitPatchSize = 2;
        cfg.vitHiddenDim = 2;
        cfg.vitNHeads = 1;
        cfg.vitNBlocks = 0;
        try (NDManager m = NDManager.newBaseManager()) {
            Weights w = Weights.random(m, cfg, 0);
            // Output channel 0 sums the red patch values; channel 1 picks the blue top-left pixel.
            float[] kernel = new float[2 * 3 * 2 * 2];
            for (int i = 0; i < 4; i++) {
                kernel[i] = 1f; // channel 0, red, all four positions
            }
            kernel[12 + 8] = 1f; // channel 1, blue (c=2), row 0, col 0
            w.get("vision_encoder.patch_embedding.conv.weight").set(kernel);
            w.get("vision_encoder.patch_embedding.conv.bias").set(new float[] {0.5f, -1f});
            float[] pos = new float[4 * 2];
            for (int p = 0; p < 4; p++) {
                pos[p * 2] = 10f * p;
            }
            w.get("vision_encoder.patch_embedding.position_embedding").set(pos);

            // red(y,x) = y*4 + x; green = 0; blue(y,x) = 100 + y*4 + x
            float[] pixels = new float[3 * 16];
            for (int i = 0; i < 16; i++) {
                pixels[i] = i;
                pixels[32 + i] = 100 + i;
            }
            NDArray out = new PatchEmbedding(cfg, w).embed(m.create(pixels, new Shape(1, 3, 4, 4)));
            assertThat(out.getShape()).isEqualTo(new Shape(1, 4, 2));
            float[] got = out.toFloatArray();
            // Patch (0,0) holds red 0,1,4,5; patch (0,1): 2,3,6,7; (1,0): 8,9,12,13; (1,1): 10,11,14,15.
            float[] want = {
                0 + 1 + 4 + 5 + 0.5f + 0, 100 - 1,
                2 + 3 + 6 + 7 + 0.5f + 10, 102 - 1,
                8 + 9 + 12 + 13 + 0.5f + 20, 108 - 1,
                10 + 11 + 14 + 15 + 0.5f + 30, 110 - 1,
            };
            for (int i = 0; i < want.length; i++) {
                assertThat(got[i]).as("value %d", i).isCloseTo(want[i], within(1e-5f));
            }
        }
    }
}
