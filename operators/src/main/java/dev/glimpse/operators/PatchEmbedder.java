package dev.glimpse.operators;

import dev.glimpse.model.EngineDtype;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.CheckpointListener;
import org.apache.flink.streaming.api.functions.ProcessFunction;
import org.apache.flink.util.Collector;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Resizes and normalises a decoded image for the model, cuts it into patches and applies the patch
 * embedding (the linear projection of the flattened patches plus position embeddings), on the CPU.
 * With test-time views it does so for each of the model's shifted views of the image; for an
 * Idefics3 (SmolVLM) model, for each of the image's tiles.
 */
public class PatchEmbedder extends ProcessFunction<DecodedImage, EmbeddedImage> implements CheckpointListener {
    public static final String STAGE = "PatchEmbedder";
    private static final Logger LOG = LoggerFactory.getLogger(PatchEmbedder.class);

    private final String modelDir;
    /** {@code engine.dtype}, carried to the TaskManagers with the job; null: each JVM's {@link EngineDtype#configured()}. */
    private final EngineDtype dtype;
    private final boolean testTimeViews;
    private final boolean imageSplitting;
    private final int maxImageTokens;
    private transient ImageEmbedding embedding;
    private transient StageMetrics metrics;

    /** The model's test-time views of each image (one unmoved view when its config lists none). */
    public PatchEmbedder(String modelDir) {
        this(modelDir, true);
    }

    /** {@code testTimeViews}: the model's test-time views ({@code view_shifts}), else one unmoved view. */
    public PatchEmbedder(String modelDir, boolean testTimeViews) {
        this(modelDir, testTimeViews, true);
    }

    /**
     * {@code imageSplitting}: an Idefics3 (SmolVLM) image is split into tiles as its folder's
     * preprocessor says; false: only the global image (one tile) is embedded.
     */
    public PatchEmbedder(String modelDir, boolean testTimeViews, boolean imageSplitting) {
        this(modelDir, testTimeViews, imageSplitting, 0);
    }

    /**
     * {@code maxImageTokens} above 0 caps a Qwen2-VL image's merged image tokens
     * ({@code generation.max-image-tokens}); 0 keeps the folder's {@code max_pixels}.
     */
    public PatchEmbedder(String modelDir, boolean testTimeViews, boolean imageSplitting, int maxImageTokens) {
        this(modelDir, null, testTimeViews, imageSplitting, maxImageTokens);
    }

    /** As above, the model's matrices in {@code dtype} (null: this JVM's {@link EngineDtype#configured()}). */
    public PatchEmbedder(String modelDir, EngineDtype dtype, boolean testTimeViews, boolean imageSplitting,
                         int maxImageTokens) {
        this.modelDir = modelDir;
        this.dtype = dtype;
        this.testTimeViews = testTimeViews;
        this.imageSplitting = imageSplitting;
        this.maxImageTokens = maxImageTokens;
    }

    @Override
    public void open(OpenContext openContext) {
        embedding = new ImageEmbedding(modelDir, dtype, testTimeViews, imageSplitting, maxImageTokens);
        metrics = new StageMetrics(getRuntimeContext().getMetricGroup(), "embedMs");
    }

    @Override
    public void notifyCheckpointComplete(long checkpointId) {
        metrics.logCheckpoint(LOG, checkpointId, "embedded", false);
    }

    @Override
    public void processElement(DecodedImage image, Context ctx, Collector<EmbeddedImage> out) {
        metrics.recordIn();
        EmbeddedImage embedded;
        try {
            embedded = embedding.embed(image);
        } catch (RuntimeException e) {
            metrics.deadLetter(ErrorCode.INFERENCE_FAILED);
            ctx.output(DeadLetters.TAG, DeadLetter.of(image.request, ErrorCode.INFERENCE_FAILED,
                    "patch embedding failed: " + e, STAGE));
            return;
        }
        metrics.recordOut(embedded.request.embedMs);
        out.collect(embedded);
    }

    @Override
    public void close() {
        if (embedding != null) {
            embedding.close();
            embedding = null;
        }
    }
}
