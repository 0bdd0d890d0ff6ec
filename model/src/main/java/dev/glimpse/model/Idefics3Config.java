package dev.glimpse.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Reads an Idefics3 (SmolVLM) folder as transformers saves it: {@code config.json} with nested
 * {@code text_config} (Llama) and {@code vision_config} (SigLIP), {@code preprocessor_config.json},
 * optionally {@code processor_config.json}, the chat template ({@code chat_template.json} or
 * {@code tokenizer_config.json}) and {@code tokenizer.json} for the stop token's id. The shapes land
 * in {@link ModelConfig}'s fields, the processor's settings in {@link Idefics3Settings}. What this
 * implementation does not compute (another activation, attention biases in the text model, RoPE
 * scaling, a head size other than hidden / heads) is refused with the key that asks for it.
 */
public final class Idefics3Config {
    public static final String MODEL_TYPE = "idefics3";
    public static final String PREPROCESSOR = "preprocessor_config.json";
    public static final String END_OF_UTTERANCE = "<end_of_utterance>";
    /** SmolVLM's captioning prompt, used when a request brings none. */
    public static final String DEFAULT_PROMPT = "Can you describe this image?";

    private static final ObjectMapper JSON = new ObjectMapper();
    /** {@code Idefics3ImageProcessor}'s {@code size} when a preprocessor_config.json has none: 4 x 364. */
    static final int DEFAULT_LONGEST_EDGE = 4 * 364;

    private Idefics3Config() {}

    public static ModelConfig read(Path dir) {
        try {
            return read(dir, JSON.readTree(dir.resolve(VisionLanguageModel.CONFIG).toFile()));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read Idefics3 folder " + dir + ": " + e.getMessage(), e);
        }
    }

    private static ModelConfig read(Path dir, JsonNode root) throws IOException {
        String where = dir.resolve(VisionLanguageModel.CONFIG).toString();
        JsonNode text = required(root, "text_config", where);
        JsonNode vision = required(root, "vision_config", where);
        ModelConfig c = new ModelConfig();

        c.vitHiddenDim = intOf(root, "vision_config.hidden_size", where);
        c.vitInterDim = intOf(root, "vision_config.intermediate_size", where);
        c.vitPatchSize = intOf(root, "vision_config.patch_size", where);
        c.vitImgSize = intOf(root, "vision_config.image_size", where);
        c.vitNHeads = intOf(root, "vision_config.num_attention_heads", where);
        c.vitNBlocks = intOf(root, "vision_config.num_hidden_layers", where);
        c.vitLnEps = vision.path("layer_norm_eps").asDouble(1e-6);
        refuseUnless(vision.path("hidden_act").asText("gelu_pytorch_tanh").equals("gelu_pytorch_tanh"),
                "vision_config.hidden_act must be gelu_pytorch_tanh", where);
        refuseUnless(vision.path("num_channels").asInt(3) == 3, "vision_config.num_channels must be 3", where);

        c.lmHiddenDim = intOf(root, "text_config.hidden_size", where);
        c.lmInterDim = intOf(root, "text_config.intermediate_size", where);
        c.lmNHeads = intOf(root, "text_config.num_attention_heads", where);
        c.lmNKvHeads = text.path("num_key_value_heads").asInt(c.lmNHeads);
        c.lmNBlocks = intOf(root, "text_config.num_hidden_layers", where);
        c.lmVocabSize = intOf(root, "text_config.vocab_size", where);
        c.lmRmsEps = text.path("rms_norm_eps").asDouble(1e-6);
        c.lmReBase = text.path("rope_theta").asDouble(10000);
        c.lmMaxPositionEmbeddings = text.path("max_position_embeddings").asInt(8192);
        c.lmAttnScaling = 1.0;
        refuseUnless(text.path("hidden_act").asText("silu").equals("silu"), "text_config.hidden_act must be silu", where);
        refuseUnless(!text.path("attention_bias").asBoolean(false), "text_config.attention_bias=true is not supported", where);
        refuseUnless(!text.path("mlp_bias").asBoolean(false), "text_config.mlp_bias=true is not supported", where);
        refuseUnless(text.path("rope_scaling").isMissingNode() || text.path("rope_scaling").isNull(),
                "text_config.rope_scaling is not supported (default RoPE only)", where);
        refuseUnless(text.path("head_dim").isMissingNode() || text.path("head_dim").isNull()
                        || (c.lmNHeads > 0 && text.path("head_dim").asInt() * c.lmNHeads == c.lmHiddenDim),
                "text_config.head_dim must be hidden_size / num_attention_heads", where);
        // transformers ties the head when the top-level flag says so; SmolVLM's is false.
        c.lmTieWeights = root.path("tie_word_embeddings").asBoolean(text.path("tie_word_embeddings").asBoolean(false));
        c.mpPixelShuffleFactor = root.path("scale_factor").asInt(2);
        c.lmPadTokenId = root.path("pad_token_id").asInt(text.path("pad_token_id").asInt(0));

        JsonNode pre = JSON.readTree(requiredFile(dir, PREPROCESSOR).toFile());
        String preWhere = dir.resolve(PREPROCESSOR).toString();
        int tile = pre.path("max_image_size").path("longest_edge").asInt(c.vitImgSize);
        refuseUnless(tile == c.vitImgSize, "max_image_size.longest_edge (" + tile
                + ") must equal vision_config.image_size (" + c.vitImgSize + ")", preWhere);
        float[] mean = floats(pre.path("image_mean"), 0.5f);
        float[] std = floats(pre.path("image_std"), 0.5f);
        int perSide = c.vitImgSize / c.vitPatchSize / Math.max(1, c.mpPixelShuffleFactor);
        int seqLen = perSide * perSide;
        Path processor = dir.resolve("processor_config.json");
        if (Files.isRegularFile(processor)) {
            int stored = JSON.readTree(processor.toFile()).path("image_seq_len").asInt(seqLen);
            refuseUnless(stored == seqLen, "image_seq_len " + stored + " disagrees with the config's "
                    + seqLen + " image tokens per tile", processor.toString());
        }
        c.imageMean = mean;
        c.imageStd = std;
        c.idefics3 = new Idefics3Settings(
                intOf(root, "image_token_id", where),
                seqLen,
                pre.path("do_resize").asBoolean(true),
                pre.path("size").path("longest_edge").asInt(DEFAULT_LONGEST_EDGE),
                tile,
                pre.path("do_image_splitting").asBoolean(true),
                pre.path("resample").asInt(PillowResampler.LANCZOS),
                pre.path("do_rescale").asBoolean(true),
                pre.path("rescale_factor").asDouble(1 / 255.0),
                pre.path("do_normalize").asBoolean(true),
                mean, std,
                ChatTemplate.read(dir, "Idefics3"));
        PillowResampler.Filter.of(c.idefics3.resample());

        c.lmEosTokenId = stopTokenId(dir);
        c.defaultPrompt = DEFAULT_PROMPT;
        c.modelName = dir.getFileName() == null ? MODEL_TYPE : dir.getFileName().toString();
        return c;
    }

