package dev.glimpse.operators;

import ai.djl.Device;
import dev.glimpse.model.Captioner;
import dev.glimpse.model.Idefics3ImageProcessor;
import dev.glimpse.model.Idefics3Settings;
import dev.glimpse.model.ImagePreprocessor;
import dev.glimpse.model.RgbImage;
import java.nio.file.Path;

/**
 * What {@link PatchEmbedder} does to one decoded image, without Flink: resize, normalise, cut into
 * patches and apply the patch embedding, for each test-time view (or each SmolVLM tile), on the CPU,
 * with the model this JVM shares. The SQL model provider embeds its rows with it too.
 */
public final class ImageEmbedding implements AutoCloseable {
    private SharedModels.Handle model;
    private final ImagePreprocessor preprocessor;
    /** An Idefics3 (SmolVLM) model's tile splitter; null for the others. */
    private final Idefics3ImageProcessor tiler;
    private final Captioner captioner;

    /**
     * {@code testTimeViews}: the model's test-time views ({@code view_shifts}), else one unmoved view.
     * {@code imageSplitting}: an Idefics3 (SmolVLM) image is split into tiles as its folder's
     * preprocessor says; false: only the global image (one tile) is embedded.
     */
    public ImageEmbedding(String modelDir, boolean testTimeViews, boolean imageSplitting) {
        model = SharedModels.acquire(Path.of(modelDir), Device.cpu());
        preprocessor = new ImagePreprocessor(testTimeViews ? model.model().config() : model.model().config().singleView());
        captioner = new Captioner(model.model());
        Idefics3Settings smol = model.model().config().idefics3;
        tiler = smol == null ? null : new Idefics3ImageProcessor(imageSplitting ? smol : smol.withImageSplitting(false));
    }

    /** The image's patch embeddings ({@code embedMs} set on its request); a failure throws. */
    public EmbeddedImage embed(DecodedImage image) {
        long start = System.currentTimeMillis();
        ImageRequest r = image.request;
        RgbImage rgb = image.image();
        EmbeddedImage embedded;
        if (tiler != null) {
            Idefics3ImageProcessor.Tiles tiles = tiler.process(rgb);
            embedded = EmbeddedImage.tiled(r, captioner.patchEmbed(tiles.pixels()), tiles.rows(), tiles.cols());
        } else {
            embedded = new EmbeddedImage(r, captioner.patchEmbed(preprocessor.toViews(rgb)), preprocessor.plan());
        }
        r.embedMs = System.currentTimeMillis() - start;
        return embedded;
    }

    @Override
    public void close() {
        if (model != null) {
            model.close();
            model = null;
        }
    }
}
