package dev.glimpse.model;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The model's shape, read from {@code config.json}. Field names follow nanoVLM's {@code VLMConfig}
 * (prefixed by component: {@code vit_}, {@code mp_}, {@code lm_}) so that nanoVLM folders load as they
 * are; the fields after {@code glimpse_format} are Glimpse's own extensions, each defaulting to
 * nanoVLM's behaviour.
 */
@JsonIgnoreProperties(ignoreUnknown = true)
@JsonInclude(JsonInclude.Include.NON_NULL)
public final class ModelConfig {
    /** The checkpoint family a folder belongs to. */
    public enum Format { GLIMPSE, NANOVLM, IDEFICS3, QWEN2VL }

    @JsonProperty("vit_hidden_dim") public int vitHiddenDim = 768;
    @JsonProperty("vit_inter_dim") public int vitInterDim = 3072;
    @JsonProperty("vit_patch_size") public int vitPatchSize = 16;
    @JsonProperty("vit_img_size") public int vitImgSize = 224;
    @JsonProperty("vit_n_heads") public int vitNHeads = 12;
    @JsonProperty("vit_n_blocks") public int vitNBlocks = 12;
    @JsonProperty("vit_ln_eps") public double vitLnEps = 1e-6;
    @JsonProperty("vit_cls_flag") public boolean vitClsFlag = false;

    @JsonProperty("lm_hidden_dim") public int lmHiddenDim = 576;
    @JsonProperty("lm_inter_dim") public int lmInterDim = 1536;
    @JsonProperty("lm_rms_eps") public double lmRmsEps = 1e-5;
    @JsonProperty("lm_re_base") public double lmReBase = 100000;
    @JsonProperty("lm_max_position_embeddings") public int lmMaxPositionEmbeddings = 8192;
    @JsonProperty("lm_vocab_size") public int lmVocabSize = 49152;
    @JsonProperty("lm_n_heads") public int lmNHeads = 9;
    @JsonProperty("lm_n_kv_heads") public int lmNKvHeads = 3;
    @JsonProperty("lm_n_blocks") public int lmNBlocks = 30;
    @JsonProperty("lm_attn_scaling") public double lmAttnScaling = 1.0;
    @JsonProperty("lm_tie_weights") public boolean lmTieWeights = true;
    @JsonProperty("lm_eos_token_id") public int lmEosTokenId = 0;
    @JsonProperty("lm_max_length") public int lmMaxLength = 79;

    @JsonProperty("mp_pixel_shuffle_factor") public int mpPixelShuffleFactor = 2;

    /** Present (as "glimpse") only in Glimpse's own checkpoints; nanoVLM folders lack it. */
    @JsonProperty("glimpse_format") public String glimpseFormat;
    /** Hidden width of a two-layer GELU projector; 0 keeps nanoVLM's single linear map without bias. */
    @JsonProperty("mp_hidden_dim") public int mpHiddenDim = 0;
    /** Per-channel mean and std applied after scaling pixels to [0,1]; null means none (nanoVLM). */
    @JsonProperty("image_mean") public float[] imageMean;
    @JsonProperty("image_std") public float[] imageStd;
    /** How a request's prompt becomes decoder text; {@code {prompt}} is replaced. */
    @JsonProperty("prompt_template") public String promptTemplate = "Question: {prompt} Answer:";
    @JsonProperty("default_prompt") public String defaultPrompt = "Describe the image.";
    /** Padding id used for batched decoding; any id works since padded positions are masked. */
    @JsonProperty("lm_pad_token_id") public int lmPadTokenId = 0;
    @JsonProperty("model_name") public String modelName;
    /**
     * Test-time views: each image is captioned from these copies of it, its content moved by
     * {@code [dx, dy]} input pixels, the views' log-probabilities averaged at every decoding step.
     * Null: one unmoved view (nanoVLM's behaviour).
     */
    @JsonProperty("view_shifts") public double[][] viewShifts;
    /**
     * With {@link #viewShifts}: caption each image from one unmoved view first, and from the shifted
     * views only when a token of that caption had a probability below this. Null: always from the
     * shifted views.
     */
    @JsonProperty("view_confidence") public Double viewConfidence;
    /**
     * Present only for Idefics3 (SmolVLM) folders, whose {@code config.json} nests the text and vision
     * configs: what their processor needs besides the shapes above ({@link Idefics3Config} fills both).
     */
    @JsonProperty("idefics3") public Idefics3Settings idefics3;
    /**
     * True only for a Qwen2-VL folder, which {@link Qwen2VlModel} runs: this config then holds what
     * the job needs to know of it without loading it (name, default prompt, caption length, the side
     * an image is decoded for, the size of a preprocessed record), see {@link Qwen2VlConfig#summary}.
     */
    @JsonProperty("qwen2vl") public Boolean qwen2vl;

    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    /** The families Glimpse runs: nanoVLM's and Glimpse's own folders have no {@code model_type}. */
    static final String SUPPORTED = "nanoVLM/Glimpse (no model_type), " + Idefics3Config.MODEL_TYPE + ", "
            + Qwen2VlConfig.MODEL_TYPE;

