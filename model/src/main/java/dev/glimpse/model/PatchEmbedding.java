package dev.glimpse.model;

import ai.djl.ndarray.NDArray;

/**
 * Cuts images into P×P patches, flattens each as (channel, row, column) — the element order of a
 * convolution kernel — and projects it linearly, then adds the learned position embeddings. This is
 * exactly nanoVLM's strided {@code Conv2d} patch embedding, written as the matrix product it is.
 */
public final class PatchEmbedding {
    private final ModelConfig cfg;
    private final Weights w;

    public PatchEmbedding(ModelConfig cfg, Weights w) {
        this.cfg = cfg;
        this.w = w;
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
        // The view is taken per call: a view kept across training steps would alias in-place updates.
        NDArray projection = w.get("vision_encoder.patch_embedding.conv.weight")
                .reshape(cfg.vitHiddenDim, cfg.patchDim()); // [D_vit, 3·P·P]
        projection.attach(pixels.getManager()); // freed with the caller's arrays, not kept with the weights
        return Ops.linear(patches, projection, w.get("vision_encoder.patch_embedding.conv.bias"))
                .add(w.get(Weights.POSITION_EMBEDDING)); // [B, N, D_vit]
    }
}
