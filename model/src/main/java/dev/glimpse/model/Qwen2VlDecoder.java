package dev.glimpse.model;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.jni.IValue;
import ai.djl.pytorch.jni.JniUtils;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Qwen2-VL's language model: a Qwen2 decoder (RMSNorm, q/k/v with biases, grouped-query attention,
 * SwiGLU MLP) whose rotary embedding is M-RoPE: the head's frequencies are cut into
 * {@code mrope_section} chunks (over both halves of the head), chunk i rotating with stream
 * {@code i % 3} (time, height, width) of the token's position.
 */
public final class Qwen2VlDecoder {
    private final Qwen2VlConfig cfg;
    private final Weights w;
    private final float[] invFreq;
    /** For each of the head's first {@code head_dim / 2} frequencies: the stream (0 t, 1 h, 2 w) it rotates with. */
    private final int[] streamOfFrequency;
    /**
     * Each layer's matrices as {@link DecoderKernel#product} multiplies them, once {@link #prepare}d
     * (F32 or BF16 on a CPU); null: op by op through {@link Ops#linear}.
     */
    private volatile Layer[] layers;
    /** {@link #layers} and the norms as {@link DecoderKernel#qwen} reads them; null with them. */
    private volatile IValue kernelWeights;
    private boolean prepared;
    private volatile boolean fused = true;

    /**
     * A layer's products: q|k|v joined (with their biases joined) and gate|up joined, held transposed
     * with out in F32; down as it is. {@code outJoined}: out is a tensor of the layout's own (F32), not
     * the model's.
     */
    private record Layer(NDArray qkv, NDArray qkvBias, NDArray out, NDArray gateUp, NDArray down, boolean outJoined) {}

    /**
     * Keys and values of every layer {@code [B, H_kv, T, hd]} (after rotary), grown by each forward.
     * {@link #keepRows} drops the rows of sequences that have finished.
     */
    public static final class Cache implements AutoCloseable {
        private final NDArray[] keys;
        private final NDArray[] values;
        private final NDManager owner;

        /** An empty cache whose arrays belong to {@code owner}. */
        public Cache(int layers, NDManager owner) {
            this.keys = new NDArray[layers];
            this.values = new NDArray[layers];
            this.owner = owner;
        }

        NDArray[] attend(int layer, NDArray k, NDArray v) {
            if (keys[layer] != null) {
                k = NDArrays.concat(new NDList(keys[layer], k), 2);
                v = NDArrays.concat(new NDList(values[layer], v), 2);
                keys[layer].close();
                values[layer].close();
            }
            // Kept past the forward's scope: the next step reads them.
            NDScope.unregister(k, v);
            k.attach(owner);
            v.attach(owner);
            keys[layer] = k;
            values[layer] = v;
            return new NDArray[] {k, v};
        }

        /** Each layer's keys, or none while the cache is empty. */
        NDArray[] keys() {
            return keys[0] == null ? new NDArray[0] : keys.clone();
        }

        /** Each layer's values, or none while the cache is empty. */
        NDArray[] values() {
            return values[0] == null ? new NDArray[0] : values.clone();
        }

        /** Holds {@code k} and {@code v} (each layer's, a forward's appended) in place of each layer's own. */
        void replaceAll(NDArray[] k, NDArray[] v) {
            for (int i = 0; i < keys.length; i++) {
                NDScope.unregister(k[i], v[i]); // kept past the forward's scope: the next step reads them
                k[i].attach(owner);
                v[i].attach(owner);
                if (keys[i] != null) {
                    keys[i].close();
                    values[i].close();
                }
                keys[i] = k[i];
                values[i] = v[i];
            }
        }

        /** Keeps the rows {@code rows} (int64 {@code [r]}) of every layer, in that order. */
        public void keepRows(NDArray rows) {
            for (int i = 0; i < keys.length; i++) {
                replace(i, keys[i].get(rows), values[i].get(rows));
            }
        }

