package dev.glimpse.model;

import ai.djl.Device;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * Qwen2-VL ({@code Qwen2VLForConditionalGeneration}): images at their own resolution through
 * {@link Qwen2VlImageProcessor} and {@link Qwen2VlVision}, their merged patches scattered into the
 * {@code <|image_pad|>} positions of the prompt ({@link Qwen2VlPrompt}), and {@link Qwen2VlDecoder}
 * with M-RoPE positions ({@link MRopePositions}). {@link #generate} decodes greedily rows whose images
 * and prompts differ in size in one batch: each row left-padded, its pad keys masked, its positions
 * its own, so a row's caption is the one it gets alone.
 */
public final class Qwen2VlModel implements AutoCloseable {
    /** One row's inputs: its images' patches and its prompt ids (image pads expanded). */
    public record Prepared(List<Qwen2VlImageProcessor.Patches> images, long[] ids) {
        int[][] grids() {
            return images.stream().map(p -> new int[] {p.gridT(), p.gridH(), p.gridW()}).toArray(int[][]::new);
        }
    }

    /**
     * A row's new tokens (without the stop token), the lowest probability among the tokens it picked,
     * and, when asked, the logits each was picked from.
     */
    public record Result(long[] tokens, double confidence, List<float[]> stepLogits) {}

    private final Qwen2VlConfig cfg;
    private final Weights weights;
    private final HuggingFaceTokenizer tokenizer;
    private final NDManager manager;
    private final Qwen2VlImageProcessor processor;
    private final Qwen2VlVision vision;
    private final Qwen2VlDecoder decoder;
    private final Qwen2VlPrompt prompt;
    private EngineDtype dtype = EngineDtype.FLOAT32;

    public Qwen2VlModel(Qwen2VlConfig cfg, Weights weights, HuggingFaceTokenizer tokenizer, NDManager manager) {
        this.cfg = cfg;
        this.weights = weights;
        this.tokenizer = tokenizer;
        this.manager = manager;
        this.processor = new Qwen2VlImageProcessor(cfg);
        this.vision = new Qwen2VlVision(cfg, weights);
        this.decoder = new Qwen2VlDecoder(cfg, weights);
        this.prompt = new Qwen2VlPrompt(cfg.chatTemplate());
    }

    public static Qwen2VlModel load(Path dir) {
        return load(dir, null, 0);
    }

    /**
     * Loads a Qwen2-VL folder onto {@code device} (null: the engine's default). {@code maxImageTokens}
     * above 0 caps the merged image tokens of one image ({@link Qwen2VlConfig#withMaxImageTokens}).
     */
    public static Qwen2VlModel load(Path dir, Device device, int maxImageTokens) {
        Qwen2VlConfig cfg = Qwen2VlConfig.read(dir);
        if (maxImageTokens > 0) {
            cfg = cfg.withMaxImageTokens(maxImageTokens);
        }
        List<Path> files = VisionLanguageModel.weightFiles(dir);
        HuggingFaceTokenizer tok = tokenizer(dir.resolve(VisionLanguageModel.TOKENIZER));
        NDManager manager = NDManager.newBaseManager(device);
        try {
            return new Qwen2VlModel(cfg, Qwen2VlWeights.load(manager, cfg, files), tok, manager);
        } catch (IOException e) {
            manager.close();
            tok.close();
            throw new UncheckedIOException("cannot read " + files + ": " + e.getMessage(), e);
        } catch (RuntimeException e) {
            manager.close();
            tok.close();
            throw e;
        }
    }

    /**
     * As {@link #load(Path, Device, int)}, its matrices in {@code dtype} ({@link EngineDtype#AUTO} decided
     * for {@code device}); norms and biases stay F32.
     */
    public static Qwen2VlModel load(Path dir, Device device, int maxImageTokens, EngineDtype dtype) {
        Qwen2VlModel m = load(dir, device, maxImageTokens);
        try {
            return m.castTo(dtype);
        } catch (RuntimeException e) {
            m.close();
            throw e;
        }
    }

    /**
     * Holds the matrices (the patch embedding's, attention's, the MLPs', the merger's, the embedding
     * table and the head) in {@code dtype} from now on ({@link EngineDtype#AUTO} decided for the model's
     * device), freeing their F32 copies; norms and biases stay F32, as do the activations between the
     * products, the KV cache and the logits. A model cast to BF16 or F16 stays so.
     */
    public Qwen2VlModel castTo(EngineDtype dtype) {
        EngineDtype concrete = EngineDtype.castTarget(this.dtype, dtype, manager.getDevice());
        if (concrete == null) {
            return this;
        }
        decoder.resetPrepared(); // its joined matrices hold the F32 values
        weights.castMatrices(concrete);
        this.dtype = concrete;
        return this;
    }

    /** The type the matrices are held and multiplied in. */
    public EngineDtype dtype() {
        return dtype;
    }

    /** Random weights of {@code cfg}'s shapes, without a tokenizer (benchmarks of a real shape: rows bring their ids). */
    public static Qwen2VlModel random(Qwen2VlConfig cfg, long seed, Device device) {
        NDManager manager = NDManager.newBaseManager(device);
        return new Qwen2VlModel(cfg, Qwen2VlWeights.random(manager, cfg, seed), null, manager);
    }

    static HuggingFaceTokenizer tokenizer(Path file) {
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException("Qwen2-VL folder " + file.getParent() + " has no " + file.getFileName());
        }
        try {
            return HuggingFaceTokenizer.newInstance(file, Map.of("addSpecialTokens", "false", "padding", "false",
                    "truncation", "false"));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read tokenizer " + file + ": " + e.getMessage(), e);
        }
    }

    /** A request's inputs: its images preprocessed and the chat prompt of {@code text} (null or blank: the default). */
    public Prepared prepare(List<RgbImage> images, String text) {
        return prepared(images.stream().map(processor::process).toList(), text);
    }

    /** As {@link #prepare(List, String)} for images already preprocessed. */
    public Prepared prepared(List<Qwen2VlImageProcessor.Patches> patches, String text) {
        int[] tokens = patches.stream().mapToInt(p -> p.mergedTokens(cfg.mergeSize())).toArray();
        String t = text == null || text.isBlank() ? Qwen2VlConfig.DEFAULT_PROMPT : text;
        return new Prepared(patches, encode(prompt.text(tokens, t)));
    }

    public Prepared prepare(RgbImage image, String text) {
        return prepare(List.of(image), text);
    }

    public long[] encode(String text) {
        return tokenizer().encode(text, false, false).getIds();
    }

    public String decode(long[] ids) {
        return tokenizer().decode(ids, true).trim();
    }

    /** False for {@link #random} models, whose rows bring their own ids. */
    public boolean hasTokenizer() {
        return tokenizer != null;
    }

    private HuggingFaceTokenizer tokenizer() {
        if (tokenizer == null) {
            throw new IllegalStateException("model " + cfg.modelName() + " has no " + VisionLanguageModel.TOKENIZER);
        }
        return tokenizer;
    }

    /** Captions of {@code rows}, greedy, at most {@code caps[i]} tokens each, in one batch. */
    public List<String> caption(List<Prepared> rows, int[] caps) {
        return generate(rows, caps, false).stream().map(r -> decode(r.tokens())).toList();
    }

    /**
     * The embeddings the decoder reads for {@code rows}, left-padded to the longest ({@code [B, L, D]}):
     * token embeddings with the k-th image pad of a row replaced by row k of its images' tokens.
     *
     * @param imageTokens {@code [sum of the rows' merged patches, D]}, row by row, image by image
     */
    public NDArray inputsEmbeds(NDManager m, List<Prepared> rows, NDArray imageTokens) {
        int b = rows.size();
        int longest = rows.stream().mapToInt(r -> r.ids().length).max().orElse(0);
        long[] ids = new long[b * longest];
        List<Long> imagePositions = new ArrayList<>();
        for (int r = 0; r < b; r++) {
            long[] own = rows.get(r).ids();
            int pad = longest - own.length;
            Arrays.fill(ids, r * longest, r * longest + pad, cfg.padTokenId());
            for (int t = 0; t < own.length; t++) {
                ids[r * longest + pad + t] = own[t];
                if (own[t] == cfg.imageTokenId()) {
                    imagePositions.add((long) r * longest + pad + t);
                }
            }
        }
        if (imagePositions.size() != imageTokens.getShape().get(0)) {
            throw new IllegalArgumentException("the prompts have " + imagePositions.size() + " image pads for "
                    + imageTokens.getShape().get(0) + " image tokens");
        }
        NDArray flat = decoder.embed(m.create(ids)); // [B·L, D]
        if (!imagePositions.isEmpty()) {
            if (dtype != EngineDtype.FLOAT32) {
                // LowPrecision's rows are torch inference tensors, which refuse the in-place update below.
                flat = flat.duplicate();
            }
            flat.set(new NDIndex("{}", m.create(imagePositions.stream().mapToLong(Long::longValue).toArray())), imageTokens);
        }
        return flat.reshape(b, longest, cfg.hiddenSize());
    }

    /** Each row's M-RoPE positions, left-padded (pads at position 1, masked anyway): {@code [B][3][L]}. */
    public long[][][] positions(List<Prepared> rows, List<MRopePositions> own) {
        int longest = rows.stream().mapToInt(r -> r.ids().length).max().orElse(0);
        long[][][] out = new long[rows.size()][3][longest];
        for (int r = 0; r < rows.size(); r++) {
            int pad = longest - rows.get(r).ids().length;
            for (int s = 0; s < 3; s++) {
                Arrays.fill(out[r][s], 0, pad, 1);
                System.arraycopy(own.get(r).ids()[s], 0, out[r][s], pad, rows.get(r).ids().length);
            }
        }
        return out;
    }

    /** The image tokens of every row's images, row by row: {@code [sum merged patches, D]}. */
    public NDArray imageTokens(NDManager m, List<Prepared> rows) {
        List<Qwen2VlImageProcessor.Patches> all = new ArrayList<>();
        rows.forEach(r -> all.addAll(r.images()));
        if (all.isEmpty()) {
            return m.zeros(new Shape(0, cfg.hiddenSize()));
        }
        int count = all.stream().mapToInt(Qwen2VlImageProcessor.Patches::count).sum();
        float[] values = new float[count * cfg.patchValues()];
        int at = 0;
        for (Qwen2VlImageProcessor.Patches p : all) {
            System.arraycopy(p.values(), 0, values, at, p.values().length);
            at += p.values().length;
        }
        int[][] grids = all.stream().map(p -> new int[] {p.gridT(), p.gridH(), p.gridW()}).toArray(int[][]::new);
        return vision.forward(m.create(values, new Shape(count, cfg.patchValues())), grids);
    }

    /**
     * Greedy decoding of {@code rows} in one batch ({@link Qwen2VlDecodingBatch}): one vision forward
     * over all images, one prefill of the left-padded prompts, then one decoder step per token with a
     * KV cache; a row that stops leaves the batch at once.
     */
    public List<Result> generate(List<Prepared> rows, int[] caps, boolean keepLogits) {
        return generate(rows, caps, keepLogits, true);
    }

    /** As {@link #generate(List, int[], boolean)}; {@code stopAtStopTokens} false: every row decodes to its cap. */
    public List<Result> generate(List<Prepared> rows, int[] caps, boolean keepLogits, boolean stopAtStopTokens) {
        Result[] out = new Result[rows.size()];
        try (Qwen2VlDecodingBatch<Integer> batch = new Qwen2VlDecodingBatch<>(this, keepLogits, stopAtStopTokens)) {
            batch.join(java.util.stream.IntStream.range(0, rows.size()).boxed().toList(), rows, caps);
            while (!batch.isEmpty()) {
                for (Qwen2VlDecodingBatch.Done<Integer> d : batch.step()) {
                    out[d.tag()] = d.result();
                }
            }
        }
        return Arrays.asList(out);
    }

    public Qwen2VlConfig config() { return cfg; }
    public Weights weights() { return weights; }
    public NDManager manager() { return manager; }
    public Qwen2VlImageProcessor processor() { return processor; }
    public Qwen2VlVision vision() { return vision; }
    public Qwen2VlDecoder decoder() { return decoder; }
    public Qwen2VlPrompt prompt() { return prompt; }

    @Override
    public void close() {
        if (tokenizer != null) {
            tokenizer.close();
        }
        manager.close();
    }
}
