package dev.glimpse.model.training;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.glimpse.model.CaptionTokenizer;
import dev.glimpse.model.ModelConfig;
import dev.glimpse.model.VisionLanguageModel;
import dev.glimpse.model.Weights;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * The built-in model's vocabulary and default architecture. Captions of the scenes world use 19
 * words; a word-level tokenizer (Metaspace splitting, punctuation isolated) keeps every caption
 * short and decodes back to the exact text, commas included.
 */
public final class ScenesModel {
    public static final List<String> SPECIAL = List.of("<eos>", "<pad>", "<unk>");
    public static final List<String> WORDS = List.of(
            "a", "small", "large", "red", "green", "blue", "yellow", "purple", "orange",
            "circle", "square", "triangle", "and", "on", "white", "black", "gray", "background",
            "describe", "the", "image", "caption", "what", "is", "in", "this", "picture");
    public static final List<String> PUNCTUATION = List.of(",", ".", ":", "?");
    public static final String DEFAULT_PROMPT = "describe the image";

    private ScenesModel() {}

    /** The default architecture of the built-in model; the model folder's README says why. */
    public static ModelConfig defaultConfig() {
        ModelConfig c = new ModelConfig();
        c.glimpseFormat = "glimpse";
        c.modelName = "glimpse-scenes";
        c.vitImgSize = 96;
        c.vitPatchSize = 8;
        c.vitHiddenDim = 128;
        c.vitInterDim = 384;
        c.vitNHeads = 4;
        // Trained with 4 blocks through phase 5, then grown to 6 (--vit-blocks with --init-from).
        c.vitNBlocks = 6;
        c.vitLnEps = 1e-6;
        c.mpPixelShuffleFactor = 2;
        c.mpHiddenDim = 256;
        c.lmHiddenDim = 128;
        c.lmInterDim = 256;
        c.lmNHeads = 4;
        c.lmNKvHeads = 2;
        // The shipped model's first 528k scenes ran with 2 blocks; it was then grown to 4 (--init-from).
        c.lmNBlocks = 4;
        c.lmReBase = 10000;
        c.lmMaxPositionEmbeddings = 256;
        c.lmVocabSize = vocabularySize();
        c.lmTieWeights = true;
        c.lmEosTokenId = 0;
        c.lmPadTokenId = 1;
        c.lmMaxLength = 24;
        c.promptTemplate = "{prompt}";
        c.defaultPrompt = DEFAULT_PROMPT;
        c.imageMean = new float[] {0.5f, 0.5f, 0.5f};
        c.imageStd = new float[] {0.25f, 0.25f, 0.25f};
        // Captioned from two views moved by a quarter patch each way when the unmoved image leaves a
        // token below 0.99: on the validation scenes this halves the errors of one view, decoding
        // about 6 % of the images again (chosen there; the model README has the figures).
        c.viewShifts = new double[][] {{-2, -2}, {2, 2}};
        c.viewConfidence = 0.99;
        return c;
    }

