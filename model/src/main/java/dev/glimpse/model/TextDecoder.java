package dev.glimpse.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.pytorch.jni.IValue;
import ai.djl.pytorch.jni.JniUtils;

/**
 * The decoder-only language model in the LLaMA style: RMSNorm, rotary position embeddings,
 * grouped-query attention, SwiGLU MLP, and a head tied to the token embedding. Positions are given
 * per row so that left-padded batches decode exactly as each row would alone.
 */
public final class TextDecoder {
    /** Added to the score of a key that must not be seen; finite so fully masked rows stay finite. */
    public static final float MASKED = -1e9f;

    private final ModelConfig cfg;
    private final Weights w;
    private final float[] invFreq;
    /** {@link #invFreq} on the weights' device, made once: every step's rotary angles read it. */
    private final NDArray invFreqArray;
    private volatile boolean fused = true;
    private volatile IValue kernelWeights;

    public TextDecoder(ModelConfig cfg, Weights w) {
        this.cfg = cfg;
        this.w = w;
        int hd = cfg.lmHeadDim();
        this.invFreq = new float[hd / 2];
        for (int i = 0; i < hd / 2; i++) {
            invFreq[i] = 1.0f / (float) Math.pow(cfg.lmReBase, (float) (2 * i) / hd);
        }
        this.invFreqArray = w.manager().create(invFreq);
    }

    /**
     * Whether forwards over a cache run as one {@link DecoderKernel} call (the default) rather than
     * op by op from Java; both compute the same. For benchmarks that compare the two.
     */
    public void useKernel(boolean fused) {
        this.fused = fused;
    }

    /**
     * The weights as {@link DecoderKernel} reads them, made at first use and freed with the weights'
     * manager (the blocks' matrices and the head become views into joined, transposed ones:
     * {@link DecoderKernel#weightList}); null while the weights record gradients.
     */
    private IValue kernelWeights() {
        IValue list = kernelWeights;
        if (list == null) {
            synchronized (this) {
                list = kernelWeights;
                if (list == null) {
                    list = DecoderKernel.weightList(cfg, w);
                    if (list == null) {
                        return null; // weights that record gradients: asked again next time, cheaply
                    }
                    w.manager().attachInternal("decoder-kernel-weights-" + System.identityHashCode(this), list);
                    kernelWeights = list;
                }
            }
        }
        return list;
    }

    /**
     * Makes the kernel's weights now rather than at the first forward over a cache: a model that
     * several threads will share calls this once after loading, so that no forward runs while the
     * blocks' tensors are swapped for views of the joined ones. Does nothing while weights record
     * gradients.
     */
    public void prepareKernel() {
        if (fused) {
            kernelWeights();
        }
    }

    /** Forgets the kernel's weights (after the model's weights changed type): the next forward makes them again. */
    synchronized void resetKernel() {
        if (kernelWeights != null) {
            kernelWeights.close();
            kernelWeights = null;
        }
    }

    public NDArray tokenEmbedding() {
        return w.get("decoder.token_embedding.weight");
    }

    /** {@code [B, T] ids -> [B, T, D_lm]}. */
    public NDArray embed(NDArray ids) {
        return Ops.embedding(ids, tokenEmbedding());
    }

    /** The name of the head's weight: the token embedding's when the two are tied. */
    static String headName(ModelConfig cfg) {
        return cfg.lmTieWeights ? "decoder.token_embedding.weight" : "decoder.head.weight";
    }

    /** {@code [.., D_lm] -> [.., V]}. */
    public NDArray logits(NDArray hidden) {
        NDArray head = w.get(headName(cfg));
        if (fused && !JniUtils.isGradMode()) {
            return DecoderKernel.linear(hidden, head); // the head is the largest product of a decode step
        }
        return Ops.linear(hidden, head, null);
    }

    /**
     * One decode step over {@code cache} (set by {@link KvCache#decode}): the tokens {@code ids [B, 1]}
     * (int64) at {@code positions [B, 1]} (F32; the largest {@code maxPosition}) through the blocks
     * and the head, as {@link #embed}, {@link #rotary}, {@link #forward} and {@link #logits} one
     * after the other: the logits {@code [B, V]}. With the kernel on, one native call.
     */
    public NDArray decodeLogits(NDArray ids, NDArray positions, long maxPosition, NDArray mask, KvCache cache) {
        if (fused && !JniUtils.isGradMode()) {
            IValue weights = kernelWeights();
            if (weights != null) {
                return DecoderKernel.decode(cfg, weights, tokenEmbedding(), w.get(headName(cfg)),
                        frequencies(maxPosition, ids.getManager()), ids, positions, mask, cache);
            }
        }
        NDArray hidden = forward(embed(ids), rotary(positions, maxPosition), mask, cache); // [B, 1, D_lm]
        return logits(hidden.squeeze(1));
    }

