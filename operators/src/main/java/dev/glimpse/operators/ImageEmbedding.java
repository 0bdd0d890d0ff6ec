package dev.glimpse.operators;

import ai.djl.Device;
import dev.glimpse.model.Captioner;
import dev.glimpse.model.EngineDtype;
import dev.glimpse.model.Idefics3ImageProcessor;
import dev.glimpse.model.Idefics3Settings;
import dev.glimpse.model.ImagePreprocessor;
import dev.glimpse.model.Qwen2VlImageProcessor;
import dev.glimpse.model.Qwen2VlModel;
import dev.glimpse.model.RgbImage;
import java.nio.file.Path;

/**
 * What {@link PatchEmbedder} does to one decoded image, without Flink: resize, normalise, cut into
 * patches and apply the patch embedding, for each test-time view (or each SmolVLM tile), on the CPU,
 * with the model this JVM shares. A Qwen2-VL image is preprocessed as its processor does (resized
 * to its own size, patches in merge-window order); its vision tower embeds them. The SQL model
 * provider embeds its rows with it too.
 */
public final class ImageEmbedding implements AutoCloseable {
    private SharedModels.Handle model;
    private final ImagePreprocessor preprocessor;
    /** An Idefics3 (SmolVLM) model's tile splitter; null for the others. */
    private final Idefics3ImageProcessor tiler;
    private final Captioner captioner;
    /** A Qwen2-VL model's image processor; null for the others. */
    private final Qwen2VlImageProcessor qwen2Vl;

    /**
     * {@code dtype}: the type of the shared model's matrices ({@code engine.dtype}; null: this JVM's
     * {@link EngineDtype#configured()}), the captioner's too, so that both share one model.
     * {@code testTimeViews}: the model's test-time views ({@code view_shifts}), else one unmoved view.
     * {@code imageSplitting}: an Idefics3 (SmolVLM) image is split into tiles as its folder's
     * preprocessor says; false: only the global image (one tile) is embedded. {@code maxImageTokens}
     * above 0 caps a Qwen2-VL image's merged image tokens ({@code generation.max-image-tokens}): larger
     * images are resized further down.
     */
    public ImageEmbedding(String modelDir, EngineDtype dtype, boolean testTimeViews, boolean imageSplitting,
                          int maxImageTokens) {
        model = SharedModels.acquire(Path.of(modelDir), Device.cpu(), dtype);
        Qwen2VlModel qwen = model.qwen2Vl();
        if (qwen != null) {
            qwen2Vl = new Qwen2VlImageProcessor(maxImageTokens > 0 ? qwen.config().withMaxImageTokens(maxImageTokens)
                    : qwen.config());
            preprocessor = null;
            captioner = null;
            tiler = null;
            return;
        }
        qwen2Vl = null;
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
        if (qwen2Vl != null) {
            Qwen2VlImageProcessor.Patches p = qwen2Vl.process(new RgbImage(rgb.width(), rgb.height(), rgb.rgb()));
            embedded = EmbeddedImage.qwen2Vl(r, p.values(), p.gridT(), p.gridH(), p.gridW());
        } else if (tiler != null) {
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
