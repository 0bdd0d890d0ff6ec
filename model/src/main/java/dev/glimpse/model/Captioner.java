package dev.glimpse.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.Shape;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;

/**
 * Pixels to captions in one call, for the command line, evaluation and training checks; the Flink
 * job runs the same two halves (patch embedding, then generation) in separate operators.
 */
public final class Captioner {
    /**
     * A caption, the number of tokens generated for it, the number of views it was decoded from (with
     * an adaptive {@link ViewPlan}: 1, or the shifted views when the unmoved one left it unsure), and
     * its confidence ({@link CaptionGenerator.Result#confidence()}) from those views.
     */
    public record Caption(String text, int tokens, int views, double confidence) {}

    private final VisionLanguageModel model;
    private final CaptionGenerator generator;
    /** The chat template and {@code <image>} expansion of an Idefics3 (SmolVLM) model; null for the others. */
    private final Idefics3Prompt idefics3Prompt;

    public Captioner(VisionLanguageModel model) {
        this.model = model;
        this.generator = new CaptionGenerator(model);
        Idefics3Settings smol = model.config().idefics3;
        this.idefics3Prompt = smol == null ? null : new Idefics3Prompt(smol);
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
        return caption(pixels, ViewPlan.SINGLE, prompts, maxNewTokens);
    }

