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

    /**
     * {@code [k·3·S·S]} pixels of one image's k views (k = 1: the image itself) {@code -> [k·N·D_vit]}
     * patch embeddings.
     */
    public float[] patchEmbed(float[] pixels) {
        int s = model.config().vitImgSize;
        if (pixels.length == 0 || pixels.length % (3 * s * s) != 0) {
            throw new IllegalArgumentException(pixels.length + " pixel values are not a whole number of "
                    + s + " x " + s + " RGB views");
        }
        try (NDScope ignored = new NDScope()) {
            NDArray x = model.manager().create(pixels, new Shape(pixels.length / (3 * s * s), 3, s, s));
            return model.patchEmbedding().embed(x).toFloatArray();
        }
    }

    /** Captions a batch of preprocessed images ({@code [3·S·S]} each), each with its own prompt (null: default) and cap. */
    public List<Caption> caption(List<float[]> pixels, List<String> prompts, int[] maxNewTokens) {
        return caption(pixels, 1, prompts, maxNewTokens);
    }

    /**
     * Captions a batch of images, each given as its {@code views} preprocessed views ({@code
     * [views·3·S·S]}, as {@link ImagePreprocessor#toViews} makes them), decoded together
     * ({@link CaptionGenerator#generate(NDArray, int, List, int[], CaptionGenerator.Options)}).
     */
    public List<Caption> caption(List<float[]> pixels, int views, List<String> prompts, int[] maxNewTokens) {
        int s = model.config().vitImgSize;
        int b = pixels.size();
        int one = views * 3 * s * s;
        float[] flat = new float[b * one];
        for (int i = 0; i < b; i++) {
            if (pixels.get(i).length != one) {
                throw new IllegalArgumentException("image " + i + " has " + pixels.get(i).length
                        + " pixel values, " + views + " view(s) of " + s + " x " + s + " RGB need " + one);
            }
            System.arraycopy(pixels.get(i), 0, flat, i * one, one);
        }
        try (NDScope ignored = new NDScope()) {
            NDArray x = model.manager().create(flat, new Shape((long) b * views, 3, s, s));
            NDArray patches = model.patchEmbedding().embed(x);
            return captionPatches(patches, views, prompts, maxNewTokens);
        }
    }

    /** Captions patch embeddings {@code [B, N, D_vit]}. */
    public List<Caption> captionPatches(NDArray patches, List<String> prompts, int[] maxNewTokens) {
        return captionPatches(patches, 1, prompts, maxNewTokens);
    }

    /** Captions patch embeddings {@code [B·views, N, D_vit]}, {@code views} consecutive rows per image. */
    public List<Caption> captionPatches(NDArray patches, int views, List<String> prompts, int[] maxNewTokens) {
        CaptionTokenizer tok = model.tokenizer();
        List<long[]> ids = new ArrayList<>(prompts.size());
        for (String p : prompts) {
            ids.add(tok.encodePrompt(p));
        }
        List<CaptionGenerator.Result> results =
                generator.generate(patches, views, ids, maxNewTokens, CaptionGenerator.Options.DEFAULT);
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