    /** The id of {@code <end_of_utterance>} in tokenizer.json, else generation_config.json's eos_token_id. */
    private static int stopTokenId(Path dir) throws IOException {
        Path tok = dir.resolve(VisionLanguageModel.TOKENIZER);
        if (Files.isRegularFile(tok)) {
            for (JsonNode t : JSON.readTree(tok.toFile()).path("added_tokens")) {
                if (END_OF_UTTERANCE.equals(t.path("content").asText())) {
                    return t.path("id").asInt();
                }
            }
        }
        Path gen = dir.resolve("generation_config.json");
        if (Files.isRegularFile(gen)) {
            JsonNode eos = JSON.readTree(gen.toFile()).path("eos_token_id");
            if (eos.isInt()) {
                return eos.asInt();
            }
        }
        throw new IllegalArgumentException("Idefics3 folder " + dir + " names no " + END_OF_UTTERANCE
                + " token (tokenizer.json added_tokens, or generation_config.json eos_token_id)");
    }

    private static Path requiredFile(Path dir, String name) {
        Path p = dir.resolve(name);
        if (!Files.isRegularFile(p)) {
            throw new IllegalArgumentException("Idefics3 folder " + dir + " has no " + name);
        }
        return p;
    }

    private static float[] floats(JsonNode n, float fallback) {
        if (n.isNumber()) {
            return new float[] {n.floatValue(), n.floatValue(), n.floatValue()};
        }
        if (!n.isArray()) {
            return new float[] {fallback, fallback, fallback};
        }
        float[] f = new float[n.size()];
        for (int i = 0; i < f.length; i++) {
            f[i] = n.get(i).floatValue();
        }
        return f;
    }

    private static JsonNode required(JsonNode n, String key, String where) {
        JsonNode v = n.get(key);
        if (v == null || v.isNull()) {
            throw new IllegalArgumentException("invalid model config " + where + ": " + key + " is missing");
        }
        return v;
    }

    /** The integer at a dotted path such as {@code text_config.hidden_size}. */
    private static int intOf(JsonNode root, String path, String where) {
        JsonNode v = root;
        for (String key : path.split("\\.")) {
            v = v.path(key);
        }
        if (v.isMissingNode() || v.isNull()) {
            throw new IllegalArgumentException("invalid model config " + where + ": " + path + " is missing");
        }
        if (!v.canConvertToInt()) {
            throw new IllegalArgumentException("invalid model config " + where + ": " + path + " must be an integer");
        }
        return v.asInt();
    }

    private static void refuseUnless(boolean ok, String message, String where) {
        if (!ok) {
            throw new IllegalArgumentException("invalid model config " + where + ": " + message);
        }
    }
}
