package dev.glimpse.model;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The unified-embedding-decoder VLM: patch embedding, vision transformer, projector, and a decoder
 * that reads [image tokens ; prompt tokens]. A checkpoint is a folder with {@code config.json},
 * {@code model.safetensors} and {@code tokenizer.json}; both Glimpse's own folders and nanoVLM's load.
 */
public final class VisionLanguageModel implements AutoCloseable {
    public static final String CONFIG = "config.json";
    public static final String WEIGHTS = "model.safetensors";
    public static final String TOKENIZER = "tokenizer.json";

    private final ModelConfig config;
    private final Weights weights;
    private final CaptionTokenizer tokenizer;
    private final NDManager manager;
    private final PatchEmbedding patchEmbedding;
    private final VisionEncoder visionEncoder;
    private final Projector projector;
    private final TextDecoder decoder;

    public VisionLanguageModel(ModelConfig config, Weights weights, CaptionTokenizer tokenizer, NDManager manager) {
        this.config = config;
        this.weights = weights;
        this.tokenizer = tokenizer;
        this.manager = manager;
        this.patchEmbedding = new PatchEmbedding(config, weights);
        this.visionEncoder = new VisionEncoder(config, weights);
        this.projector = new Projector(config, weights);
        this.decoder = new TextDecoder(config, weights);
    }

    /** Loads a checkpoint folder onto the engine's default device. */
    public static VisionLanguageModel load(Path dir) {
        return load(dir, null);
    }

    /** Loads a checkpoint folder onto {@code device} (null: the engine's default, a GPU when there is one). */
    public static VisionLanguageModel load(Path dir, Device device) {
        Path configFile = dir.resolve(CONFIG);
        Path weightsFile = dir.resolve(WEIGHTS);
        for (Path required : new Path[] {configFile, weightsFile}) {
            if (!Files.isRegularFile(required)) {
                throw new IllegalArgumentException("model folder " + dir + " has no " + required.getFileName());
            }
        }
        ModelConfig cfg = ModelConfig.read(configFile);
        Path tokenizerFile = dir.resolve(TOKENIZER);
        CaptionTokenizer tok = Files.isRegularFile(tokenizerFile) ? CaptionTokenizer.load(tokenizerFile, cfg) : null;
        NDManager manager = NDManager.newBaseManager(device);
        try {
            Weights w = Weights.load(manager, cfg, weightsFile);
            return new VisionLanguageModel(cfg, w, tok, manager);
        } catch (IOException e) {
            manager.close();
            throw new UncheckedIOException("cannot read " + weightsFile + ": " + e.getMessage(), e);
        } catch (RuntimeException e) {
            manager.close();
            throw e;
        }
    }

    /** A model with freshly initialised weights (training from scratch, tests). */
    public static VisionLanguageModel random(ModelConfig cfg, CaptionTokenizer tokenizer, long seed, Device device) {
        NDManager manager = NDManager.newBaseManager(device);
        return new VisionLanguageModel(cfg, Weights.random(manager, cfg, seed), tokenizer, manager);
    }

    /** Writes config.json, model.safetensors and (if the model has one) tokenizer.json to {@code dir}. */
    public void save(Path dir) throws IOException {
        Files.createDirectories(dir);
        config.write(dir.resolve(CONFIG));
        weights.save(dir.resolve(WEIGHTS));
        if (tokenizer != null) {
            tokenizer.save(dir.resolve(TOKENIZER));
        }
    }

    /** {@code [B, N, D_vit]} patch embeddings {@code -> [B, N/f², D_lm]} image tokens. */
    public NDArray imageTokens(NDArray patchEmbeddings) {
        return projector.forward(visionEncoder.forward(patchEmbeddings));
    }

    /**
     * Training forward: logits {@code [B, T, V]} for every text position of [image ; ids], where the
     * logits at text position t predict ids[t + 1]. Causal attention, no padding (right padding is
     * harmless under a causal mask when the loss ignores padded targets).
     */
    public NDArray textLogits(NDArray pixels, NDArray ids) {
        NDArray image = imageTokens(patchEmbedding.embed(pixels)); // [B, I, D_lm]
        NDArray seq = NDArrays.concat(new NDList(image, decoder.embed(ids)), 1); // [B, I + T, D_lm]
        int b = Math.toIntExact(seq.getShape().get(0));
        int t = Math.toIntExact(seq.getShape().get(1));
        long[][] positions = new long[b][t];
        for (long[] row : positions) {
            for (int j = 0; j < t; j++) {
                row[j] = j;
            }
        }
        NDArray hidden = decoder.forward(seq, positions, TextDecoder.causalMask(seq.getManager(), t), null);
        int img = config.imageTokens();
        return decoder.logits(hidden.get(new ai.djl.ndarray.index.NDIndex(":, " + img + ":, :"))); // [B, T, V]
    }

    public ModelConfig config() { return config; }
    public Weights weights() { return weights; }
    public NDManager manager() { return manager; }
    public PatchEmbedding patchEmbedding() { return patchEmbedding; }
    public VisionEncoder visionEncoder() { return visionEncoder; }
    public Projector projector() { return projector; }
    public TextDecoder decoder() { return decoder; }

    public CaptionTokenizer tokenizer() {
        if (tokenizer == null) {
            throw new IllegalStateException("model has no " + TOKENIZER);
        }
        return tokenizer;
    }

    @Override
    public void close() {
        if (tokenizer != null) {
            tokenizer.close();
        }
        manager.close();
    }
}