        /**
         * This cache's rows then {@code other}'s (which is closed), the shorter left-padded with zero
         * columns, which the caller masks. Returns how many columns each side was padded with: {@code {this, other}}.
         */
        public long[] appendRows(Cache other) {
            long mine = length();
            long theirs = other.length();
            long longest = Math.max(mine, theirs);
            for (int i = 0; i < keys.length; i++) {
                NDArray k = NDArrays.concat(new NDList(leftPad(keys[i], longest - mine), leftPad(other.keys[i], longest - theirs)), 0);
                NDArray v = NDArrays.concat(new NDList(leftPad(values[i], longest - mine), leftPad(other.values[i], longest - theirs)), 0);
                replace(i, k, v);
            }
            other.close();
            return new long[] {longest - mine, longest - theirs};
        }

        /** Drops the first {@code columns} columns of every row (masked for all of them). */
        public void dropLeadingColumns(long columns) {
            if (columns <= 0) {
                return;
            }
            for (int i = 0; i < keys.length; i++) {
                replace(i, keys[i].get(new NDIndex(":, :, {}:", columns)), values[i].get(new NDIndex(":, :, {}:", columns)));
            }
        }

        private NDArray leftPad(NDArray a, long columns) {
            if (columns == 0) {
                return a;
            }
            Shape s = a.getShape();
            return NDArrays.concat(new NDList(a.getManager().zeros(new Shape(s.get(0), s.get(1), columns, s.get(3))), a), 2);
        }

        private void replace(int layer, NDArray k, NDArray v) {
            NDScope.unregister(k, v);
            k.attach(owner);
            v.attach(owner);
            keys[layer].close();
            values[layer].close();
            keys[layer] = k;
            values[layer] = v;
        }

        /** Columns (positions) held per row. */
        public long length() {
            return keys[0] == null ? 0 : keys[0].getShape().get(2);
        }

        @Override
        public void close() {
            for (int i = 0; i < keys.length; i++) {
                if (keys[i] != null) {
                    keys[i].close();
                    values[i].close();
                }
            }
        }
    }

    public Qwen2VlDecoder(Qwen2VlConfig cfg, Weights w) {
        this.cfg = cfg;
        this.w = w;
        int hd = cfg.headDim();
        this.invFreq = new float[hd / 2];
        for (int i = 0; i < invFreq.length; i++) {
            float exponent = (float) (2 * i) / hd;
            invFreq[i] = 1.0f / (float) Math.pow(cfg.ropeTheta(), exponent);
        }
        this.streamOfFrequency = new int[hd / 2];
        int j = 0;
        for (int s = 0; s < 3; s++) {
            for (int k = 0; k < cfg.mropeSection()[s]; k++) {
                streamOfFrequency[j++] = s;
            }
        }
    }

