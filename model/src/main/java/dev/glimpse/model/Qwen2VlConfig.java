package dev.glimpse.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.Set;

/**
 * A Qwen2-VL folder as a user downloads it ({@code Qwen2VLForConditionalGeneration}, transformers
 * v4.47.1): {@code config.json} (text keys at the top level, {@code vision_config} nested),
 * {@code preprocessor_config.json}, the chat template and {@code tokenizer.json}. {@code save_pretrained}
 * leaves out every key equal to its class default, so each missing key takes the default of
 * {@code Qwen2VLConfig} / {@code Qwen2VLVisionConfig} / {@code Qwen2VLImageProcessor}, as the original
 * does. What this implementation does not compute is refused with the key that asks for it.
 *
 * @param visionDepth vision blocks
 * @param visionEmbedDim the ViT width ({@code embed_dim})
 * @param visionHeads attention heads of the ViT
 * @param visionMlpDim {@code int(embed_dim * mlp_ratio)}
 * @param patchSize pixels per patch side
 * @param temporalPatchSize frames per patch (a still image is duplicated into this many)
 * @param mergeSize patches per side of one merged image token
 * @param hiddenSize decoder width (= the merger's output, {@code vision_config.hidden_size})
 * @param mropeSection rotary frequencies of the t, h and w streams (sums to head_dim / 2)
 * @param stopTokenIds ids that end a caption ({@code <|im_end|>}, {@code <|endoftext|>}, generation_config's eos)
 * @param maxImageTokens merged image tokens an image may cost at most ({@code max_pixels / (patch·merge)²})
 */
