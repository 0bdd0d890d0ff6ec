package dev.glimpse.operators;

/** An image decoded to 8-bit RGB (subsampled while decoding when far larger than the model's input). */
public class DecodedImage {
    public ImageRequest request;
    public int width;
    public int height;
    /** Interleaved RGB, row-major. */
    public byte[] rgb;

    public DecodedImage() {}

    public DecodedImage(ImageRequest request, int width, int height, byte[] rgb) {
        this.request = request;
        this.width = width;
        this.height = height;
        this.rgb = rgb;
    }
}