    /**
     * Lays the products' matrices out as {@link DecoderKernel} multiplies its own, before the first
     * forward outside training (a model that threads share calls it at load, as {@link
     * TextDecoder#prepareKernel}): each layer's q, k and v projections joined into one matrix, its
     * gate and up projections into another, the model's own tensors becoming views into them, so that
     * no weight is held twice ({@link DecoderKernel#joined}). In F32 these, the out projection and the
     * head are held transposed: one row multiplies each as two BLAS products side by side, where
     * {@code torch.linear} reads the weights at half the rate on this CPU, and a prefill's rows go
     * through oneDNN. BF16 matrices keep their {@code [N, K]} layout,
     * which oneDNN reads faster at a few rows a step and at a prefill's (docs/benchmarks.md, "Sixth
     * session"). The down projection stays as it is. A forward then runs as one {@link
     * DecoderKernel#qwen} call (op by op through {@link DecoderKernel#product} when every layer's
     * hidden states are asked for). A BF16 product's output is BF16, as {@link
     * LowPrecision}'s; the SwiGLU between gate|up and down is computed in F32 from those outputs and
     * rounded to BF16 as down reads it (one rounding where the op-by-op path rounds silu's and the
     * product's outputs too). F32 and BF16 matrices on a CPU only (F16 ones have no fast CPU kernel, a
     * GPU takes torch's products); nothing while the weights record gradients.
     */
    public synchronized void prepare() {
        if (prepared) {
            return;
        }
        NDArray first = w.get("model.layers.0.self_attn.q_proj.weight");
        if (w.all().values().stream().anyMatch(NDArray::hasGradient)) {
            return; // asked again next time
        }
        EngineDtype type = LowPrecision.typeOf(first);
        if (type != EngineDtype.FLOAT16 && first.getDevice().getDeviceType().equals(Device.Type.CPU)) {
            boolean f32 = type == EngineDtype.FLOAT32;
            Layer[] made = new Layer[cfg.layers()];
            for (int i = 0; i < made.length; i++) {
                String a = "model.layers." + i + ".self_attn.";
                String m = "model.layers." + i + ".mlp.";
                NDArray bias = NDArrays.concat(new NDList(w.get(a + "q_proj.bias"), w.get(a + "k_proj.bias"), w.get(a + "v_proj.bias")));
                NDScope.unregister(bias); // a weight: made during a forward, it must outlive its scope
                made[i] = new Layer(DecoderKernel.joined(w, f32, a + "q_proj.weight", a + "k_proj.weight", a + "v_proj.weight"), bias,
                        f32 ? DecoderKernel.joined(w, true, a + "o_proj.weight") : w.get(a + "o_proj.weight"),
                        DecoderKernel.joined(w, f32, m + "gate_proj.weight", m + "up_proj.weight"), w.get(m + "down_proj.weight"), f32);
            }
            if (f32) {
                DecoderKernel.transpose(w, headName());
            }
            List<NDArray> list = new ArrayList<>();
            for (int i = 0; i < made.length; i++) {
                String p = "model.layers." + i + ".";
                Layer l = made[i];
                list.addAll(List.of(w.get(p + "input_layernorm.weight"), l.qkv(), l.qkvBias(), l.out(),
                        w.get(p + "post_attention_layernorm.weight"), l.gateUp(), l.down()));
            }
            list.add(w.get("model.norm.weight"));
            IValue weights = DecoderKernel.qwenWeightList(list);
            // Freed with the weights' manager: the list holds the joined matrices, which closing the
            // model's tensors alone would leave alive.
            w.manager().attachInternal(kernelWeightsId(), weights);
            kernelWeights = weights;
            layers = made;
        }
        prepared = true;
    }

    /** Forgets {@link #prepare} (the matrices change type): the next forward prepares again. */
    synchronized void resetPrepared() {
        Layer[] l = layers;
        layers = null;
        prepared = false;
        if (kernelWeights != null) {
            w.manager().detachInternal(kernelWeightsId());
            kernelWeights.close();
            kernelWeights = null;
        }
        if (l != null) {
            for (Layer layer : l) {
                layer.qkv().close(); // the model's tensors, views into these, keep their memory
                layer.qkvBias().close();
                if (layer.outJoined()) {
                    layer.out().close();
                }
                layer.gateUp().close();
            }
        }
    }

    /** The kernel's weight list while prepared (for tests: it must be freed with the model). */
    IValue kernelWeights() {
        return kernelWeights;
    }

    private String kernelWeightsId() {
        return "qwen2vl-kernel-weights-" + System.identityHashCode(this);
    }

    private String headName() {
        return cfg.tieWordEmbeddings() ? Qwen2VlWeights.EMBED : Qwen2VlWeights.LM_HEAD;
    }

    /**
     * Whether the products run as {@link #prepare} lays them out (the default) rather than through
     * {@link Ops#linear} on the model's tensors; both compute the same products. For benchmarks and
     * tests that compare the two.
     */
    public void useKernel(boolean fused) {
        this.fused = fused;
    }

    /** The layers' products as {@link #prepare} laid them out, prepared now if not yet; null: op by op. */
    private Layer[] layers() {
        if (!fused || JniUtils.isGradMode()) {
            return null;
        }
        if (!prepared) {
            prepare();
        }
        return layers;
    }

    /** {@code [B, T] ids -> [B, T, D]}. */
    public NDArray embed(NDArray ids) {
        return Ops.embedding(ids, w.get(Qwen2VlWeights.EMBED));
    }

    /** {@code [.., D] -> [.., V]}. */
    public NDArray logits(NDArray hidden) {
        if (layers() != null) {
            return DecoderKernel.linear(hidden, w.get(headName())); // F32: the transposed view (prepare)
        }
        return Ops.linear(hidden, w.get(headName()), null);
    }

