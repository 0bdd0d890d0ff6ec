package dev.glimpse.model.scenes;

import java.util.Random;

/**
 * How one scene is turned into image bytes.
 *
 * @param canvas           side of the final square image in pixels
 * @param antialias        whether object edges are anti-aliased
 * @param jitterObject     most an object's colour channel may move from nominal (contract: 20)
 * @param jitterBackground most a background channel may move from nominal (contract: 10)
 * @param format           {@link #PNG} or {@link #JPEG}
 * @param jpegQuality      JPEG quality as ImageIO takes it, 0 to 1; ignored for PNG
 * @param preResize        null to render at the canvas size directly
 */
public record RenderOptions(
        int canvas,
        boolean antialias,
        int jitterObject,
        int jitterBackground,
        String format,
        float jpegQuality,
        PreResize preResize) {

    public static final String PNG = "png";
    public static final String JPEG = "jpeg";

    static final int MIN_CANVAS = 64;
    static final int MAX_CANVAS = 512;
    static final int MAX_COMMON_CANVAS = 160;
    static final int MAX_JITTER_OBJECT = 20;
    static final int MAX_JITTER_BACKGROUND = 10;
    static final int MIN_JPEG_PERCENT = 50;
    static final int MAX_JPEG_PERCENT = 95;
    static final int MAX_HARD_CANVAS = 128;
    static final int MAX_HARD_JPEG_PERCENT = 70;
    static final int MIN_RENDER_SIZE = 48;
    static final int MAX_RENDER_SIZE = 1024;

    public RenderOptions {
        if (canvas < 1) {
            throw new IllegalArgumentException("canvas must be positive, got " + canvas);
        }
        if (jitterObject < 0 || jitterObject > 255) {
            throw new IllegalArgumentException(
                    "jitterObject must be in 0..255, got " + jitterObject);
        }
        if (jitterBackground < 0 || jitterBackground > 255) {
            throw new IllegalArgumentException(
                    "jitterBackground must be in 0..255, got " + jitterBackground);
        }
        if (!PNG.equals(format) && !JPEG.equals(format)) {
            throw new IllegalArgumentException("format must be png or jpeg, got " + format);
        }
        if (!(jpegQuality >= 0 && jpegQuality <= 1)) {
            throw new IllegalArgumentException("jpegQuality must be in 0..1, got " + jpegQuality);
        }
    }

    /** The size the scene is drawn at before any resize. */
    public int renderSize() {
        return preResize == null ? canvas : preResize.renderSize();
    }

    /** The file name extension for {@link #format}. */
    public String fileExtension() {
        return PNG.equals(format) ? "png" : "jpg";
    }

    /** Draws options covering everything the scenes contract allows a renderer to do. */
    public static RenderOptions random(Random rnd) {
        // Half the draws at the small sizes that most training and serving uses.
        int maxCanvas = rnd.nextBoolean() ? MAX_COMMON_CANVAS : MAX_CANVAS;
        return draw(rnd, maxCanvas, 0.4, MAX_JPEG_PERCENT);
    }

    /**
     * Draws options from the hardest corner of the contract, where the built-in model makes most of
     * its mistakes: canvases of {@value #MIN_CANVAS}-{@value #MAX_HARD_CANVAS} px and, three times in
     * four, JPEG at quality {@value #MIN_JPEG_PERCENT}-{@value #MAX_HARD_JPEG_PERCENT}. Everything
     * else (edges, jitter, pre-resize) is drawn as in {@link #random}.
     */
    public static RenderOptions hard(Random rnd) {
        return draw(rnd, MAX_HARD_CANVAS, 0.25, MAX_HARD_JPEG_PERCENT);
    }

    /** Canvas up to {@code maxCanvas}, PNG with probability {@code pngShare}, else JPEG up to that quality. */
    private static RenderOptions draw(Random rnd, int maxCanvas, double pngShare, int maxJpegPercent) {
        int canvas = MIN_CANVAS + rnd.nextInt(maxCanvas - MIN_CANVAS + 1);
        boolean antialias = rnd.nextBoolean();
        int jitterObject = rnd.nextInt(MAX_JITTER_OBJECT + 1);
        int jitterBackground = rnd.nextInt(MAX_JITTER_BACKGROUND + 1);
        boolean png = rnd.nextDouble() < pngShare;
        float quality = png
                ? 1f
                : (MIN_JPEG_PERCENT + rnd.nextInt(maxJpegPercent - MIN_JPEG_PERCENT + 1)) / 100f;
        PreResize preResize = rnd.nextDouble() < 0.3 ? randomPreResize(canvas, rnd) : null;
        return new RenderOptions(canvas, antialias, jitterObject, jitterBackground,
                png ? PNG : JPEG, quality, preResize);
    }

    private static PreResize randomPreResize(int canvas, Random rnd) {
        // Scale log-uniform in 0.5x..2x, so down- and up-scaling are equally likely.
        double scale = Math.pow(2, 2 * rnd.nextDouble() - 1);
        int renderSize = (int) Math.round(canvas * scale);
        renderSize = Math.max(MIN_RENDER_SIZE, Math.min(MAX_RENDER_SIZE, renderSize));
        ResizeFilter[] filters = ResizeFilter.values();
        return new PreResize(renderSize, filters[rnd.nextInt(filters.length)]);
    }
}
