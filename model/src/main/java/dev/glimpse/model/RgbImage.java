package dev.glimpse.model;

import java.io.Serializable;

/**
 * A decoded image as interleaved 8-bit RGB, row-major: compact enough to pass between operators.
 * Two facts about its source travel with it for SmolVLM, whose processor treats such images as
 * Pillow does ({@link Idefics3ImageProcessor}): {@code alpha}, one byte per pixel (null when the
 * source has no alpha channel), and {@code singleBand}, true when the source had one band (grey or
 * palette indices, Pillow's modes L and P). Every other model reads {@code rgb} alone.
 */
public record RgbImage(int width, int height, byte[] rgb, byte[] alpha, boolean singleBand) implements Serializable {
    public RgbImage {
        if (width <= 0 || height <= 0 || rgb.length != 3 * width * height) {
            throw new IllegalArgumentException("RGB buffer of " + rgb.length + " bytes does not fit " + width + "x" + height);
        }
        if (alpha != null && alpha.length != width * height) {
            throw new IllegalArgumentException("alpha buffer of " + alpha.length + " bytes does not fit " + width + "x" + height);
        }
    }

    /** An opaque image of three bands. */
    public RgbImage(int width, int height, byte[] rgb) {
        this(width, height, rgb, null, false);
    }
}
