package dev.glimpse.model;

import dev.glimpse.model.training.ScenesModel;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;

/** Small models for tests of the code around the model, written to a folder like a real checkpoint. */
public final class TestModels {
    private TestModels() {}

    /** The built-in architecture at a tiny size with random weights (untrained: captions are noise). */
    public static ModelConfig tinyScenesConfig() {
        ModelConfig c = ScenesModel.defaultConfig();
        c.modelName = "tiny-random";
        c.vitImgSize = 32;
        c.vitHiddenDim = 32;
        c.vitInterDim = 64;
        c.vitNBlocks = 1;
        c.mpHiddenDim = 64;
        c.lmHiddenDim = 32;
        c.lmInterDim = 64;
        c.lmNBlocks = 1;
        c.lmMaxLength = 6;
        return c;
    }

    public static Path writeTinyScenesModel(Path dir) {
        try {
            ModelConfig cfg = tinyScenesConfig();
            java.nio.file.Files.createDirectories(dir);
            ScenesModel.writeTokenizer(dir.resolve(VisionLanguageModel.TOKENIZER));
            try (VisionLanguageModel m = VisionLanguageModel.random(cfg,
                    CaptionTokenizer.load(dir.resolve(VisionLanguageModel.TOKENIZER), cfg), 11, null)) {
                m.save(dir);
            }
            return dir;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
