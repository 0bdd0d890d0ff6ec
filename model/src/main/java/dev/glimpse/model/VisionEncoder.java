package dev.glimpse.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;

/** The vision transformer after the patch embedding: pre-norm blocks, then a final LayerNorm. */
public final class VisionEncoder {
    private final ModelConfig cfg;
    private final Weights w;

    public VisionEncoder(ModelConfig cfg, Weights w) {
        this.cfg = cfg;
        this.w = w;
    }

    /** {@code [B, N, D_vit] -> [B, N, D_vit]}. */
    public NDArray forward(NDArray x) {
        for (int i = 0; i < cfg.vitNBlocks; i++) {
            String b = "vision_encoder.blocks." + i + ".";
            // The attention's and the MLP's temporaries are freed as each returns: a block holds one of them at a time.
            x = Ops.freeingTemporaries(x, i > 0, in -> {
                NDArray h = in.add(Ops.freeingTemporaries(in, false, a -> attention(layerNorm(a, b + "ln1"), b + "attn.")));
                return h.add(Ops.freeingTemporaries(h, false, a -> mlp(layerNorm(a, b + "ln2"), b + "mlp.")));
            });
        }
        return layerNorm(x, "vision_encoder.layer_norm");
    }

    private NDArray layerNorm(NDArray x, String name) {
        return Ops.layerNorm(x, w.get(name + ".weight"), w.get(name + ".bias"), cfg.vitLnEps);
    }

    private NDArray attention(NDArray x, String p) {
        long bsz = x.getShape().get(0);
        long t = x.getShape().get(1);
        int h = cfg.vitNHeads;
        int hd = cfg.vitHeadDim();
        NDArray qkvWeight = w.get(p + "qkv_proj.weight");
        NDList qkv = Ops.linear(x, qkvWeight, w.get(p + "qkv_proj.bias")).split(3, 2);
        NDArray q = qkv.get(0).reshape(bsz, t, h, hd).transpose(0, 2, 1, 3); // [B, H, T, hd]
        NDArray k = qkv.get(1).reshape(bsz, t, h, hd).transpose(0, 2, 1, 3); // [B, H, T, hd]
        NDArray v = qkv.get(2).reshape(bsz, t, h, hd).transpose(0, 2, 1, 3); // [B, H, T, hd]
        NDArray attended; // [B, H, T, hd]
        if (LowPrecision.isLow(qkvWeight)) { // a BF16/F16 model: the fused kernel, no [B, H, T, T] scores kept
            attended = LowPrecision.attention(q, k, v, null, 1.0 / Math.sqrt(hd), LowPrecision.typeOf(qkvWeight));
        } else {
            attended = Ops.attentionWeights(q.matMul(k.transpose(0, 1, 3, 2)), 1.0 / Math.sqrt(hd), null).matMul(v);
        }
        NDArray y = attended.transpose(0, 2, 1, 3).reshape(bsz, t, (long) h * hd); // [B, T, D]
        return Ops.linear(y, w.get(p + "out_proj.weight"), w.get(p + "out_proj.bias"));
    }

    private NDArray mlp(NDArray x, String p) {
        if (LowPrecision.isLow(w.get(p + "fc1.weight"))) { // one call; the hidden activations stay BF16/F16
            return LowPrecision.mlpGelu(x, w.get(p + "fc1.weight"), w.get(p + "fc1.bias"), w.get(p + "fc2.weight"),
                    w.get(p + "fc2.bias"));
        }
        NDArray hidden = Ops.geluTanh(Ops.linear(x, w.get(p + "fc1.weight"), w.get(p + "fc1.bias")));
        return Ops.linear(hidden, w.get(p + "fc2.weight"), w.get(p + "fc2.bias"));
    }
}
