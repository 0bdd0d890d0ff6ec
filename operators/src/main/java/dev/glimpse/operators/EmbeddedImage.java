package dev.glimpse.operators;

/** An image as the patch embedding left it: {@code [N, D_vit]} floats, ready for the transformer. */
public class EmbeddedImage {
    public ImageRequest request;
    public float[] patches;

    public EmbeddedImage() {}

    public EmbeddedImage(ImageRequest request, float[] patches) {
        this.request = request;
        this.patches = patches;
    }
}
