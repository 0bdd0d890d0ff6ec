package dev.glimpse.model.scenes;

import java.awt.Graphics2D;
import java.awt.Image;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.awt.image.PixelGrabber;

/** A common image resize filter, so that training images carry the artefacts of real resizes. */
public enum ResizeFilter {
    NEAREST(RenderingHints.VALUE_INTERPOLATION_NEAREST_NEIGHBOR),
    BILINEAR(RenderingHints.VALUE_INTERPOLATION_BILINEAR),
    BICUBIC(RenderingHints.VALUE_INTERPOLATION_BICUBIC),
    /** Box filter over the covered source pixels; Java2D has no hint for it. */
    AREA_AVERAGING(null);

    private final Object interpolation;

    ResizeFilter(Object interpolation) {
        this.interpolation = interpolation;
    }

    /** Resizes a square image to {@code size} x {@code size}. */
    public BufferedImage resize(BufferedImage source, int size) {
        BufferedImage target = new BufferedImage(size, size, BufferedImage.TYPE_INT_RGB);
        if (interpolation == null) {
            target.setRGB(0, 0, size, size, areaAverage(source, size), 0, size);
            return target;
        }
        Graphics2D g = target.createGraphics();
        try {
            g.setRenderingHint(RenderingHints.KEY_INTERPOLATION, interpolation);
            g.drawImage(source, 0, 0, size, size, null);
        } finally {
            g.dispose();
        }
        return target;
    }

    private static int[] areaAverage(BufferedImage source, int size) {
        Image scaled = source.getScaledInstance(size, size, Image.SCALE_AREA_AVERAGING);
        int[] pixels = new int[size * size];
        // The scaled image is produced lazily; the grabber waits for all of it.
        PixelGrabber grabber = new PixelGrabber(scaled, 0, 0, size, size, pixels, 0, size);
        try {
            if (!grabber.grabPixels()) {
                throw new IllegalStateException("area-averaging resize failed");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while resizing", e);
        }
        return pixels;
    }
}
