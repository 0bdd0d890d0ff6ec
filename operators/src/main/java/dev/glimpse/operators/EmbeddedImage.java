package dev.glimpse.operators;

import dev.glimpse.model.Idefics3ImageProcessor;
import dev.glimpse.model.ViewPlan;
import org.apache.flink.api.common.typeinfo.TypeInfo;

/**
 * An image as the patch embedding left it: {@code [views, N, D_vit]} floats (an Idefics3 model:
 * {@code [tiles, N, D_vit]}), ready for the transformer. {@code views} is 1 unless the model captions from several test-time views; {@code
 * viewConfidence} is their {@link ViewPlan#confidence()}. Between the CPU stages and the captioner
 * the patches travel as F16 ({@link EmbeddedImageSerializer}).
 */
@TypeInfo(EmbeddedImageTypeInfo.Factory.class)
public class EmbeddedImage {
    public ImageRequest request;
    public float[] patches;
    public int views = 1;
    public double viewConfidence;
    /** An Idefics3 (SmolVLM) image's tile grid; 0 x 0 for the global image alone (and for every other model). */
    public int tileRows;
    public int tileCols;
    /**
     * A Qwen2-VL image: its grid in patches (frames, rows, columns), {@code patches} then holding its
     * preprocessed patches {@code [t·h·w, C·T·P·P]} (the vision tower embeds them); 0 for every other model.
     */
    public int gridT;
    public int gridH;
    public int gridW;

    public EmbeddedImage() {}

    public EmbeddedImage(ImageRequest request, float[] patches) {
        this(request, patches, ViewPlan.SINGLE);
    }

    public EmbeddedImage(ImageRequest request, float[] patches, ViewPlan plan) {
        this.request = request;
        this.patches = patches;
        this.views = plan.rows();
        this.viewConfidence = plan.confidence();
    }

    /** An Idefics3 (SmolVLM) image: {@code [tiles, N, D_vit]}, the grid's tiles row by row, then the global image. */
    public static EmbeddedImage tiled(ImageRequest request, float[] patches, int rows, int cols) {
        EmbeddedImage e = new EmbeddedImage(request, patches);
        e.tileRows = rows;
        e.tileCols = cols;
        return e;
    }

    /** A Qwen2-VL image: its patches in merge-window order and its grid. */
    public static EmbeddedImage qwen2Vl(ImageRequest request, float[] patches, int gridT, int gridH, int gridW) {
        EmbeddedImage e = new EmbeddedImage(request, patches);
        e.gridT = gridT;
        e.gridH = gridH;
        e.gridW = gridW;
        return e;
    }

    /** Tiles of an Idefics3 image (1 for every other model). */
    int tiles() {
        return Idefics3ImageProcessor.tileCount(tileRows, tileCols);
    }

    /** How the views are decoded. */
    public ViewPlan plan() {
        return new ViewPlan(views, viewConfidence);
    }
}
