package dev.glimpse.operators;

import dev.glimpse.model.RgbImage;

/** An image decoded to 8-bit RGB (subsampled while decoding when far larger than the model's input). */
public class DecodedImage {
    public ImageRequest request;
    public int width;
    public int height;
    /** Interleaved RGB, row-major. */
    public byte[] rgb;
    /** The source's alpha channel, one byte per pixel, unapplied; null when it has none ({@link RgbImage#alpha}). */
    public byte[] alpha;
    /** The source was grey or a palette ({@link RgbImage#singleBand}). */
    public boolean singleBand;

    public DecodedImage() {}

    public DecodedImage(ImageRequest request, int width, int height, byte[] rgb) {
        this.request = request;
        this.width = width;
        this.height = height;
        this.rgb = rgb;
    }

    public DecodedImage(ImageRequest request, RgbImage image) {
        this(request, image.width(), image.height(), image.rgb());
        this.alpha = image.alpha();
        this.singleBand = image.singleBand();
    }

    public RgbImage image() {
        return new RgbImage(width, height, rgb, alpha, singleBand);
    }
}