    /**
     * cos and sin {@code [B, 1, T, hd]} of M-RoPE for {@code positions[b][stream][t]}: for frequency j
     * the angle is {@code position[stream(j)] * inv_freq[j]}, the halves of the head alike.
     */
    public NDArray[] rotary(NDManager m, long[][][] positions) {
        int b = positions.length;
        int t = positions[0][0].length;
        int half = invFreq.length;
        float[] angles = new float[b * t * 2 * half];
        for (int r = 0; r < b; r++) {
            for (int i = 0; i < t; i++) {
                int at = (r * t + i) * 2 * half;
                for (int j = 0; j < half; j++) {
                    float a = (float) positions[r][streamOfFrequency[j]][i] * invFreq[j];
                    angles[at + j] = a;
                    angles[at + half + j] = a;
                }
            }
        }
        NDArray emb = m.create(angles, new Shape(b, 1, t, 2L * half));
        return new NDArray[] {emb.cos(), emb.sin()};
    }

    /**
     * The layers over {@code x [B, T, D]}; {@code mask} ({@code [B, 1, T, T_kv]}) is added to the
     * scores. With a cache, this forward's keys and values are appended and attention spans all of
     * them. {@code hiddenStates}, when given, receives transformers' {@code output_hidden_states}
     * (the input, each layer's output but the last, the final norm's output).
     *
     * @return the final-norm hidden states {@code [B, T, D]}
     */
    public NDArray forward(NDArray x, NDArray[] cosSin, NDArray mask, Cache cache, List<NDArray> hiddenStates) {
        if (hiddenStates != null) {
            hiddenStates.add(x);
        }
        Layer[] products = layers();
        IValue kernel = kernelWeights;
        if (products != null && kernel != null && hiddenStates == null) {
            return kernelForward(kernel, x, cosSin, mask, cache);
        }
        for (int i = 0; i < cfg.layers(); i++) {
            String p = "model.layers." + i + ".";
            int layer = i;
            x = Ops.freeingTemporaries(x, i > 0 && hiddenStates == null, in -> {
                Layer l = products != null ? products[layer] : null;
                NDArray h = in.add(attention(Ops.rmsNorm(in, w.get(p + "input_layernorm.weight"), cfg.rmsEps()),
                        p + "self_attn.", layer, l, cosSin, mask, cache));
                return h.add(mlp(Ops.rmsNorm(h, w.get(p + "post_attention_layernorm.weight"), cfg.rmsEps()), p + "mlp.", l));
            });
            if (hiddenStates != null && i < cfg.layers() - 1) {
                hiddenStates.add(x);
            }
        }
        NDArray out = Ops.rmsNorm(x, w.get("model.norm.weight"), cfg.rmsEps());
        if (hiddenStates != null) {
            hiddenStates.add(out);
        }
        return out;
    }

    /**
     * {@link #forward} as one {@link DecoderKernel#qwen} call: the laid-out layers' operations run
     * behind one native call, where from Java each operation is a native call of its own. The cache,
     * if any, then holds the keys and values the call returns.
     */
    private NDArray kernelForward(IValue kernel, NDArray x, NDArray[] cosSin, NDArray mask, Cache cache) {
        NDArray[] pastKeys = cache != null ? cache.keys() : new NDArray[0];
        NDArray[] pastValues = cache != null ? cache.values() : new NDArray[0];
        long t = x.getShape().get(1);
        long past = pastKeys.length > 0 ? pastKeys[0].getShape().get(2) : 0;
        NDArray m = mask != null ? mask : x.getManager().zeros(new Shape(1, 1, t, past + t));
        NDArray[] out = DecoderKernel.qwen(kernel, x, cosSin, m, pastKeys, pastValues, cfg.heads(), cfg.kvHeads(),
                cfg.rmsEps(), 1.0 / Math.sqrt(cfg.headDim()));
        int n = cfg.layers();
        NDArray[] keys = Arrays.copyOfRange(out, 1, 1 + n);
        NDArray[] values = Arrays.copyOfRange(out, 1 + n, 1 + 2 * n);
        if (cache != null) {
            cache.replaceAll(keys, values);
        } else {
            for (int i = 0; i < n; i++) {
                keys[i].close();
                values[i].close();
            }
        }
        return out[0];
    }

