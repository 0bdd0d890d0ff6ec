package dev.glimpse.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A model's tensors by name. The names are nanoVLM's parameter names, so one table serves the
 * built-in checkpoints and nanoVLM's; {@link #expectedShapes} lists every tensor a config needs.
 */
public final class Weights implements AutoCloseable {
    /** The ViT's learned position embeddings, {@code [1, N, D_vit]}: the one tensor whose shape follows the input size. */
    public static final String POSITION_EMBEDDING = "vision_encoder.patch_embedding.position_embedding";

    private final NDManager manager;
    private final Map<String, NDArray> tensors;
    /** Bytes of the tensors {@link #replace} closed since the last collection it asked for. */
    private long replacedBytes;

    Weights(NDManager manager, Map<String, NDArray> tensors) {
        this.manager = manager;
        this.tensors = tensors;
    }

    public NDArray get(String name) {
        NDArray t = tensors.get(name);
        if (t == null) {
            throw new IllegalStateException("no tensor named " + name);
        }
        return t;
    }

    public NDArray getOrNull(String name) {
        return tensors.get(name);
    }

    public Map<String, NDArray> all() {
        return Collections.unmodifiableMap(tensors);
    }

    public NDManager manager() {
        return manager;
    }

    /** Every tensor the architecture of {@code cfg} reads, with its shape, in a stable order. */
    public static Map<String, Shape> expectedShapes(ModelConfig cfg) {
        Map<String, Shape> s = new LinkedHashMap<>();
        int dv = cfg.vitHiddenDim;
        int p = cfg.vitPatchSize;
        s.put("vision_encoder.patch_embedding.conv.weight", new Shape(dv, 3, p, p));
        s.put("vision_encoder.patch_embedding.conv.bias", new Shape(dv));
        s.put(POSITION_EMBEDDING, new Shape(1, cfg.numPatches(), dv));
        for (int i = 0; i < cfg.vitNBlocks; i++) {
            String b = "vision_encoder.blocks." + i + ".";
            s.put(b + "ln1.weight", new Shape(dv));
            s.put(b + "ln1.bias", new Shape(dv));
            s.put(b + "attn.qkv_proj.weight", new Shape(3L * dv, dv));
            s.put(b + "attn.qkv_proj.bias", new Shape(3L * dv));
            s.put(b + "attn.out_proj.weight", new Shape(dv, dv));
            s.put(b + "attn.out_proj.bias", new Shape(dv));
            s.put(b + "ln2.weight", new Shape(dv));
            s.put(b + "ln2.bias", new Shape(dv));
            s.put(b + "mlp.fc1.weight", new Shape(cfg.vitInterDim, dv));
            s.put(b + "mlp.fc1.bias", new Shape(cfg.vitInterDim));
            s.put(b + "mlp.fc2.weight", new Shape(dv, cfg.vitInterDim));
            s.put(b + "mlp.fc2.bias", new Shape(dv));
        }
        s.put("vision_encoder.layer_norm.weight", new Shape(dv));
        s.put("vision_encoder.layer_norm.bias", new Shape(dv));

        int shuffled = dv * cfg.mpPixelShuffleFactor * cfg.mpPixelShuffleFactor;
        int dl = cfg.lmHiddenDim;
        if (cfg.mpHiddenDim > 0) {
            s.put("MP.fc1.weight", new Shape(cfg.mpHiddenDim, shuffled));
            s.put("MP.fc1.bias", new Shape(cfg.mpHiddenDim));
            s.put("MP.fc2.weight", new Shape(dl, cfg.mpHiddenDim));
            s.put("MP.fc2.bias", new Shape(dl));
        } else {
            s.put("MP.proj.weight", new Shape(dl, shuffled));
        }

        int kv = cfg.lmHeadDim() * cfg.lmNKvHeads;
        s.put("decoder.token_embedding.weight", new Shape(cfg.lmVocabSize, dl));
        for (int i = 0; i < cfg.lmNBlocks; i++) {
            String b = "decoder.blocks." + i + ".";
            s.put(b + "norm1.weight", new Shape(dl));
            s.put(b + "attn.q_proj.weight", new Shape(dl, dl));
            s.put(b + "attn.k_proj.weight", new Shape(kv, dl));
            s.put(b + "attn.v_proj.weight", new Shape(kv, dl));
            s.put(b + "attn.out_proj.weight", new Shape(dl, dl));
            s.put(b + "norm2.weight", new Shape(dl));
            s.put(b + "mlp.gate_proj.weight", new Shape(cfg.lmInterDim, dl));
            s.put(b + "mlp.up_proj.weight", new Shape(cfg.lmInterDim, dl));
            s.put(b + "mlp.down_proj.weight", new Shape(dl, cfg.lmInterDim));
        }
        s.put("decoder.norm.weight", new Shape(dl));
        if (!cfg.lmTieWeights) {
            s.put("decoder.head.weight", new Shape(cfg.lmVocabSize, dl));
        }
        return s;
    }

    /**
     * Reads a safetensors file and maps it onto the tensors {@code cfg} needs, checking every name
     * and shape. A tied head may be stored under either {@code decoder.head.weight} or
     * {@code decoder.token_embedding.weight}. F16 and BF16 tensors are widened to F32.
     */
    public static Weights load(NDManager manager, ModelConfig cfg, Path file) throws IOException {
        return load(manager, cfg, List.of(file));
    }