    /** The built-in architecture shrunk for tests and smoke runs: 32 px, width 32, one block a side. */
    public static ModelConfig tinyConfig() {
        ModelConfig c = defaultConfig();
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

    /** Writes a checkpoint folder of {@code cfg} with random weights and the scenes tokenizer. */
    public static Path writeRandom(Path dir, ModelConfig cfg, long seed) throws IOException {
        Files.createDirectories(dir);
        Path tokenizer = dir.resolve(VisionLanguageModel.TOKENIZER);
        writeTokenizer(tokenizer);
        try (VisionLanguageModel m = VisionLanguageModel.random(cfg, CaptionTokenizer.load(tokenizer, cfg), seed, null)) {
            m.save(dir);
        }
        return dir;
    }

    /**
     * A copy of {@code source} with its decoder deepened to {@code lmBlocks} and its vision encoder to
     * {@code vitBlocks} (0 or fewer than it has: unchanged depth), and its input resized to
     * {@code imageSize} pixels (0: unchanged). Every tensor of the source is copied; each appended
     * block (after the source's last one, before the final norm) is drawn at random except its two
     * output projections, which start at zero (weights and biases), so the block adds nothing to the
     * residual stream and the grown model computes exactly what the source does until it trains. A
     * new input size keeps the patch size, so every tensor keeps its shape except the position
     * embeddings, which are interpolated bilinearly from the source's patch grid to the new one (as
     * ViTs are fine-tuned at a higher resolution). The grown model owns {@code tokenizer}.
     */
    public static VisionLanguageModel grown(VisionLanguageModel source, CaptionTokenizer tokenizer, int lmBlocks,
                                            int vitBlocks, int imageSize, long seed) {
        ModelConfig cfg = source.config().copy();
        int from = cfg.lmNBlocks;
        cfg.lmNBlocks = Math.max(from, lmBlocks);
        int vitFrom = cfg.vitNBlocks;
        cfg.vitNBlocks = Math.max(vitFrom, vitBlocks);
        if (imageSize > 0) {
            cfg.vitImgSize = imageSize;
        }
        cfg.validated("grown from " + source.config().displayName());
        VisionLanguageModel grown = VisionLanguageModel.random(cfg, tokenizer, seed, source.manager().getDevice());
        java.util.Map<String, ai.djl.ndarray.NDArray> target = grown.weights().all();
        source.weights().all().forEach((name, a) -> {
            ai.djl.ndarray.NDArray t = target.get(name);
            if (t != null && name.equals(Weights.POSITION_EMBEDDING) && !t.getShape().equals(a.getShape())) {
                t.set(resizePositions(a.toFloatArray(), source.config().patchesPerSide(), cfg.patchesPerSide(),
                        cfg.vitHiddenDim));
                return;
            }
            if (t == null || !t.getShape().equals(a.getShape())) {
                grown.close();
                throw new IllegalStateException("grown model has no tensor " + name + " " + a.getShape());
            }
            t.set(a.toFloatArray());
        });
        zeroOutputs(target, "decoder.blocks.", from, cfg.lmNBlocks, List.of("attn.out_proj.weight",
                "mlp.down_proj.weight"));
        zeroOutputs(target, "vision_encoder.blocks.", vitFrom, cfg.vitNBlocks, List.of("attn.out_proj.weight",
                "attn.out_proj.bias", "mlp.fc2.weight", "mlp.fc2.bias"));
        return grown;
    }

    /** Zeroes the output projections of blocks {@code [from, to)}: each block then starts as the identity. */
    private static void zeroOutputs(java.util.Map<String, ai.djl.ndarray.NDArray> weights, String prefix, int from,
                                    int to, List<String> outputs) {
        for (int i = from; i < to; i++) {
            for (String name : outputs) {
                ai.djl.ndarray.NDArray t = weights.get(prefix + i + "." + name);
                t.set(new float[Math.toIntExact(t.getShape().size())]);
            }
        }
    }

    /**
     * Position embeddings {@code [g*g, dim]} (row-major patch grid) resampled to a {@code [n*n, dim]}
     * grid: bilinear, pixel centres aligned ({@code align_corners=False}), edges clamped.
     */
    static float[] resizePositions(float[] src, int g, int n, int dim) {
        float[] out = new float[n * n * dim];
        double scale = (double) g / n;
        for (int r = 0; r < n; r++) {
            double y = Math.min(Math.max((r + 0.5) * scale - 0.5, 0), g - 1);
            int y0 = (int) Math.floor(y);
            int y1 = Math.min(y0 + 1, g - 1);
            double fy = y - y0;
            for (int c = 0; c < n; c++) {
                double x = Math.min(Math.max((c + 0.5) * scale - 0.5, 0), g - 1);
                int x0 = (int) Math.floor(x);
                int x1 = Math.min(x0 + 1, g - 1);
                double fx = x - x0;
                for (int d = 0; d < dim; d++) {
                    double top = (1 - fx) * src[(y0 * g + x0) * dim + d] + fx * src[(y0 * g + x1) * dim + d];
                    double bottom = (1 - fx) * src[(y1 * g + x0) * dim + d] + fx * src[(y1 * g + x1) * dim + d];
                    out[(r * n + c) * dim + d] = (float) ((1 - fy) * top + fy * bottom);
                }
            }
        }
        return out;
    }

    public static int vocabularySize() {
        return SPECIAL.size() + WORDS.size() + PUNCTUATION.size();
    }

    /** Writes a Hugging Face {@code tokenizer.json} for the scenes vocabulary. */
    public static void writeTokenizer(Path file) throws IOException {
        ObjectMapper json = new ObjectMapper();
        ObjectNode root = json.createObjectNode();
        root.put("version", "1.0");
        root.putNull("truncation");
        root.putNull("padding");
        ArrayNode added = root.putArray("added_tokens");
        ObjectNode vocab = json.createObjectNode();
        int id = 0;
        for (String s : SPECIAL) {
            ObjectNode t = added.addObject();
            t.put("id", id);
            t.put("content", s);
            t.put("single_word", false);
            t.put("lstrip", false);
            t.put("rstrip", false);
            t.put("normalized", false);
            t.put("special", true);
            vocab.put(s, id++);
        }
        for (String w : WORDS) {
            vocab.put("\u2581" + w, id++);
        }
        for (String p : PUNCTUATION) {
            vocab.put(p, id++);
        }
        root.putObject("normalizer").put("type", "Lowercase");
        ObjectNode pre = root.putObject("pre_tokenizer");
        pre.put("type", "Sequence");
        ArrayNode steps = pre.putArray("pretokenizers");
        steps.add(metaspace(json));
        steps.addObject().put("type", "Punctuation").put("behavior", "Isolated");
        root.putNull("post_processor");
        root.set("decoder", metaspace(json));
        ObjectNode model = root.putObject("model");
        model.put("type", "WordLevel");
        model.set("vocab", vocab);
        model.put("unk_token", "<unk>");
        Files.write(file, json.writerWithDefaultPrettyPrinter().writeValueAsBytes(root));
    }

    private static ObjectNode metaspace(ObjectMapper json) {
        ObjectNode m = json.createObjectNode();
        m.put("type", "Metaspace");
        m.put("replacement", "\u2581");
        m.put("prepend_scheme", "always");
        m.put("split", true);
        return m;
    }
}