public record Qwen2VlConfig(
        int visionDepth, int visionEmbedDim, int visionHeads, int visionMlpDim,
        int patchSize, int temporalPatchSize, int mergeSize,
        int hiddenSize, int intermediateSize, int heads, int kvHeads, int layers, int vocabSize,
        double rmsEps, double ropeTheta, int[] mropeSection, boolean tieWordEmbeddings,
        int imageTokenId, int visionStartTokenId, int visionEndTokenId, long[] stopTokenIds, int padTokenId,
        int minPixels, int maxPixels, float[] imageMean, float[] imageStd, double rescaleFactor, int resample,
        String chatTemplate, String modelName) {
    public static final String MODEL_TYPE = "qwen2_vl";
    public static final String PREPROCESSOR = "preprocessor_config.json";
    /** The captioning prompt when a request brings none. */
    public static final String DEFAULT_PROMPT = "Describe this image.";
    /** Tokens a caption may have when the request and the job's options say nothing. */
    public static final int DEFAULT_MAX_NEW_TOKENS = 64;
    static final String IMAGE_PAD = "<|image_pad|>";
    static final String VISION_START = "<|vision_start|>";
    static final String VISION_END = "<|vision_end|>";
    static final String IM_END = "<|im_end|>";
    static final String END_OF_TEXT = "<|endoftext|>";

    /** OpenAI CLIP's mean and std, the processor's defaults. */
    static final float[] CLIP_MEAN = {0.48145466f, 0.4578275f, 0.40821073f};
    static final float[] CLIP_STD = {0.26862954f, 0.26130258f, 0.27577711f};

    private static final ObjectMapper JSON = new ObjectMapper();

    public int headDim() {
        return hiddenSize / heads;
    }

    public int visionHeadDim() {
        return visionEmbedDim / visionHeads;
    }

    /** Values of one flattened patch: channels x frames x P x P. */
    public int patchValues() {
        return 3 * temporalPatchSize * patchSize * patchSize;
    }

    /** Pixels per side of one merged image token ({@code smart_resize}'s factor). */
    public int factor() {
        return patchSize * mergeSize;
    }

    public int maxImageTokens() {
        return maxPixels / (factor() * factor());
    }

    /**
     * A copy whose images cost at most {@code tokens} merged image tokens ({@code generation.max-image-tokens}):
     * {@code max_pixels} lowered to {@code tokens x factor²}, so a large image is resized down further.
     * Fewer tokens mean a shorter prefill and a smaller KV cache, at the price of detail.
     */
    public Qwen2VlConfig withMaxImageTokens(int tokens) {
        int cap = tokens * factor() * factor();
        if (tokens < 1 || cap < minPixels) {
            throw new IllegalArgumentException("max-image-tokens " + tokens + " is below the folder's min_pixels "
                    + minPixels + " (" + (minPixels + factor() * factor() - 1) / (factor() * factor()) + " tokens)");
        }
        return new Qwen2VlConfig(visionDepth, visionEmbedDim, visionHeads, visionMlpDim, patchSize, temporalPatchSize,
                mergeSize, hiddenSize, intermediateSize, heads, kvHeads, layers, vocabSize, rmsEps, ropeTheta,
                mropeSection, tieWordEmbeddings, imageTokenId, visionStartTokenId, visionEndTokenId, stopTokenIds,
                padTokenId, minPixels, Math.min(maxPixels, cap), imageMean, imageStd, rescaleFactor, resample,
                chatTemplate, modelName);
    }

    /**
     * What the job reads of this folder without loading it, as a {@link ModelConfig} of format
     * QWEN2VL: the name, the default prompt and caption length, the side an image is decoded for
     * (a {@code max_pixels} square) and, as {@code vit_img_size x vit_img_size} patches of
     * {@code vit_hidden_dim} = C·T·P·P values, the largest preprocessed record.
     */
    public ModelConfig summary() {
        ModelConfig c = new ModelConfig();
        c.qwen2vl = true;
        c.modelName = modelName;
        c.defaultPrompt = DEFAULT_PROMPT;
        c.lmMaxLength = DEFAULT_MAX_NEW_TOKENS;
        c.vitPatchSize = patchSize;
        c.vitImgSize = (int) Math.ceil(Math.sqrt(maxPixels) / factor()) * factor();
        c.vitHiddenDim = patchValues();
        c.vitNHeads = 1;
        c.mpPixelShuffleFactor = mergeSize;
        c.lmHiddenDim = hiddenSize;
        c.lmNHeads = heads;
        c.lmNKvHeads = kvHeads;
        c.lmNBlocks = layers;
        c.lmVocabSize = vocabSize;
        c.lmEosTokenId = (int) stopTokenIds[0];
        c.lmPadTokenId = padTokenId;
        c.lmTieWeights = tieWordEmbeddings;
        return c;
    }

    /** Whether {@code config.json} says {@code model_type: qwen2_vl}. */
    public static boolean isQwen2Vl(Path dir) {
        Path config = dir.resolve(VisionLanguageModel.CONFIG);
        try {
            return Files.isRegularFile(config) && MODEL_TYPE.equals(JSON.readTree(config.toFile()).path("model_type").asText());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + config + ": " + e.getMessage(), e);
        }
    }

    public static Qwen2VlConfig read(Path dir) {
        try {
            return read(dir, JSON.readTree(dir.resolve(VisionLanguageModel.CONFIG).toFile()));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read Qwen2-VL folder " + dir + ": " + e.getMessage(), e);
        }
    }

    private static Qwen2VlConfig read(Path dir, JsonNode root) throws IOException {
        String where = dir.resolve(VisionLanguageModel.CONFIG).toString();
        refuseUnless(MODEL_TYPE.equals(root.path("model_type").asText()), "model_type must be " + MODEL_TYPE, where);
        refuseUnless(!root.has("text_config"), "a nested text_config (newer transformers) is not supported", where);
        JsonNode v = root.path("vision_config");
        // Qwen2VLVisionConfig's defaults (the 2B/7B vision tower).
        int depth = v.path("depth").asInt(32);
        int embedDim = v.path("embed_dim").asInt(1280);
        int visionHeads = v.path("num_heads").asInt(16);
        double mlpRatio = v.path("mlp_ratio").asDouble(4);
        int patch = v.path("patch_size").asInt(14);
        int temporal = v.path("temporal_patch_size").asInt(2);
        int merge = v.path("spatial_merge_size").asInt(2);
        refuseUnless(v.path("in_channels").asInt(3) == 3, "vision_config.in_channels must be 3", where);
        refuseUnless(v.path("hidden_act").asText("quick_gelu").equals("quick_gelu"),
                "vision_config.hidden_act must be quick_gelu", where);
        refuseUnless(embedDim % visionHeads == 0 && (embedDim / visionHeads) % 4 == 0,
                "vision_config.embed_dim / num_heads must be a multiple of 4 (2-D rotary)", where);

        // Qwen2VLConfig's defaults (its 72B shape); hub folders state them all.
        int hidden = root.path("hidden_size").asInt(8192);
        int heads = root.path("num_attention_heads").asInt(64);
        int kvHeads = root.path("num_key_value_heads").isNumber() ? root.path("num_key_value_heads").asInt() : heads;
        int mergerOut = v.path("hidden_size").asInt(3584);
        refuseUnless(mergerOut == hidden, "vision_config.hidden_size (" + mergerOut
                + ", the merger's output) must equal hidden_size (" + hidden + ")", where);
        refuseUnless(hidden % heads == 0, "hidden_size must be divisible by num_attention_heads", where);
        refuseUnless(heads % kvHeads == 0, "num_attention_heads must be divisible by num_key_value_heads", where);
        refuseUnless(root.path("hidden_act").asText("silu").equals("silu"), "hidden_act must be silu", where);
        JsonNode scaling = root.path("rope_scaling");
        refuseUnless(scaling.path("mrope_section").isArray() && scaling.path("mrope_section").size() == 3,
                "rope_scaling.mrope_section must list three numbers (t, h, w)", where);
        String ropeType = scaling.path("type").asText(scaling.path("rope_type").asText("default"));
        refuseUnless(ropeType.equals("mrope") || ropeType.equals("default"),
                "rope_scaling.type " + ropeType + " is not supported (mrope/default only)", where);
        int[] section = new int[3];
        for (int i = 0; i < 3; i++) {
            section[i] = scaling.path("mrope_section").get(i).asInt();
        }
        refuseUnless(Arrays.stream(section).sum() * 2 == hidden / heads, "rope_scaling.mrope_section "
                + Arrays.toString(section) + " must sum to head_dim / 2 = " + hidden / heads / 2, where);

        JsonNode pre = JSON.readTree(requiredFile(dir, PREPROCESSOR).toFile());
        String preWhere = dir.resolve(PREPROCESSOR).toString();
        refuseUnless(pre.path("patch_size").asInt(14) == patch, "patch_size differs from config.json's", preWhere);
        refuseUnless(pre.path("merge_size").asInt(2) == merge, "merge_size differs from config.json's", preWhere);
        refuseUnless(pre.path("temporal_patch_size").asInt(2) == temporal,
                "temporal_patch_size differs from config.json's", preWhere);
        refuseUnless(pre.path("do_resize").asBoolean(true) && pre.path("do_rescale").asBoolean(true)
                        && pre.path("do_normalize").asBoolean(true) && pre.path("do_convert_rgb").asBoolean(true),
                "do_resize, do_rescale, do_normalize and do_convert_rgb must be true", preWhere);
        int resample = pre.path("resample").asInt(PillowResampler.Filter.BICUBIC.pillowNumber);
        PillowResampler.Filter.of(resample);
        // The processor reads its own min_pixels/max_pixels attributes, not the size dict.
        int minPixels = pre.path("min_pixels").asInt(56 * 56);
        int maxPixels = pre.path("max_pixels").asInt(28 * 28 * 1280);
        refuseUnless(minPixels > 0 && maxPixels >= minPixels, "min_pixels and max_pixels must be 0 < min <= max", preWhere);

        JsonNode tokenizer = JSON.readTree(requiredFile(dir, VisionLanguageModel.TOKENIZER).toFile());
        int imagePad = tokenId(root, "image_token_id", tokenizer, IMAGE_PAD, where);
        int visionStart = tokenId(root, "vision_start_token_id", tokenizer, VISION_START, where);
        int visionEnd = tokenId(root, "vision_end_token_id", tokenizer, VISION_END, where);
        Set<Long> stops = new LinkedHashSet<>();
        for (String name : new String[] {IM_END, END_OF_TEXT}) {
            Integer id = addedToken(tokenizer, name);
            if (id != null) {
                stops.add((long) id);
            }
        }
        Path gen = dir.resolve("generation_config.json");
        JsonNode eos = Files.isRegularFile(gen) ? JSON.readTree(gen.toFile()).path("eos_token_id") : root.path("eos_token_id");
        if (eos.isArray()) {
            eos.forEach(e -> stops.add(e.asLong()));
        } else if (eos.isNumber()) {
            stops.add(eos.asLong());
        }
        refuseUnless(!stops.isEmpty(), "no stop token (" + IM_END + " in tokenizer.json or eos_token_id)", where);
        int pad = Files.isRegularFile(gen) ? JSON.readTree(gen.toFile()).path("pad_token_id").asInt(stops.iterator().next().intValue())
                : stops.iterator().next().intValue();

        return new Qwen2VlConfig(depth, embedDim, visionHeads, (int) (embedDim * mlpRatio), patch, temporal, merge,
                hidden, root.path("intermediate_size").asInt(29568), heads, kvHeads,
                root.path("num_hidden_layers").asInt(80), root.path("vocab_size").asInt(152064),
                root.path("rms_norm_eps").asDouble(1e-5), root.path("rope_theta").asDouble(1_000_000.0), section,
                root.path("tie_word_embeddings").asBoolean(false), imagePad, visionStart, visionEnd,
                stops.stream().mapToLong(Long::longValue).toArray(), pad, minPixels, maxPixels,
                floats(pre.path("image_mean"), CLIP_MEAN), floats(pre.path("image_std"), CLIP_STD),
                pre.path("rescale_factor").asDouble(1 / 255.0), resample, ChatTemplate.read(dir, "Qwen2-VL"),
                dir.getFileName() == null ? MODEL_TYPE : dir.getFileName().toString());
    }

    /** config.json's id for a special token, checked against tokenizer.json's; else tokenizer.json's. */
    private static int tokenId(JsonNode root, String key, JsonNode tokenizer, String content, String where) {
        Integer inTokenizer = addedToken(tokenizer, content);
        if (root.path(key).isNumber()) {
            refuseUnless(inTokenizer == null || inTokenizer == root.path(key).asInt(), key + " " + root.path(key).asInt()
                    + " differs from tokenizer.json's " + content + " (" + inTokenizer + ")", where);
            return root.path(key).asInt();
        }
        refuseUnless(inTokenizer != null, key + " is missing and tokenizer.json has no " + content, where);
        return inTokenizer;
    }

    private static Integer addedToken(JsonNode tokenizer, String content) {
        for (JsonNode t : tokenizer.path("added_tokens")) {
            if (content.equals(t.path("content").asText())) {
                return t.path("id").asInt();
            }
        }
        return null;
    }

    private static Path requiredFile(Path dir, String name) {
        Path p = dir.resolve(name);
        if (!Files.isRegularFile(p)) {
            throw new IllegalArgumentException("Qwen2-VL folder " + dir + " has no " + name);
        }
        return p;
    }

    private static float[] floats(JsonNode n, float[] fallback) {
        if (n.isNumber()) {
            return new float[] {n.floatValue(), n.floatValue(), n.floatValue()};
        }
        if (!n.isArray() || n.size() != 3) {
            return fallback.clone();
        }
        float[] f = new float[3];
        for (int i = 0; i < 3; i++) {
            f[i] = n.get(i).floatValue();
        }
        return f;
    }

    private static void refuseUnless(boolean ok, String message, String where) {
        if (!ok) {
            throw new IllegalArgumentException("invalid model config " + where + ": " + message);
        }
    }
}
