package dev.glimpse.model;

import ai.djl.ndarray.NDArray;

/**
 * Cuts images into P×P patches, flattens each as (channel, row, column) — the element order of a
 * convolution kernel — and projects it linearly, then adds the learned position embeddings. This is
 * exactly nanoVLM's strided {@code Conv2d} patch embedding, written as the matrix product it is.
 */
public final class PatchEmbedding {
    private final ModelConfig cfg;
    private final NDArray projection; // [D_vit, 3·P·P]
    private final NDArray bias; // [D_vit]
    private final NDArray positions; // [1, N, D_vit]

    public PatchEmbedding(ModelConfig cfg, Weights w) {
        this.cfg = cfg;
        NDArray conv = w.get("vision_encoder.patch_embedding.conv.weight");
        this.projection = conv.reshape(cfg.vitHiddenDim, cfg.patchDim());
        this.bias = w.get("vision_encoder.patch_embedding.conv.bias");
        this.positions = w.get("vision_encoder.patch_embedding.position_embedding");
    }

    /** {@code [B, 3, H, W] -> [B, N, 3·P·P]}, patches in row-major order. */
    public NDArray patchify(NDArray pixels) {
        long b = pixels.getShape().get(0);
        int p = cfg.vitPatchSize;
        int g = cfg.patchesPerSide();
        return pixels.reshape(b, 3, g, p, g, p) // [B, C, gy, py, gx, px]
                .transpose(0, 2, 4, 1, 3, 5) // [B, gy, gx, C, py, px]
                .reshape(b, (long) g * g, cfg.patchDim());
    }

    /** {@code [B, 3, H, W] -> [B, N, D_vit]}: projection of the flattened patches plus positions. */
    public NDArray embed(NDArray pixels) {
        NDArray patches = patchify(pixels); // [B, N, 3·P·P]
        return Ops.linear(patches, projection, bias).add(positions); // [B, N, D_vit]
    }
}
