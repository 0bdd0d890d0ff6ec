package dev.glimpse.model;

/** The shapes of real checkpoints, for random weights where the checkpoint itself is not at hand (benchmarks). */
public final class ModelPresets {
    private ModelPresets() {}

    /**
     * Qwen/Qwen2-VL-2B-Instruct's shape (config.json, preprocessor_config.json), for random weights:
     * a 32-block ViT of width 1280, a 28-layer Qwen2 decoder of width 1536 (12 heads, 2 KV heads,
     * head 128, M-RoPE sections 16/24/24), the head tied to the 151,936-row embedding. Without a
     * tokenizer; no stop token, so every row decodes to its cap.
     */
    public static Qwen2VlConfig qwen2Vl2b() {
        return new Qwen2VlConfig(32, 1280, 16, 5120, 14, 2, 2,
                1536, 8960, 12, 2, 28, 151936, 1e-6, 1_000_000.0, new int[] {16, 24, 24}, true,
                151655, 151652, 151653, new long[0], 151643,
                3136, 12845056, Qwen2VlConfig.CLIP_MEAN.clone(), Qwen2VlConfig.CLIP_STD.clone(), 1 / 255.0,
                PillowResampler.Filter.BICUBIC.pillowNumber, "", "qwen2vl-2b (random weights)");
    }

    /** HuggingFaceTB/SmolVLM-256M-Instruct's shape (config.json, preprocessor_config.json), for random weights. */
    public static ModelConfig smolVlm256m() {
        ModelConfig c = new ModelConfig();
        c.vitHiddenDim = 768;
        c.vitInterDim = 3072;
        c.vitPatchSize = 16;
        c.vitImgSize = 512;
        c.vitNHeads = 12;
        c.vitNBlocks = 12;
        c.lmHiddenDim = 576;
        c.lmInterDim = 1536;
        c.lmNHeads = 9;
        c.lmNKvHeads = 3;
        c.lmNBlocks = 30;
        c.lmVocabSize = 49280;
        c.lmReBase = 100000;
        c.lmMaxPositionEmbeddings = 8192;
        c.lmTieWeights = false;
        c.mpPixelShuffleFactor = 4;
        c.lmEosTokenId = 49279;
        c.lmPadTokenId = 2;
        c.modelName = "smolvlm-256m (random weights)";
        float[] half = {0.5f, 0.5f, 0.5f};
        c.idefics3 = new Idefics3Settings(49190, 64, true, 4 * 512, 512, true, PillowResampler.LANCZOS,
                true, 1 / 255.0, true, half, half, "");
        return c.validated("preset smolvlm-256m");
    }
}
