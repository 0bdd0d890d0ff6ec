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
        return ScenesModel.tinyConfig();
    }

    public static Path writeTinyScenesModel(Path dir) {
        try {
            return ScenesModel.writeRandom(dir, tinyScenesConfig(), 11);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
