package dev.glimpse.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.Shape;
import java.util.ArrayList;
import java.util.List;

/**
 * Pixels to captions in one call, for the command line, evaluation and training checks; the Flink
 * job runs the same two halves (patch embedding, then generation) in separate operators.
 */
public final class Captioner {
    /** A caption and the number of tokens generated for it. */
    public record Caption(String text, int tokens) {}

    private final VisionLanguageModel model;
    private final CaptionGenerator generator;

    public Captioner(VisionLanguageModel model) {
        this.model = model;
        this.generator = new CaptionGenerator(model);
    }

    /** {@code [3·S·S]} pixels of one image {@code -> [N·D_vit]} patch embeddings. */
    public float[] patchEmbed(float[] pixels) {
        int s = model.config().vitImgSize;
        try (NDScope ignored = new NDScope()) {
            NDArray x = model.manager().create(pixels, new Shape(1, 3, s, s));
            return model.patchEmbedding().embed(x).toFloatArray();
        }
    }

    /** Captions a batch of preprocessed images, each with its own prompt (null: default) and cap. */
    public List<Caption> caption(List<float[]> pixels, List<String> prompts, int[] maxNewTokens) {
        int s = model.config().vitImgSize;
        int b = pixels.size();
        float[] flat = new float[b * 3 * s * s];
        for (int i = 0; i < b; i++) {
            System.arraycopy(pixels.get(i), 0, flat, i * 3 * s * s, 3 * s * s);
        }
        try (NDScope ignored = new NDScope()) {
            NDArray x = model.manager().create(flat, new Shape(b, 3, s, s));
            NDArray patches = model.patchEmbedding().embed(x);
            return captionPatches(patches, prompts, maxNewTokens);
        }
    }

    /** Captions patch embeddings {@code [B, N, D_vit]}. */
    public List<Caption> captionPatches(NDArray patches, List<String> prompts, int[] maxNewTokens) {
        CaptionTokenizer tok = model.tokenizer();
        List<long[]> ids = new ArrayList<>(prompts.size());
        for (String p : prompts) {
            ids.add(tok.encodePrompt(p));
        }
        List<CaptionGenerator.Result> results =
                generator.generate(patches, ids, maxNewTokens, CaptionGenerator.Options.DEFAULT);
        List<Caption> out = new ArrayList<>(results.size());
        for (CaptionGenerator.Result r : results) {
            out.add(new Caption(tok.decode(r.tokens()), r.tokens().length));
        }
        return out;
    }

    public VisionLanguageModel model() {
        return model;
    }
}
