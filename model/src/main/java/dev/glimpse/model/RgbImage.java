package dev.glimpse.model;

import java.io.Serializable;

/** A decoded image as interleaved 8-bit RGB, row-major: compact enough to pass between operators. */
public record RgbImage(int width, int height, byte[] rgb) implements Serializable {
    public RgbImage {
        if (width <= 0 || height <= 0 || rgb.length != 3 * width * height) {
            throw new IllegalArgumentException("RGB buffer of " + rgb.length + " bytes does not fit " + width + "x" + height);
        }
    }
}
