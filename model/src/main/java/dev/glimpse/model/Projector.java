package dev.glimpse.model;

import ai.djl.ndarray.NDArray;

/**
 * Maps image features to the decoder's width. Pixel shuffle first folds each f×f neighbourhood of
 * patches into one token (nanoVLM's element order), then a linear map (nanoVLM) or a two-layer GELU
 * MLP ({@code mp_hidden_dim > 0}) projects it.
 */
public final class Projector {
    private final ModelConfig cfg;
    private final Weights w;

    public Projector(ModelConfig cfg, Weights w) {
        this.cfg = cfg;
        this.w = w;
    }

    /** {@code [B, N, D] -> [B, N/f², D·f²]}. */
    public NDArray pixelShuffle(NDArray x) {
        long b = x.getShape().get(0);
        long d = x.getShape().get(2);
        int f = cfg.mpPixelShuffleFactor;
        int side = cfg.patchesPerSide();
        int out = side / f;
        return x.reshape(b, out, f, out, f, d) // [B, h_out, f, w_out, f, D]
                .transpose(0, 1, 3, 2, 4, 5) // [B, h_out, w_out, f, f, D]
                .reshape(b, (long) out * out, d * f * f);
    }

    /** {@code [B, N, D_vit] -> [B, N/f², D_lm]}. */
    public NDArray forward(NDArray x) {
        NDArray shuffled = pixelShuffle(x);
        if (cfg.mpHiddenDim == 0) {
            return Ops.linear(shuffled, w.get("MP.proj.weight"), null);
        }
        NDArray hidden = Ops.geluTanh(Ops.linear(shuffled, w.get("MP.fc1.weight"), w.get("MP.fc1.bias")));
        return Ops.linear(hidden, w.get("MP.fc2.weight"), w.get("MP.fc2.bias"));
    }
}
