package dev.glimpse.operators;

/**
 * An image as the patch embedding left it: {@code [views, N, D_vit]} floats, ready for the
 * transformer; {@code views} is 1 unless the model captions from several test-time views.
 */
public class EmbeddedImage {
    public ImageRequest request;
    public float[] patches;
    public int views = 1;

    public EmbeddedImage() {}

    public EmbeddedImage(ImageRequest request, float[] patches) {
        this(request, patches, 1);
    }

    public EmbeddedImage(ImageRequest request, float[] patches, int views) {
        this.request = request;
        this.patches = patches;
        this.views = views;
    }
}
