package dev.glimpse.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.Shape;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The name table of an Idefics3 (SmolVLM) checkpoint, as transformers' {@code
 * Idefics3ForConditionalGeneration} stores it, onto this implementation's names: every stored tensor
 * is checked by its own name and shape before anything is renamed, so a missing or mis-shaped tensor
 * is reported under the name a user finds in the file. The vision tower's separate q/k/v
 * projections are fused into one {@code qkv_proj} (rows q, then k, then v), its position embedding
 * table {@code [N, D]} becomes {@code [1, N, D]}; the untied {@code lm_head} becomes the decoder's head.
 */
final class Idefics3Weights implements WeightMapping {
    static final Idefics3Weights INSTANCE = new Idefics3Weights();

    /** Stored tensors, each with its shape in the file, that make one internal tensor (several: concatenated on dim 0). */
    record Sources(List<String> names, List<Shape> shapes) {}

    private Idefics3Weights() {}

    /** Internal name to the stored tensors it is made of, for every tensor {@code cfg} needs. */
    static Map<String, Sources> table(ModelConfig cfg) {
        Map<String, Sources> t = new LinkedHashMap<>();
        int dv = cfg.vitHiddenDim;
        int p = cfg.vitPatchSize;
        String v = "model.vision_model.";
        one(t, "vision_encoder.patch_embedding.conv.weight", v + "embeddings.patch_embedding.weight", new Shape(dv, 3, p, p));
        one(t, "vision_encoder.patch_embedding.conv.bias", v + "embeddings.patch_embedding.bias", new Shape(dv));
        one(t, Weights.POSITION_EMBEDDING, v + "embeddings.position_embedding.weight", new Shape(cfg.numPatches(), dv));
        for (int i = 0; i < cfg.vitNBlocks; i++) {
            String in = "vision_encoder.blocks." + i + ".";
            String st = v + "encoder.layers." + i + ".";
            one(t, in + "ln1.weight", st + "layer_norm1.weight", new Shape(dv));
            one(t, in + "ln1.bias", st + "layer_norm1.bias", new Shape(dv));
            String a = st + "self_attn.";
            t.put(in + "attn.qkv_proj.weight", new Sources(
                    List.of(a + "q_proj.weight", a + "k_proj.weight", a + "v_proj.weight"),
                    List.of(new Shape(dv, dv), new Shape(dv, dv), new Shape(dv, dv))));
            t.put(in + "attn.qkv_proj.bias", new Sources(
                    List.of(a + "q_proj.bias", a + "k_proj.bias", a + "v_proj.bias"),
                    List.of(new Shape(dv), new Shape(dv), new Shape(dv))));
            one(t, in + "attn.out_proj.weight", a + "out_proj.weight", new Shape(dv, dv));
            one(t, in + "attn.out_proj.bias", a + "out_proj.bias", new Shape(dv));
            one(t, in + "ln2.weight", st + "layer_norm2.weight", new Shape(dv));
            one(t, in + "ln2.bias", st + "layer_norm2.bias", new Shape(dv));
            one(t, in + "mlp.fc1.weight", st + "mlp.fc1.weight", new Shape(cfg.vitInterDim, dv));
            one(t, in + "mlp.fc1.bias", st + "mlp.fc1.bias", new Shape(cfg.vitInterDim));
            one(t, in + "mlp.fc2.weight", st + "mlp.fc2.weight", new Shape(dv, cfg.vitInterDim));
            one(t, in + "mlp.fc2.bias", st + "mlp.fc2.bias", new Shape(dv));
        }
        one(t, "vision_encoder.layer_norm.weight", v + "post_layernorm.weight", new Shape(dv));
        one(t, "vision_encoder.layer_norm.bias", v + "post_layernorm.bias", new Shape(dv));

        int dl = cfg.lmHiddenDim;
        int shuffled = dv * cfg.mpPixelShuffleFactor * cfg.mpPixelShuffleFactor;
        one(t, "MP.proj.weight", "model.connector.modality_projection.proj.weight", new Shape(dl, shuffled));

        int kv = cfg.lmHeadDim() * cfg.lmNKvHeads;
        String m = "model.text_model.";
        one(t, "decoder.token_embedding.weight", m + "embed_tokens.weight", new Shape(cfg.lmVocabSize, dl));
        for (int i = 0; i < cfg.lmNBlocks; i++) {
            String in = "decoder.blocks." + i + ".";
            String st = m + "layers." + i + ".";
            one(t, in + "norm1.weight", st + "input_layernorm.weight", new Shape(dl));
            one(t, in + "attn.q_proj.weight", st + "self_attn.q_proj.weight", new Shape(dl, dl));
            one(t, in + "attn.k_proj.weight", st + "self_attn.k_proj.weight", new Shape(kv, dl));
            one(t, in + "attn.v_proj.weight", st + "self_attn.v_proj.weight", new Shape(kv, dl));
            one(t, in + "attn.out_proj.weight", st + "self_attn.o_proj.weight", new Shape(dl, dl));
            one(t, in + "norm2.weight", st + "post_attention_layernorm.weight", new Shape(dl));
            one(t, in + "mlp.gate_proj.weight", st + "mlp.gate_proj.weight", new Shape(cfg.lmInterDim, dl));
            one(t, in + "mlp.up_proj.weight", st + "mlp.up_proj.weight", new Shape(cfg.lmInterDim, dl));
            one(t, in + "mlp.down_proj.weight", st + "mlp.down_proj.weight", new Shape(dl, cfg.lmInterDim));
        }
        one(t, "decoder.norm.weight", m + "norm.weight", new Shape(dl));
        if (!cfg.lmTieWeights) {
            one(t, "decoder.head.weight", "lm_head.weight", new Shape(cfg.lmVocabSize, dl));
        }
        return t;
    }

    private static void one(Map<String, Sources> t, String internal, String stored, Shape shape) {
        t.put(internal, new Sources(List.of(stored), List.of(shape)));
    }

    @Override
    public Map<String, NDArray> toInternal(Map<String, NDArray> stored, ModelConfig cfg) {
        Map<String, Shape> internalShapes = Weights.expectedShapes(cfg);
        List<String> problems = new ArrayList<>();
        Map<String, NDArray> out = new LinkedHashMap<>();
        if (cfg.lmTieWeights) {
            // A tied head may still be written out; it is the embedding, so it is not read twice.
            stored.remove("lm_head.weight");
        }
        for (Map.Entry<String, Sources> e : table(cfg).entrySet()) {
            Sources src = e.getValue();
            NDList parts = new NDList();
            for (int i = 0; i < src.names().size(); i++) {
                String name = src.names().get(i);
                NDArray a = stored.remove(name);
                if (a == null) {
                    problems.add("missing tensor " + name + " " + src.shapes().get(i));
                } else if (!a.getShape().equals(src.shapes().get(i))) {
                    problems.add("tensor " + name + " has shape " + a.getShape() + ", expected " + src.shapes().get(i));
                } else {
                    parts.add(a);
                }
            }
            if (parts.size() == src.names().size()) {
                NDArray joined = parts.size() == 1 ? parts.get(0) : NDArrays.concat(parts, 0);
                out.put(e.getKey(), joined.reshape(internalShapes.get(e.getKey())));
            }
        }
        for (Map.Entry<String, NDArray> left : stored.entrySet()) {
            problems.add("unexpected tensor " + left.getKey() + " " + left.getValue().getShape());
        }
        if (!problems.isEmpty()) {
            throw new IllegalArgumentException("Idefics3 weights do not fit config (" + problems.size()
                    + " problem(s)): " + String.join("; ", problems));
        }
        return out;
    }
}
