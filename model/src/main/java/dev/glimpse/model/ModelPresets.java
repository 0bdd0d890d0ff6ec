package dev.glimpse.model;

/** The shapes of real checkpoints, for random weights where the checkpoint itself is not at hand (benchmarks). */
public final class ModelPresets {
    private ModelPresets() {}

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
