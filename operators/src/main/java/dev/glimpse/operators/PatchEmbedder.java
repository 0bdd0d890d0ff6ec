package dev.glimpse.operators;

import ai.djl.Device;
import dev.glimpse.model.Captioner;
import dev.glimpse.model.Idefics3ImageProcessor;
import dev.glimpse.model.Idefics3Settings;
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
 * With test-time views it does so for each of the model's shifted views of the image; for an
 * Idefics3 (SmolVLM) model, for each of the image's tiles.
 */
public class PatchEmbedder extends ProcessFunction<DecodedImage, EmbeddedImage> implements CheckpointListener {
    public static final String STAGE = "PatchEmbedder";
    private static final Logger LOG = LoggerFactory.getLogger(PatchEmbedder.class);

    private final String modelDir;
    private final boolean testTimeViews;
    private final boolean imageSplitting;
    private transient SharedModels.Handle model;
    private transient ImagePreprocessor preprocessor;
    /** An Idefics3 (SmolVLM) model's tile splitter; null for the others. */
    private transient Idefics3ImageProcessor tiler;
    private transient Captioner captioner;
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
        this.modelDir = modelDir;
        this.testTimeViews = testTimeViews;
        this.imageSplitting = imageSplitting;
    }

    @Override
    public void open(OpenContext openContext) {
        model = SharedModels.acquire(Path.of(modelDir), Device.cpu());
        preprocessor = new ImagePreprocessor(testTimeViews ? model.model().config() : model.model().config().singleView());
        captioner = new Captioner(model.model());
        Idefics3Settings smol = model.model().config().idefics3;
        if (smol != null) {
            tiler = new Idefics3ImageProcessor(imageSplitting ? smol : smol.withImageSplitting(false));
        }
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
        Idefics3ImageProcessor.Tiles tiles = null;
        try {
            RgbImage rgb = image.image();
            if (tiler != null) {
                tiles = tiler.process(rgb);
                patches = captioner.patchEmbed(tiles.pixels());
            } else {
                patches = captioner.patchEmbed(preprocessor.toViews(rgb));
            }
        } catch (RuntimeException e) {
            metrics.deadLetter(ErrorCode.INFERENCE_FAILED);
            ctx.output(DeadLetters.TAG, DeadLetter.of(r, ErrorCode.INFERENCE_FAILED,
                    "patch embedding failed: " + e, STAGE));
            return;
        }
        r.embedMs = System.currentTimeMillis() - start;
        metrics.recordOut(r.embedMs);
        out.collect(tiles != null ? EmbeddedImage.tiled(r, patches, tiles.rows(), tiles.cols())
                : new EmbeddedImage(r, patches, preprocessor.plan()));
    }

    @Override
    public void close() {
        if (model != null) {
            model.close();
            model = null;
        }
    }
}
