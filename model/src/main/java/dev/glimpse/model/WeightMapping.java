package dev.glimpse.model;

import ai.djl.ndarray.NDArray;
import java.util.Map;

/**
 * How a checkpoint family names its tensors. A mapping turns the tensors of a file into this
 * implementation's names (nanoVLM's); {@link Weights#load} then checks every expected name and shape
 * and reports what is missing, mis-shaped or left over. A new family (SmolVLM's Idefics3 names, with
 * separate q/k/v to fuse) is a new mapping, a config reader and a preprocessor; the model code stays.
 */
public interface WeightMapping {
    /** Renames, combines or drops stored tensors, returning them under internal names. */
    Map<String, NDArray> toInternal(Map<String, NDArray> stored, ModelConfig cfg);

    static WeightMapping of(ModelConfig cfg) {
        return switch (cfg.format()) {
            // Glimpse's own checkpoints are written under nanoVLM's names.
            case GLIMPSE, NANOVLM -> NANOVLM;
            case IDEFICS3 -> Idefics3Weights.INSTANCE;
            // Qwen2-VL keeps its stored names (Qwen2VlWeights' table); VisionLanguageModel never loads it.
            case QWEN2VL -> throw new IllegalArgumentException("a Qwen2-VL checkpoint loads through Qwen2VlWeights");
        };
    }

    /** nanoVLM's names are ours; its tied head may be stored under either name, and RoPE's buffer is derived. */
    WeightMapping NANOVLM = (stored, cfg) -> {
        if (cfg.lmTieWeights) {
            NDArray head = stored.remove("decoder.head.weight");
            if (head != null) {
                stored.putIfAbsent("decoder.token_embedding.weight", head);
            }
        }
        stored.remove("decoder.rotary_embd.inv_freq");
        return stored;
    };
}