    /**
     * Runs the blocks over {@code x [B, T, D_lm]} whose tokens sit at {@code positions [B][T]};
     * {@code mask} is added to the attention scores ({@code [B or 1, 1, T, T_kv]}, or null for
     * none). With a cache, keys and values go where the cache was told ({@link KvCache#prefill},
     * {@link KvCache#decode}) and attention spans what it returns.
     * Returns the final-norm hidden states {@code [B, T, D_lm]}.
     */
    public NDArray forward(NDArray x, long[][] positions, NDArray mask, KvCache cache) {
        int b = positions.length;
        int t = positions[0].length;
        long maxPosition = 0;
        float[] pos = new float[b * t];
        for (int r = 0; r < b; r++) {
            for (int j = 0; j < t; j++) {
                pos[r * t + j] = positions[r][j];
                maxPosition = Math.max(maxPosition, positions[r][j]);
            }
        }
        NDArray positionArray = x.getManager().create(pos, new ai.djl.ndarray.types.Shape(b, t));
        return forward(x, rotary(positionArray, maxPosition), mask, cache);
    }

    /** As {@link #forward(NDArray, long[][], NDArray, KvCache)} with the rotary cos and sin already made ({@link #rotary}). */
    public NDArray forward(NDArray x, NDArray[] cosSin, NDArray mask, KvCache cache) {
        if (cache != null && mask != null && fused && !JniUtils.isGradMode()) {
            IValue weights = kernelWeights();
            if (weights != null) {
                return DecoderKernel.forward(cfg, weights, x, cosSin, mask, cache);
            }
        }
        for (int i = 0; i < cfg.lmNBlocks; i++) {
            String b = "decoder.blocks." + i + ".";
            int block = i;
            // The attention's and the MLP's temporaries are freed as each returns: a block holds one of them at a time.
            x = Ops.freeingTemporaries(x, i > 0, in -> {
                NDArray h = in.add(Ops.freeingTemporaries(in, false, a -> attention(
                        Ops.rmsNorm(a, w.get(b + "norm1.weight"), cfg.lmRmsEps), b + "attn.", block, cosSin, mask, cache)));
                return h.add(Ops.freeingTemporaries(h, false,
                        a -> mlp(Ops.rmsNorm(a, w.get(b + "norm2.weight"), cfg.lmRmsEps), b + "mlp.")));
            });
        }
        return Ops.rmsNorm(x, w.get("decoder.norm.weight"), cfg.lmRmsEps);
    }

    /**
     * cos and sin {@code [B, 1, T, hd]} of the rotary angles of {@code positions [B, T]} (float32,
     * on the step's manager), with nanoVLM's linear scaling past the trained context, which the
     * largest position ({@code maxPosition}, known to the caller) decides.
     */
    public NDArray[] rotary(NDArray positions, long maxPosition) {
        NDArray freq = frequencies(maxPosition, positions.getManager());
        long b = positions.getShape().get(0);
        long t = positions.getShape().get(1);
        NDArray angles = positions.reshape(b, t, 1).mul(freq); // [B, T, hd/2]
        NDArray emb = NDArrays.concat(new NDList(angles, angles), 2).expandDims(1); // [B, 1, T, hd]
        return new NDArray[] {emb.cos().mul(cfg.lmAttnScaling), emb.sin().mul(cfg.lmAttnScaling)};
    }

    /**
     * The rotary frequencies for positions up to {@code maxPosition}: beyond the trained length they
     * are scaled down to it (a new array on {@code m}).
     */
    private NDArray frequencies(long maxPosition, NDManager m) {
        if (maxPosition + 1 <= cfg.lmMaxPositionEmbeddings) {
            return invFreqArray;
        }
        float scale = (float) (maxPosition + 1) / cfg.lmMaxPositionEmbeddings;
        float[] scaled = invFreq.clone();
        for (int i = 0; i < scaled.length; i++) {
            scaled[i] /= scale;
        }
        return m.create(scaled);
    }

