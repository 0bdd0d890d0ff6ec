package dev.glimpse.operators;

import ai.djl.Device;
import dev.glimpse.model.Captioner;
import dev.glimpse.model.ImagePreprocessor;
import dev.glimpse.model.RgbImage;
import java.nio.file.Path;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.CheckpointListener;
import org.apache.flink.streaming.api.functions.ProcessFunction;
import org.apache.flink.util.Collector;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Resizes and normalises a decoded image for the model, cuts it into patches and applies the patch
 * embedding (the linear projection of the flattened patches plus position embeddings), on the CPU.
 * With test-time views it does so for each of the model's shifted views of the image.
 */
public class PatchEmbedder extends ProcessFunction<DecodedImage, EmbeddedImage> implements CheckpointListener {
    public static final String STAGE = "PatchEmbedder";
    private static final Logger LOG = LoggerFactory.getLogger(PatchEmbedder.class);

    private final String modelDir;
    private final boolean testTimeViews;
    private transient SharedModels.Handle model;
    private transient ImagePreprocessor preprocessor;
    private transient Captioner captioner;
    private transient StageMetrics metrics;

    /** The model's test-time views of each image (one unmoved view when its config lists none). */
    public PatchEmbedder(String modelDir) {
        this(modelDir, true);
    }

    /** {@code testTimeViews}: the model's test-time views ({@code view_shifts}), else one unmoved view. */
    public PatchEmbedder(String modelDir, boolean testTimeViews) {
        this.modelDir = modelDir;
        this.testTimeViews = testTimeViews;
    }

    @Override
    public void open(OpenContext openContext) {
        model = SharedModels.acquire(Path.of(modelDir), Device.cpu());
        preprocessor = new ImagePreprocessor(testTimeViews ? model.model().config() : model.model().config().singleView());
        captioner = new Captioner(model.model());
        metrics = new StageMetrics(getRuntimeContext().getMetricGroup(), "embedMs");
    }

    @Override
    public void notifyCheckpointComplete(long checkpointId) {
        metrics.logCheckpoint(LOG, checkpointId, "embedded", false);
    }

    @Override
    public void processElement(DecodedImage image, Context ctx, Collector<EmbeddedImage> out) {
        metrics.recordIn();
        long start = System.currentTimeMillis();
        ImageRequest r = image.request;
        float[] patches;
        try {
            float[] pixels = preprocessor.toViews(new RgbImage(image.width, image.height, image.rgb));
            patches = captioner.patchEmbed(pixels);
        } catch (RuntimeException e) {
            metrics.deadLetter(ErrorCode.INFERENCE_FAILED);
            ctx.output(DeadLetters.TAG, DeadLetter.of(r, ErrorCode.INFERENCE_FAILED,
                    "patch embedding failed: " + e, STAGE));
            return;
        }
        r.embedMs = System.currentTimeMillis() - start;
        metrics.recordOut(r.embedMs);
        out.collect(new EmbeddedImage(r, patches, preprocessor.plan()));
    }

    @Override
    public void close() {
        if (model != null) {
            model.close();
            model = null;
        }
    }
}