    private NDArray attention(NDArray x, String p, int layer, Layer l, NDArray[] cosSin, NDArray mask, Cache cache) {
        long b = x.getShape().get(0);
        long t = x.getShape().get(1);
        int h = cfg.heads();
        int hkv = cfg.kvHeads();
        int hd = cfg.headDim();
        NDArray q;
        NDArray k;
        NDArray v;
        if (l != null) { // one product for q, k and v
            NDArray qkv = DecoderKernel.product(x, l.qkv()).add(l.qkvBias());
            q = qkv.get(new NDIndex(":, :, :{}", (long) h * hd));
            k = qkv.get(new NDIndex(":, :, {}:{}", (long) h * hd, (long) (h + hkv) * hd));
            v = qkv.get(new NDIndex(":, :, {}:", (long) (h + hkv) * hd));
        } else {
            q = Ops.linear(x, w.get(p + "q_proj.weight"), w.get(p + "q_proj.bias"));
            k = Ops.linear(x, w.get(p + "k_proj.weight"), w.get(p + "k_proj.bias"));
            v = Ops.linear(x, w.get(p + "v_proj.weight"), w.get(p + "v_proj.bias"));
        }
        q = q.reshape(b, t, h, hd).transpose(0, 2, 1, 3);
        k = k.reshape(b, t, hkv, hd).transpose(0, 2, 1, 3);
        v = v.reshape(b, t, hkv, hd).transpose(0, 2, 1, 3);
        q = Qwen2VlVision.applyRotary(q, cosSin); // [B, H, T, hd]
        k = Qwen2VlVision.applyRotary(k, cosSin); // [B, H_kv, T, hd]
        if (cache != null) {
            NDArray[] kv = cache.attend(layer, k, v);
            k = kv[0]; // [B, H_kv, T_kv, hd]
            v = kv[1];
        }
        NDArray qWeight = w.get(p + "q_proj.weight");
        NDArray attended; // [B, H, T, hd]
        if (LowPrecision.isLow(qWeight)) { // a BF16/F16 model: the fused kernel, kv heads shared without copies
            attended = LowPrecision.attention(q, k, v, mask, 1.0 / Math.sqrt(hd), LowPrecision.typeOf(qWeight));
        } else {
            if (h != hkv) {
                k = k.repeat(1, h / hkv); // each kv head serves a group of query heads
                v = v.repeat(1, h / hkv);
            }
            NDArray scores = q.matMul(k.transpose(0, 1, 3, 2)); // [B, H, T, T_kv]
            attended = Ops.attentionWeights(scores, 1.0 / Math.sqrt(hd), mask).matMul(v);
        }
        NDArray y = attended.transpose(0, 2, 1, 3).reshape(b, t, (long) h * hd);
        return l != null ? DecoderKernel.product(y, l.out()) : Ops.linear(y, w.get(p + "o_proj.weight"), null);
    }

    private NDArray mlp(NDArray x, String p, Layer l) {
        if (l != null) { // gate and up from one product
            NDArray gu = DecoderKernel.product(x, l.gateUp());
            long inter = gu.getShape().get(gu.getShape().dimension() - 1) / 2;
            NDArray gate = Ops.silu(gu.get(new NDIndex("..., :{}", inter)));
            return DecoderKernel.product(gate.mul(gu.get(new NDIndex("..., {}:", inter))), l.down());
        }
        if (LowPrecision.isLow(w.get(p + "gate_proj.weight"))) { // one call; the hidden activations stay BF16/F16
            return LowPrecision.mlpSwiGlu(x, w.get(p + "gate_proj.weight"), w.get(p + "up_proj.weight"),
                    w.get(p + "down_proj.weight"));
        }
        NDArray gate = Ops.silu(Ops.linear(x, w.get(p + "gate_proj.weight"), null));
        NDArray up = Ops.linear(x, w.get(p + "up_proj.weight"), null);
        return Ops.linear(gate.mul(up), w.get(p + "down_proj.weight"), null);
    }
}
