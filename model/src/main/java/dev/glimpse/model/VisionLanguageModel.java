package dev.glimpse.model;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * The unified-embedding-decoder VLM: patch embedding, vision transformer, projector, and a decoder
 * that reads [image tokens ; prompt tokens]. A checkpoint is a folder with {@code config.json},
 * {@code model.safetensors} and {@code tokenizer.json}; both Glimpse's own folders and nanoVLM's load.
 */
public final class VisionLanguageModel implements AutoCloseable {
    public static final String CONFIG = "config.json";
    public static final String WEIGHTS = "model.safetensors";
    public static final String WEIGHTS_INDEX = "model.safetensors.index.json";
    /** Most tiles the vision tower runs on at once in {@link #imageTokensInChunks}. */
    public static final int VISION_CHUNK = 4;
    public static final String TOKENIZER = "tokenizer.json";

    private final ModelConfig config;
    private final Weights weights;
    private final CaptionTokenizer tokenizer;
    private final NDManager manager;
    private final PatchEmbedding patchEmbedding;
    private final VisionEncoder visionEncoder;
    private final Projector projector;
    private final TextDecoder decoder;
    /** {@link #imageTokensOfTiles}'s host buffer of one chunk's patches, made at its first call. */
    private ByteBuffer chunkBuffer;
    /** The type the matrices are held and multiplied in ({@link #castTo}); F32 as loaded. */
    private EngineDtype dtype = EngineDtype.FLOAT32;

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
        if (!Files.isRegularFile(configFile)) {
            throw new IllegalArgumentException("model folder " + dir + " has no " + CONFIG);
        }
        ModelConfig cfg = ModelConfig.read(configFile); // first: a folder of another family is named as such
        if (cfg.format() == ModelConfig.Format.QWEN2VL) {
            throw new IllegalArgumentException("model folder " + dir + " is Qwen2-VL (model_type "
                    + Qwen2VlConfig.MODEL_TYPE + "), which Qwen2VlModel.load reads");
        }
        List<Path> weightFiles = weightFiles(dir);
        Path tokenizerFile = dir.resolve(TOKENIZER);
        CaptionTokenizer tok = Files.isRegularFile(tokenizerFile) ? CaptionTokenizer.load(tokenizerFile, cfg) : null;
        NDManager manager = NDManager.newBaseManager(device);
        try {
            Weights w = Weights.load(manager, cfg, weightFiles);
            return new VisionLanguageModel(cfg, w, tok, manager);
        } catch (IOException e) {
            manager.close();
            throw new UncheckedIOException("cannot read " + weightFiles + ": " + e.getMessage(), e);
        } catch (RuntimeException e) {
            manager.close();
            throw e;
        }
    }

    /**
     * Loads a checkpoint folder onto {@code device} with its matrices in {@code dtype} ({@link EngineDtype#AUTO}
     * decided for that device).
     */
    public static VisionLanguageModel load(Path dir, Device device, EngineDtype dtype) {
        VisionLanguageModel m = load(dir, device);
        try {
            return m.castTo(dtype);
        } catch (RuntimeException e) {
            m.close();
            throw e;
        }
    }

    /**
     * Holds the matrices in {@code dtype} from now on ({@link EngineDtype#AUTO} decided for the
     * model's device), freeing their F32 copies: a model cast to BF16 or F16 stays so.
     */
    public VisionLanguageModel castTo(EngineDtype dtype) {
        EngineDtype concrete = EngineDtype.castTarget(this.dtype, dtype, manager.getDevice());
        if (concrete == null) {
            return this;
        }
        decoder.resetKernel(); // its joined tensors hold the F32 values
        weights.castMatrices(concrete);
        visionEncoder.resetPrepared(); // prepared again for the matrices' new type
        this.dtype = concrete;
        return this;
    }

    /** The type the matrices are held and multiplied in. */
    public EngineDtype dtype() {
        return dtype;
    }

    /**
     * {@code model.safetensors}, or the shards that {@code model.safetensors.index.json} names (its
     * {@code weight_map}), each once, in the order they first appear.
     */
    public static List<Path> weightFiles(Path dir) {
        Path single = dir.resolve(WEIGHTS);
        if (Files.isRegularFile(single)) {
            return List.of(single);
        }
        Path index = dir.resolve(WEIGHTS_INDEX);
        if (!Files.isRegularFile(index)) {
            throw new IllegalArgumentException("model folder " + dir + " has no " + WEIGHTS + " (nor " + WEIGHTS_INDEX + ")");
        }
        Set<String> shards = new LinkedHashSet<>();
        try {
            JsonNode map = new ObjectMapper().readTree(index.toFile()).path("weight_map");
            map.fields().forEachRemaining(e -> shards.add(e.getValue().asText()));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + index + ": " + e.getMessage(), e);
        }
        if (shards.isEmpty()) {
            throw new IllegalArgumentException(index + " has an empty weight_map");
        }
        List<Path> files = new ArrayList<>();
        for (String shard : shards) {
            Path p = dir.resolve(shard).normalize();
            if (!p.startsWith(dir.normalize()) || !Files.isRegularFile(p)) {
                throw new IllegalArgumentException(index + " names shard " + shard + ", which is not a file in " + dir);
            }
            files.add(p);
        }
        return files;
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
     * {@link #imageTokens} over {@code [T, N, D_vit]} tiles, {@link #VISION_CHUNK} at a time, each
     * chunk's temporaries freed before the next: a batch of SmolVLM images has up to 17 tiles each,
     * and the attention scores of all at once ({@code T x heads x N x N} floats, 50 MB per SmolVLM
     * tile and layer) would not fit in memory.
     */
    public NDArray imageTokensInChunks(NDArray patchEmbeddings) {
        long tiles = patchEmbeddings.getShape().get(0);
        if (tiles <= VISION_CHUNK) {
            return imageTokens(patchEmbeddings);
        }
        NDList parts = new NDList();
        try {
            for (long from = 0; from < tiles; from += VISION_CHUNK) {
                try (NDScope chunk = new NDScope()) {
                    NDArray part = imageTokens(patchEmbeddings.get(new NDIndex(from + ":" + Math.min(tiles, from + VISION_CHUNK))));
                    NDScope.unregister(part);
                    parts.add(part);
                }
            }
            return NDArrays.concat(parts, 0); // [T, I, D_lm]
        } finally {
            parts.close();
        }
    }

    /**
     * {@link #imageTokensInChunks} of tiles whose patch embeddings are in host memory, one buffer per
     * image ({@code remaining()}: its tiles times {@code N x D_vit} floats, left unread), in order:
     * only {@link #VISION_CHUNK} tiles' patches are on the device at a time. With image splitting a
     * SmolVLM image has up to 17 tiles of 3 MB each, so a batch of 32 images would hold 1.3 GB of
     * patch embeddings (and a host copy of them) at once; this holds 13 MB, and the image tokens it
     * returns are 12x smaller than the patches.
     *
     * @return {@code [sum(tiles), I, D_lm]}
     */
    public synchronized NDArray imageTokensOfTiles(List<FloatBuffer> images) {
        int perTile = config.numPatches() * config.vitHiddenDim;
        if (images.isEmpty()) {
            throw new IllegalArgumentException("no images");
        }
        long total = 0;
        for (int i = 0; i < images.size(); i++) {
            int n = images.get(i).remaining();
            if (n == 0 || n % perTile != 0) {
                throw new IllegalArgumentException("image " + i + " has " + n + " patch values, not a whole number of "
                        + config.numPatches() + " x " + config.vitHiddenDim + " tiles");
            }
            total += n / perTile;
        }
        // One direct buffer for every chunk of every call: on the CPU a tensor made from host data is
        // that buffer (no copy), and a fresh one (as create(float[]) makes) lives until the next garbage
        // collection, which a run that allocates little on the heap may not see for many batches. Each
        // chunk's tensor is closed before the buffer is refilled; the method is synchronized for it.
        if (chunkBuffer == null) {
            chunkBuffer = ByteBuffer.allocateDirect(VISION_CHUNK * perTile * Float.BYTES).order(ByteOrder.nativeOrder());
        }
        ByteBuffer chunk = chunkBuffer;
        NDList parts = new NDList();
        try {
            int image = 0;
            FloatBuffer current = images.get(0).duplicate();
            for (long from = 0; from < total; from += VISION_CHUNK) {
                int tiles = (int) Math.min(VISION_CHUNK, total - from);
                FloatBuffer into = chunk.clear().asFloatBuffer();
                for (int t = 0; t < tiles; t++) {
                    while (!current.hasRemaining()) {
                        current = images.get(++image).duplicate();
                    }
                    FloatBuffer tile = current.slice();
                    tile.limit(perTile);
                    into.put(tile);
                    current.position(current.position() + perTile);
                }
                try (NDScope scope = new NDScope()) {
                    NDArray patches = manager.create(chunk.clear().limit(tiles * perTile * Float.BYTES), new Shape(tiles, config.numPatches(), config.vitHiddenDim),
                            DataType.FLOAT32);
                    NDArray part = imageTokens(patches);
                    NDScope.unregister(part);
                    parts.add(part);
                }
            }
            return parts.size() == 1 ? parts.remove(0) : NDArrays.concat(parts, 0);
        } finally {
            parts.close();
        }
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
