package dev.glimpse.model;

import dev.glimpse.model.training.ScenesModel;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;

/** Small models for tests of the code around the model, written to a folder like a real checkpoint. */
public final class TestModels {
    private TestModels() {}

    /** The built-in architecture at a tiny size with random weights (untrained: captions are noise). */
    public static ModelConfig tinyScenesConfig() {
        return ScenesModel.tinyConfig();
    }

    /**
     * What {@code model} captions the encoded {@code images} as, offline and in one batch: from its
     * test-time views, the model's own prompt, each to the model's longest caption. Tests of the jobs
     * compare their captions with it.
     */
    public static List<Captioner.Caption> captionOffline(VisionLanguageModel model, List<byte[]> images)
            throws ImageDecodeException {
        return captionOffline(model, images, false);
    }

    /**
     * As {@link #captionOffline}, each image's patch embeddings rounded to F16 as the streaming job
     * carries them from its patch embedder to its captioner: what the job must caption.
     */
    public static List<Captioner.Caption> captionAsTheJobCarriesThem(VisionLanguageModel model, List<byte[]> images)
            throws ImageDecodeException {
        return captionOffline(model, images, true);
    }

    private static List<Captioner.Caption> captionOffline(VisionLanguageModel model, List<byte[]> images,
                                                          boolean throughF16) throws ImageDecodeException {
        ImagePreprocessor pre = new ImagePreprocessor(model.config());
        List<float[]> pixels = new ArrayList<>();
        for (byte[] image : images) {
            pixels.add(pre.preprocessViews(image, ImagePreprocessor.Limits.DEFAULT));
        }
        int[] caps = new int[images.size()];
        Arrays.fill(caps, model.config().lmMaxLength);
        List<String> prompts = new ArrayList<>(Collections.nCopies(images.size(), null));
        Captioner captioner = new Captioner(model);
        return throughF16 ? captioner.captionThroughF16(pixels, pre.plan(), prompts, caps)
                : captioner.caption(pixels, pre.plan(), prompts, caps);
    }

    /** The files of a Qwen2-VL folder that Glimpse reads, as the tiny golden folder holds them. */
    public static final List<String> QWEN2VL_FILES = List.of("config.json", "model.safetensors", "tokenizer.json",
            "tokenizer_config.json", "preprocessor_config.json", "chat_template.json", "generation_config.json");
    /** The files of a SmolVLM folder that Glimpse reads, as the tiny golden folder holds them. */
    public static final List<String> SMOLVLM_FILES = List.of("config.json", "model.safetensors", "tokenizer.json",
            "tokenizer_config.json", "special_tokens_map.json", "preprocessor_config.json", "processor_config.json",
            "chat_template.json", "generation_config.json");

    /**
     * The files {@code names} of the golden folder {@code golden} (these test resources, {@code
     * /golden/<golden>/}) copied into {@code dir}, created: a folder as a user downloads it. Returns {@code dir}.
     */
    public static Path copyGolden(String golden, List<String> names, Path dir) {
        try {
            Files.createDirectories(dir);
            for (String name : names) {
                try (InputStream in = TestModels.class.getResourceAsStream("/golden/" + golden + "/" + name)) {
                    if (in == null) {
                        throw new IllegalStateException("no test resource /golden/" + golden + "/" + name);
                    }
                    Files.copy(in, dir.resolve(name));
                }
            }
            return dir;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static Path writeTinyScenesModel(Path dir) {
        try {
            return ScenesModel.writeRandom(dir, tinyScenesConfig(), 11);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