    private static NDArray rotateHalf(NDArray x) {
        int last = x.getShape().dimension() - 1;
        NDList halves = x.split(2, last);
        return NDArrays.concat(new NDList(halves.get(1).neg(), halves.get(0)), last);
    }

    private static NDArray applyRotary(NDArray x, NDArray[] cosSin) {
        return x.mul(cosSin[0]).add(rotateHalf(x).mul(cosSin[1]));
    }

    private NDArray attention(NDArray x, String p, int block, NDArray[] cosSin, NDArray mask, KvCache cache) {
        long bsz = x.getShape().get(0);
        long t = x.getShape().get(1);
        int h = cfg.lmNHeads;
        int hkv = cfg.lmNKvHeads;
        int hd = cfg.lmHeadDim();
        NDArray qWeight = w.get(p + "q_proj.weight");
        NDArray q = Ops.linear(x, qWeight, null).reshape(bsz, t, h, hd).transpose(0, 2, 1, 3);
        NDArray k = Ops.linear(x, w.get(p + "k_proj.weight"), null).reshape(bsz, t, hkv, hd).transpose(0, 2, 1, 3);
        NDArray v = Ops.linear(x, w.get(p + "v_proj.weight"), null).reshape(bsz, t, hkv, hd).transpose(0, 2, 1, 3);
        q = applyRotary(q, cosSin); // [B, H, T, hd]
        k = applyRotary(k, cosSin); // [B, H_kv, T, hd]
        if (cache != null) {
            if (LowPrecision.isLow(qWeight)) { // the cache holds them rounded to the weights' type, as DecoderKernel writes them
                k = LowPrecision.rounded(k, LowPrecision.typeOf(qWeight));
                v = LowPrecision.rounded(v, LowPrecision.typeOf(qWeight));
            }
            NDArray[] kv = cache.attend(block, k, v);
            k = kv[0]; // [B, H_kv, T_kv, hd]
            v = kv[1];
        }
        if (LowPrecision.isLow(qWeight)) { // a BF16/F16 model: the fused kernel, as DecoderKernel runs it
            NDArray y = LowPrecision.attentionRepeatingKv(q, k, v, mask, 1.0 / Math.sqrt(hd), LowPrecision.typeOf(qWeight)) // [B, H, T, hd]
                    .transpose(0, 2, 1, 3)
                    .reshape(bsz, t, (long) h * hd);
            return Ops.linear(y, w.get(p + "out_proj.weight"), null);
        }
        if (h != hkv) {
            k = k.repeat(1, h / hkv); // [B, H, T_kv, hd], each kv head serves a group of query heads
            v = v.repeat(1, h / hkv);
        }
        NDArray scores = q.matMul(k.transpose(0, 1, 3, 2)); // [B, H, T, T_kv]
        NDArray y = Ops.attentionWeights(scores, 1.0 / Math.sqrt(hd), mask).matMul(v) // [B, H, T, hd]
                .transpose(0, 2, 1, 3)
                .reshape(bsz, t, (long) h * hd);
        return Ops.linear(y, w.get(p + "out_proj.weight"), null);
    }

    private NDArray mlp(NDArray x, String p) {
        if (LowPrecision.isLow(w.get(p + "gate_proj.weight"))) { // one call; the hidden activations stay BF16/F16
            return LowPrecision.mlpSwiGlu(x, w.get(p + "gate_proj.weight"), w.get(p + "up_proj.weight"),
                    w.get(p + "down_proj.weight"));
        }
        NDArray gate = Ops.silu(Ops.linear(x, w.get(p + "gate_proj.weight"), null));
        NDArray up = Ops.linear(x, w.get(p + "up_proj.weight"), null);
        return Ops.linear(gate.mul(up), w.get(p + "down_proj.weight"), null);
    }

    /** A causal mask {@code [1, 1, T, T]} with {@link #MASKED} above the diagonal. */
    public static NDArray causalMask(NDManager manager, int t) {
        float[] m = new float[t * t];
        for (int i = 0; i < t; i++) {
            for (int j = i + 1; j < t; j++) {
                m[i * t + j] = MASKED;
            }
        }
        return manager.create(m, new ai.djl.ndarray.types.Shape(1, 1, t, t)).toType(DataType.FLOAT32, false);
    }
}