    public static ModelConfig read(Path file) {
        try {
            byte[] bytes = Files.readAllBytes(file);
            String modelType = JSON.readTree(bytes).path("model_type").asText("");
            if (Idefics3Config.MODEL_TYPE.equals(modelType)) {
                return Idefics3Config.read(file.toAbsolutePath().getParent()).validated(file.toString());
            }
            if (Qwen2VlConfig.MODEL_TYPE.equals(modelType)) {
                return Qwen2VlConfig.read(file.toAbsolutePath().getParent()).summary().validated(file.toString());
            }
            if (!modelType.isEmpty()) {
                throw new IllegalArgumentException("model folder " + file.toAbsolutePath().getParent() + ": model_type '"
                        + modelType + "' is not supported (supported: " + SUPPORTED + ")");
            }
            return JSON.readValue(bytes, ModelConfig.class).validated(file.toString());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read model config " + file + ": " + e.getMessage(), e);
        }
    }

    public void write(Path file) throws IOException {
        Files.write(file, JSON.writeValueAsBytes(this));
    }

    @JsonIgnore
    public Format format() {
        if (idefics3 != null) {
            return Format.IDEFICS3;
        }
        if (Boolean.TRUE.equals(qwen2vl)) {
            return Format.QWEN2VL;
        }
        return "glimpse".equals(glimpseFormat) ? Format.GLIMPSE : Format.NANOVLM;
    }

    @JsonIgnore public int vitHeadDim() { return vitHiddenDim / vitNHeads; }
    @JsonIgnore public int lmHeadDim() { return lmHiddenDim / lmNHeads; }
    @JsonIgnore public int patchesPerSide() { return vitImgSize / vitPatchSize; }
    @JsonIgnore public int numPatches() { return patchesPerSide() * patchesPerSide(); }
    @JsonIgnore public int patchDim() { return 3 * vitPatchSize * vitPatchSize; }
    /** The side an image is decoded for (huge images are subsampled to about 4x it): SmolVLM's first resize, else the input. */
    @JsonIgnore public int decodeTargetSize() { return idefics3 != null ? idefics3.longestEdge() : vitImgSize; }
    @JsonIgnore public int imageTokens() { return numPatches() / (mpPixelShuffleFactor * mpPixelShuffleFactor); }
    /**
     * The views made of each image, in the order their rows are decoded: one unmoved view without
     * {@link #viewShifts}; the shifts; or, with {@link #viewConfidence}, the unmoved view then the shifts.
     */
    @JsonIgnore
    public double[][] views() {
        if (viewShifts == null) {
            return new double[][] {{0, 0}};
        }
        if (viewConfidence == null) {
            return viewShifts;
        }
        double[][] all = new double[viewShifts.length + 1][];
        all[0] = new double[] {0, 0};
        System.arraycopy(viewShifts, 0, all, 1, viewShifts.length);
        return all;
    }

    /** The confidence below which the shifted views are decoded (0: they always are, or there are none). */
    @JsonIgnore public double viewConfidenceOrZero() { return viewShifts != null && viewConfidence != null ? viewConfidence : 0; }
    @JsonIgnore public String displayName() { return modelName != null ? modelName : format().name().toLowerCase(); }

    /** Checks the invariants the tensor code relies on; messages name the offending field. */
    public ModelConfig validated(String source) {
        require(vitHiddenDim % vitNHeads == 0, "vit_hidden_dim must be divisible by vit_n_heads", source);
        require(vitImgSize % vitPatchSize == 0, "vit_img_size must be divisible by vit_patch_size", source);
        require(!vitClsFlag, "vit_cls_flag=true is not supported (no CLS token in this architecture)", source);
        require(patchesPerSide() % mpPixelShuffleFactor == 0,
                "patches per side (vit_img_size/vit_patch_size) must be divisible by mp_pixel_shuffle_factor", source);
        require(lmHiddenDim % lmNHeads == 0, "lm_hidden_dim must be divisible by lm_n_heads", source);
        require(lmNHeads % lmNKvHeads == 0, "lm_n_heads must be divisible by lm_n_kv_heads", source);
        require(lmHeadDim() % 2 == 0, "lm head dim (lm_hidden_dim/lm_n_heads) must be even for rotary embeddings", source);
        require((imageMean == null) == (imageStd == null), "image_mean and image_std must be given together", source);
        require(promptTemplate.contains("{prompt}"), "prompt_template must contain {prompt}", source);
        if (viewShifts != null) {
            require(viewShifts.length > 0, "view_shifts must list at least one [dx, dy] (or be left out)", source);
            for (double[] shift : viewShifts) {
                require(shift != null && shift.length == 2, "each of view_shifts must be a pair [dx, dy]", source);
                for (double d : shift) {
                    require(Double.isFinite(d) && Math.abs(d) <= vitPatchSize,
                            "view_shifts must move an image by at most one patch (vit_patch_size pixels), got "
                                    + java.util.Arrays.toString(shift), source);
                }
            }
        }
        require(viewConfidence == null || (viewConfidence > 0 && viewConfidence <= 1),
                "view_confidence must be above 0 and at most 1", source);
        return this;
    }

    private static void require(boolean ok, String message, String source) {
        if (!ok) {
            throw new IllegalArgumentException("invalid model config " + source + ": " + message);
        }
    }

    /** A copy that captions from one unmoved view, whatever {@code view_shifts} says. */
    public ModelConfig singleView() {
        ModelConfig c = copy();
        c.viewShifts = null;
        c.viewConfidence = null;
        return c;
    }

    public ModelConfig copy() {
        try {
            return JSON.readValue(JSON.writeValueAsBytes(this), ModelConfig.class);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
