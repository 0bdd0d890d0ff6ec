package dev.glimpse.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.pytorch.jni.JniUtils;

/**
 * The vision transformer after the patch embedding: pre-norm blocks, then a final LayerNorm. Outside
 * training, an F32 or BF16 tower on a CPU holds its blocks' matrices transposed and runs each block's
 * attention and MLP as one call each, through oneDNN ({@link #prepare}).
 */
public final class VisionEncoder {
    private static final String[] MATRICES = {"attn.qkv_proj", "attn.out_proj", "mlp.fc1", "mlp.fc2"};
    private final ModelConfig cfg;
    private final Weights w;
    private volatile boolean transposed;
    private volatile boolean prepared;

    public VisionEncoder(ModelConfig cfg, Weights w) {
        this.cfg = cfg;
        this.w = w;
    }

    /**
     * Holds the blocks' F32 or BF16 matrices transposed ({@code w^T [K, N]} in memory, the model's
     * tensors views of it), which oneDNN's inner product multiplies by a tile's 196-1,024 rows at up to
     * 1.5 times {@code torch.linear}'s rate on this CPU (docs/benchmarks.md); each block's attention
     * (torch's fused kernel in F32, one head at a time in BF16) and MLP (the GELU applied inside fc1's
     * product) then run as one call each. Once, before the
     * first forward outside training (a model that threads share calls it at load, as {@link
     * TextDecoder#prepareKernel}); nothing while weights record gradients, for F16 matrices, or off a CPU.
     */
    public synchronized void prepare() {
        if (prepared) {
            return;
        }
        NDArray first = w.get("vision_encoder.blocks.0.attn.qkv_proj.weight");
        if (w.all().values().stream().anyMatch(NDArray::hasGradient)) {
            return; // asked again next time
        }
        EngineDtype type = LowPrecision.typeOf(first);
        if (type != EngineDtype.FLOAT16 && first.getDevice().getDeviceType().equals(ai.djl.Device.Type.CPU)) {
            for (int i = 0; i < cfg.vitNBlocks; i++) {
                for (String m : MATRICES) {
                    DecoderKernel.transpose(w, "vision_encoder.blocks." + i + "." + m + ".weight");
                }
            }
            transposed = true;
        }
        prepared = true;
    }

    /** Forgets {@link #prepare} (the matrices changed type): the next forward prepares again. */
    synchronized void resetPrepared() {
        transposed = false;
        prepared = false;
    }

    /** {@code [B, N, D_vit] -> [B, N, D_vit]}. */
    public NDArray forward(NDArray x) {
        if (!prepared && !JniUtils.isGradMode()) {
            prepare();
        }
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
        if (transposed && !JniUtils.isGradMode()) { // one call (DecoderKernel's vit_attention)
            return DecoderKernel.vitAttention(x, w.get(p + "qkv_proj.weight"), w.get(p + "qkv_proj.bias"),
                    w.get(p + "out_proj.weight"), w.get(p + "out_proj.bias"), cfg.vitNHeads);
        }
        long bsz = x.getShape().get(0);
        long t = x.getShape().get(1);
        int h = cfg.vitNHeads;
        int hd = cfg.vitHeadDim();
        NDArray qkvWeight = w.get(p + "qkv_proj.weight");
        NDList qkv = linear(x, p + "qkv_proj").split(3, 2);
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
        return linear(y, p + "out_proj");
    }

    private NDArray mlp(NDArray x, String p) {
        if (transposed && !JniUtils.isGradMode()) { // one call through oneDNN, the GELU inside fc1's product
            return DecoderKernel.mlpGelu(x, w.get(p + "fc1.weight"), w.get(p + "fc1.bias"), w.get(p + "fc2.weight"),
                    w.get(p + "fc2.bias"));
        }
        if (LowPrecision.isLow(w.get(p + "fc1.weight"))) { // one call; the hidden activations stay BF16/F16
            return LowPrecision.mlpGelu(x, w.get(p + "fc1.weight"), w.get(p + "fc1.bias"), w.get(p + "fc2.weight"),
                    w.get(p + "fc2.bias"));
        }
        NDArray hidden = Ops.geluTanh(linear(x, p + "fc1"));
        return linear(hidden, p + "fc2");
    }

    private NDArray linear(NDArray x, String name) {
        return Ops.linear(x, w.get(name + ".weight"), w.get(name + ".bias"));
    }
}
