package dev.glimpse.operators;

import dev.glimpse.model.ViewPlan;

/**
 * An image as the patch embedding left it: {@code [views, N, D_vit]} floats, ready for the
 * transformer. {@code views} is 1 unless the model captions from several test-time views; {@code
 * viewConfidence} is their {@link ViewPlan#confidence()}.
 */
public class EmbeddedImage {
    public ImageRequest request;
    public float[] patches;
    public int views = 1;
    public double viewConfidence;

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

    /** How the views are decoded. */
    ViewPlan plan() {
        return new ViewPlan(views, viewConfidence);
    }
}