    /**
     * As {@link #load(NDManager, ModelConfig, Path)} for a checkpoint sharded over several files
     * (a tensor name may appear in one of them only).
     */
    public static Weights load(NDManager manager, ModelConfig cfg, List<Path> files) throws IOException {
        NDManager own = manager.newSubManager();
        Path file = files.size() == 1 ? files.get(0) : files.get(0).getParent();
        Map<String, NDArray> byName = new LinkedHashMap<>();
        try {
            for (Path shard : files) {
                for (Map.Entry<String, NDArray> e : Safetensors.read(own, shard).entrySet()) {
                    if (byName.put(e.getKey(), e.getValue()) != null) {
                        throw new IllegalArgumentException("tensor " + e.getKey() + " is stored twice (again in " + shard + ")");
                    }
                }
            }
            byName = WeightMapping.of(cfg).toInternal(byName, cfg);
        } catch (IOException | RuntimeException e) {
            own.close();
            throw e;
        }

        List<String> problems = new ArrayList<>();
        Map<String, NDArray> tensors = new LinkedHashMap<>();
        for (Map.Entry<String, Shape> e : expectedShapes(cfg).entrySet()) {
            NDArray a = byName.remove(e.getKey());
            if (a == null) {
                problems.add("missing tensor " + e.getKey() + " " + e.getValue());
                continue;
            }
            if (!a.getShape().equals(e.getValue())) {
                problems.add("tensor " + e.getKey() + " has shape " + a.getShape() + ", expected " + e.getValue());
                continue;
            }
            if (a.getDataType() != DataType.FLOAT32) {
                problems.add("tensor " + e.getKey() + " holds integers (" + a.getDataType() + "), expected floats");
                continue;
            }
            a.setName(e.getKey());
            tensors.put(e.getKey(), a);
        }
        for (String unexpected : byName.keySet()) {
            problems.add("unexpected tensor " + unexpected + " " + byName.get(unexpected).getShape());
        }
        if (!problems.isEmpty()) {
            own.close();
            throw new IllegalArgumentException("weights " + file + " do not fit config ("
                    + problems.size() + " problem(s)): " + String.join("; ", problems));
        }
        return new Weights(own, tensors);
    }

    /** Weights drawn as nanoVLM initialises them (normal std 0.02, norms 1, biases 0). */
    public static Weights random(NDManager manager, ModelConfig cfg, long seed) {
        NDManager own = manager.newSubManager();
        java.util.Random rnd = new java.util.Random(seed);
        Map<String, NDArray> tensors = new LinkedHashMap<>();
        for (Map.Entry<String, Shape> e : expectedShapes(cfg).entrySet()) {
            String name = e.getKey();
            Shape shape = e.getValue();
            float[] values = new float[Math.toIntExact(shape.size())];
            boolean isNorm = name.matches(".*(ln\\d|layer_norm|norm\\d?)\\.weight");
            boolean isBias = name.endsWith(".bias");
            for (int i = 0; i < values.length; i++) {
                values[i] = isNorm ? 1f : isBias ? 0f : (float) (rnd.nextGaussian() * 0.02);
            }
            NDArray a = own.create(values, shape);
            a.setName(name);
            tensors.put(name, a);
        }
        return new Weights(own, tensors);
    }

    /** Writes the tensors as safetensors (F32), the tied head under its embedding's name. */
    public void save(Path file) throws IOException {
        NDList list = new NDList();
        for (Map.Entry<String, NDArray> e : tensors.entrySet()) {
            NDArray a = e.getValue();
            a.setName(e.getKey());
            list.add(a);
        }
        try (OutputStream out = Files.newOutputStream(file)) {
            list.encode(out, NDList.Encoding.SAFETENSORS);
        }
    }

    /**
     * Holds every matrix (each tensor of two or more dimensions but the position embeddings, which
     * are added, not multiplied) in {@code dtype}, freeing its F32 copy; norms and biases stay F32.
     */
    public void castMatrices(EngineDtype dtype) {
        for (Map.Entry<String, NDArray> e : tensors.entrySet()) {
            NDArray a = e.getValue();
            if (a.getShape().dimension() >= 2 && !e.getKey().equals(POSITION_EMBEDDING) && !LowPrecision.isLow(a)) {
                NDArray low = LowPrecision.cast(a, dtype);
                low.setName(e.getKey());
                e.setValue(low);
                a.close();
            }
        }
    }

    /**
     * Puts {@code a} in the place of the tensor named {@code name}, closing that one: {@code a} holds
     * the same values (a view into a tensor that joins several, {@link DecoderKernel}).
     */
    void replace(String name, NDArray a) {
        NDArray old = get(name);
        if (!old.getShape().equals(a.getShape())) {
            throw new IllegalArgumentException(name + ": " + a.getShape() + " in the place of " + old.getShape());
        }
        a.setName(name);
        tensors.put(name, a);
        replacedBytes += old.getShape().size() * (LowPrecision.isLow(old) ? 2 : 4); // BF16/F16 or F32
        old.close();
        // A tensor made from a Java buffer (loaded or random weights) frees its memory only when the
        // garbage collector frees that buffer: without a collection now and then, a model whose
        // matrices are laid out anew at load (the decoder kernel, the vision tower) would hold both
        // copies, 0.8 GB more for nanoVLM-222M, until the heap next fills.
        if (replacedBytes >= 128L << 20) {
            replacedBytes = 0;
            System.gc();
        }
    }

    public long parameterCount() {
        return tensors.values().stream().mapToLong(a -> a.getShape().size()).sum();
    }

    @Override
    public void close() {
        manager.close();
    }
}
