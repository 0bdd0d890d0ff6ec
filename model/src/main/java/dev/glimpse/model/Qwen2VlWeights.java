package dev.glimpse.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The name table of a Qwen2-VL checkpoint as {@code Qwen2VLForConditionalGeneration} stores it: every
 * tensor the config needs, by its stored name, with its shape. The layers read the tensors by these
 * same names, so a missing or mis-shaped tensor is reported as a user finds it in the file. F16 and
 * BF16 are widened to F32 while the bytes are read ({@link Safetensors}; {@link Qwen2VlModel#castTo}
 * holds the matrices in BF16 or F16 again); a tied head is the embedding (a stored {@code
 * lm_head.weight} is then ignored).
 */
public final class Qwen2VlWeights {
    public static final String EMBED = "model.embed_tokens.weight";
    public static final String LM_HEAD = "lm_head.weight";

    private Qwen2VlWeights() {}

    /** Stored name to shape, for every tensor {@code cfg} needs, in a stable order. */
    public static Map<String, Shape> table(Qwen2VlConfig cfg) {
        Map<String, Shape> t = new LinkedHashMap<>();
        int e = cfg.visionEmbedDim();
        int p = cfg.patchSize();
        t.put("visual.patch_embed.proj.weight", new Shape(e, 3, cfg.temporalPatchSize(), p, p));
        for (int i = 0; i < cfg.visionDepth(); i++) {
            String b = "visual.blocks." + i + ".";
            t.put(b + "norm1.weight", new Shape(e));
            t.put(b + "norm1.bias", new Shape(e));
            t.put(b + "attn.qkv.weight", new Shape(3L * e, e));
            t.put(b + "attn.qkv.bias", new Shape(3L * e));
            t.put(b + "attn.proj.weight", new Shape(e, e));
            t.put(b + "attn.proj.bias", new Shape(e));
            t.put(b + "norm2.weight", new Shape(e));
            t.put(b + "norm2.bias", new Shape(e));
            t.put(b + "mlp.fc1.weight", new Shape(cfg.visionMlpDim(), e));
            t.put(b + "mlp.fc1.bias", new Shape(cfg.visionMlpDim()));
            t.put(b + "mlp.fc2.weight", new Shape(e, cfg.visionMlpDim()));
            t.put(b + "mlp.fc2.bias", new Shape(e));
        }
        int merged = e * cfg.mergeSize() * cfg.mergeSize();
        t.put("visual.merger.ln_q.weight", new Shape(e));
        t.put("visual.merger.ln_q.bias", new Shape(e));
        t.put("visual.merger.mlp.0.weight", new Shape(merged, merged));
        t.put("visual.merger.mlp.0.bias", new Shape(merged));
        t.put("visual.merger.mlp.2.weight", new Shape(cfg.hiddenSize(), merged));
        t.put("visual.merger.mlp.2.bias", new Shape(cfg.hiddenSize()));

        int d = cfg.hiddenSize();
        int kv = cfg.kvHeads() * cfg.headDim();
        int inter = cfg.intermediateSize();
        t.put(EMBED, new Shape(cfg.vocabSize(), d));
        for (int i = 0; i < cfg.layers(); i++) {
            String b = "model.layers." + i + ".";
            t.put(b + "input_layernorm.weight", new Shape(d));
            t.put(b + "self_attn.q_proj.weight", new Shape(d, d));
            t.put(b + "self_attn.q_proj.bias", new Shape(d));
            t.put(b + "self_attn.k_proj.weight", new Shape(kv, d));
            t.put(b + "self_attn.k_proj.bias", new Shape(kv));
            t.put(b + "self_attn.v_proj.weight", new Shape(kv, d));
            t.put(b + "self_attn.v_proj.bias", new Shape(kv));
            t.put(b + "self_attn.o_proj.weight", new Shape(d, d));
            t.put(b + "post_attention_layernorm.weight", new Shape(d));
            t.put(b + "mlp.gate_proj.weight", new Shape(inter, d));
            t.put(b + "mlp.up_proj.weight", new Shape(inter, d));
            t.put(b + "mlp.down_proj.weight", new Shape(d, inter));
        }
        t.put("model.norm.weight", new Shape(d));
        if (!cfg.tieWordEmbeddings()) {
            t.put(LM_HEAD, new Shape(cfg.vocabSize(), d));
        }
        return t;
    }

    /** Reads the checkpoint's files (one, or the shards) and checks every name and shape against {@link #table}. */
    public static Weights load(NDManager manager, Qwen2VlConfig cfg, List<Path> files) throws IOException {
        NDManager own = manager.newSubManager();
        try {
            Map<String, NDArray> stored = new LinkedHashMap<>();
            for (Path shard : files) {
                for (Map.Entry<String, NDArray> e : Safetensors.read(own, shard).entrySet()) {
                    if (stored.put(e.getKey(), e.getValue()) != null) {
                        throw new IllegalArgumentException("tensor " + e.getKey() + " is stored twice (again in " + shard + ")");
                    }
                }
            }
            if (cfg.tieWordEmbeddings()) {
                NDArray head = stored.remove(LM_HEAD);
                if (head != null) {
                    head.close();
                }
            }
            return new Weights(own, check(stored, cfg, files.size() == 1 ? files.get(0) : files.get(0).getParent()));
        } catch (IOException | RuntimeException e) {
            own.close();
            throw e;
        }
    }

    /** Random weights of {@code cfg}'s shapes (the bench's real 2B shape): normal std 0.02, norms 1, biases 0. */
    public static Weights random(NDManager manager, Qwen2VlConfig cfg, long seed) {
        NDManager own = manager.newSubManager();
        Map<String, NDArray> tensors = new LinkedHashMap<>();
        own.getEngine().setRandomSeed((int) seed);
        for (Map.Entry<String, Shape> e : table(cfg).entrySet()) {
            String name = e.getKey();
            NDArray a;
            if (name.contains("norm") || name.contains("ln_q")) {
                a = name.endsWith(".bias") ? own.zeros(e.getValue()) : own.ones(e.getValue());
            } else if (name.endsWith(".bias")) {
                a = own.zeros(e.getValue());
            } else {
                a = own.randomNormal(0, 0.02f, e.getValue(), DataType.FLOAT32);
            }
            a.setName(name);
            tensors.put(name, a);
        }
        return new Weights(own, tensors);
    }

    private static Map<String, NDArray> check(Map<String, NDArray> stored, Qwen2VlConfig cfg, Path where) {
        List<String> problems = new ArrayList<>();
        Map<String, NDArray> out = new LinkedHashMap<>();
        for (Map.Entry<String, Shape> e : table(cfg).entrySet()) {
            NDArray a = stored.remove(e.getKey());
            if (a == null) {
                problems.add("missing tensor " + e.getKey() + " " + e.getValue());
            } else if (!a.getShape().equals(e.getValue())) {
                problems.add("tensor " + e.getKey() + " has shape " + a.getShape() + ", expected " + e.getValue());
            } else if (a.getDataType() != DataType.FLOAT32) {
                problems.add("tensor " + e.getKey() + " holds integers (" + a.getDataType() + "), expected floats");
            } else {
                out.put(e.getKey(), a);
            }
        }
        for (Map.Entry<String, NDArray> left : stored.entrySet()) {
            problems.add("unexpected tensor " + left.getKey() + " " + left.getValue().getShape());
        }
        if (!problems.isEmpty()) {
            throw new IllegalArgumentException("Qwen2-VL weights " + where + " do not fit config.json ("
                    + problems.size() + " problem(s)): " + String.join("; ", problems));
        }
        return out;
    }
}