    /**
     * Captions a batch of images, each given as its preprocessed views ({@code [rows·3·S·S]}, as
     * {@link ImagePreprocessor#toViews} makes them), decoded as {@code plan} says.
     */
    public List<Caption> caption(List<float[]> pixels, ViewPlan plan, List<String> prompts, int[] maxNewTokens) {
        int views = plan.rows();
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
            return captionPatches(patches, plan, prompts, maxNewTokens);
        }
    }

    /**
     * As {@link #caption(List, ViewPlan, List, int[])}, the way the streaming job carries an image:
     * its patch embeddings made on their own (as its patch embedder does), rounded to F16 (as they
     * travel to the captioner), then captioned with the batch.
     */
    public List<Caption> captionThroughF16(List<float[]> pixels, ViewPlan plan, List<String> prompts, int[] maxNewTokens) {
        ModelConfig c = model.config();
        int one = plan.rows() * c.numPatches() * c.vitHiddenDim;
        float[] flat = new float[pixels.size() * one];
        for (int i = 0; i < pixels.size(); i++) {
            System.arraycopy(Float16.round(patchEmbed(pixels.get(i))), 0, flat, i * one, one);
        }
        try (NDScope ignored = new NDScope()) {
            NDArray patches = model.manager().create(flat, new Shape((long) pixels.size() * plan.rows(), c.numPatches(), c.vitHiddenDim));
            return captionPatches(patches, plan, prompts, maxNewTokens);
        }
    }

    /** Captions patch embeddings {@code [B, N, D_vit]}. */
    public List<Caption> captionPatches(NDArray patches, List<String> prompts, int[] maxNewTokens) {
        return captionPatches(patches, ViewPlan.SINGLE, prompts, maxNewTokens);
    }

    /**
     * Captions patch embeddings {@code [B·rows, N, D_vit]}, {@code plan.rows()} consecutive rows per
     * image: all rows of an image decoded together, or, with an adaptive plan, its first (unmoved)
     * row alone, then its other rows together for the images whose caption fell below the plan's
     * confidence.
     */
    public List<Caption> captionPatches(NDArray patches, ViewPlan plan, List<String> prompts, int[] maxNewTokens) {
        if (!plan.adaptive()) {
            return decode(patches, null, plan.rows(), prompts, maxNewTokens);
        }
        List<Caption> out = captionFirstView(patches, plan, prompts, maxNewTokens);
        int[] unsure = IntStream.range(0, out.size()).filter(i -> plan.unsure(out.get(i))).toArray();
        if (unsure.length == 0) {
            return out;
        }
        List<String> unsurePrompts = new ArrayList<>();
        int[] unsureCaps = new int[unsure.length];
        for (int j = 0; j < unsure.length; j++) {
            unsurePrompts.add(prompts.get(unsure[j]));
            unsureCaps[j] = maxNewTokens[unsure[j]];
        }
        List<Caption> again = decode(patches, rowsOf(unsure, plan.rows(), 1, plan.rows() - 1), plan.rows() - 1,
                unsurePrompts, unsureCaps);
        for (int j = 0; j < unsure.length; j++) {
            out.set(unsure[j], again.get(j));
        }
        return out;
    }

    /** An adaptive plan's first look: each image's first (unmoved) row alone. */
    public List<Caption> captionFirstView(NDArray patches, ViewPlan plan, List<String> prompts, int[] maxNewTokens) {
        int[] all = IntStream.range(0, prompts.size()).toArray();
        return decode(patches, rowsOf(all, plan.rows(), 0, 1), 1, prompts, maxNewTokens);
    }

    /** An adaptive plan's second look: each image's other (shifted) rows, decoded together. */
    public List<Caption> captionShiftedViews(NDArray patches, ViewPlan plan, List<String> prompts,
                                             int[] maxNewTokens) {
        int[] all = IntStream.range(0, prompts.size()).toArray();
        return decode(patches, rowsOf(all, plan.rows(), 1, plan.rows() - 1), plan.rows() - 1, prompts, maxNewTokens);
    }

    /** Rows {@code from .. from+count-1} of each of {@code images}, which have {@code rows} rows each. */
    private static long[] rowsOf(int[] images, int rows, int from, int count) {
        long[] keep = new long[images.length * count];
        for (int j = 0; j < images.length; j++) {
            for (int v = 0; v < count; v++) {
                keep[j * count + v] = (long) images[j] * rows + from + v;
            }
        }
        return keep;
    }

    /** Decodes the rows {@code keep} of {@code patches} (null: all), {@code views} consecutive rows per image. */
    private List<Caption> decode(NDArray patches, long[] keep, int views, List<String> prompts, int[] maxNewTokens) {
        CaptionTokenizer tok = model.tokenizer();
        List<long[]> ids = new ArrayList<>(prompts.size());
        for (String p : prompts) {
            ids.add(tok.encodePrompt(p));
        }
        NDArray chosen = keep == null ? patches : patches.get(patches.getManager().create(keep));
        return captions(generator.generate(chosen, views, ids, maxNewTokens, CaptionGenerator.Options.DEFAULT), views);
    }

    private List<Caption> captions(List<CaptionGenerator.Result> results, int views) {
        CaptionTokenizer tok = model.tokenizer();
        List<Caption> out = new ArrayList<>(results.size());
        for (CaptionGenerator.Result r : results) {
            out.add(new Caption(tok.decode(r.tokens()), r.tokens().length, views, r.confidence()));
        }
        return out;
    }

    /**
     * Idefics3 (SmolVLM): captions images given as their tiles (each {@code [tiles, 3, S, S]}, as
     * {@link Idefics3ImageProcessor} makes them), in one batched decoding; the patch embedding and
     * vision tower see one image, or a few tiles, at a time.
     */
    public List<Caption> captionTiles(List<Idefics3ImageProcessor.Tiles> images, List<String> prompts, int[] maxNewTokens) {
        int[][] grids = new int[images.size()][];
        List<FloatBuffer> patches = new ArrayList<>(images.size());
        for (int i = 0; i < images.size(); i++) {
            Idefics3ImageProcessor.Tiles t = images.get(i);
            patches.add(FloatBuffer.wrap(patchEmbed(t.pixels()))); // one image's pixels on the device at a time
            grids[i] = new int[] {t.rows(), t.cols()};
        }
        return captionTileBuffers(patches, grids, prompts, maxNewTokens);
    }

    /**
     * Idefics3 (SmolVLM): captions tiles' patch embeddings {@code [sum(tiles), N, D_vit]}, image i's
     * tiles making a grid of {@code grids[i] = {rows, cols}} ({@code {0, 0}}: the global image alone),
     * each with its prompt (null or blank: SmolVLM's captioning prompt) and cap.
     */
    public List<Caption> captionTilePatches(NDArray patches, int[][] grids, List<String> prompts, int[] maxNewTokens) {
        try (NDScope ignored = new NDScope()) {
            return captionImageTokens(model.imageTokensInChunks(patches), grids, prompts, maxNewTokens);
        }
    }

    /**
     * {@link #captionTilePatches} with each image's tiles' patch embeddings in a host buffer: the vision
     * tower sees a few tiles at a time ({@link VisionLanguageModel#imageTokensOfTiles}), never the
     * whole batch's patches.
     */
    public List<Caption> captionTileBuffers(List<FloatBuffer> patchesPerImage, int[][] grids, List<String> prompts,
                                      int[] maxNewTokens) {
        try (NDScope ignored = new NDScope()) {
            return captionImageTokens(model.imageTokensOfTiles(patchesPerImage), grids, prompts, maxNewTokens);
        }
    }

    private List<Caption> captionImageTokens(NDArray imageTokens, int[][] grids, List<String> prompts, int[] maxNewTokens) {
        int[] tiles = new int[grids.length];
        List<long[]> ids = promptIds(grids, prompts, tiles);
        return captions(generator.generateFromImageTokens(imageTokens, tiles, ids, maxNewTokens,
                CaptionGenerator.Options.DEFAULT), 1);
    }

    /** Each image's prompt through the chat template, its grid's {@code <image>} expansion in place; fills {@code tiles}. */
    private List<long[]> promptIds(int[][] grids, List<String> prompts, int[] tiles) {
        if (idefics3Prompt == null) {
            throw new IllegalStateException("model " + model.config().displayName() + " is not an Idefics3 model");
        }
        CaptionTokenizer tok = model.tokenizer();
        List<long[]> ids = new ArrayList<>(prompts.size());
        for (int i = 0; i < grids.length; i++) {
            String p = prompts.get(i);
            String text = p == null || p.isBlank() ? model.config().defaultPrompt : p;
            ids.add(tok.encodeAsProcessor(idefics3Prompt.text(new int[][] {grids[i]}, text)));
            tiles[i] = Idefics3ImageProcessor.tileCount(grids[i][0], grids[i][1]);
        }
        return ids;
    }

    public VisionLanguageModel model() {
        return model;
    }
}
