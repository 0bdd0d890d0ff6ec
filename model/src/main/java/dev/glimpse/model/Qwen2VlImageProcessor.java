package dev.glimpse.model;

/**
 * Qwen2-VL's image processor as transformers' {@code Qwen2VLImageProcessor} (v4.47.1) runs it on one
 * image: the image converted to RGB (alpha dropped, as Pillow's {@code convert("RGB")}), resized with
 * Pillow's filter to {@link #smartResize}'s size, rescaled and normalised, duplicated into
 * {@code temporal_patch_size} identical frames, and cut into patches flattened in merge-window order:
 * the windows of {@code merge x merge} patches row-major, the patches inside a window row-major, each
 * patch's values channel, frame, y, x.
 */
public final class Qwen2VlImageProcessor {
    /** One image's patches {@code [t·h·w, C·T·P·P]} and its grid in patches (before merging). */
    public record Patches(float[] values, int gridT, int gridH, int gridW) {
        public int count() {
            return gridT * gridH * gridW;
        }

        /** Image tokens the decoder reads for this image: the patches merged {@code merge x merge}. */
        public int mergedTokens(int mergeSize) {
            return count() / (mergeSize * mergeSize);
        }
    }

    private final Qwen2VlConfig cfg;
    private final PillowResampler.Filter filter;

    public Qwen2VlImageProcessor(Qwen2VlConfig cfg) {
        this.cfg = cfg;
        this.filter = PillowResampler.Filter.of(cfg.resample());
    }

    /**
     * {@code smart_resize}: the size nearest to {@code height x width} whose sides are multiples of
     * the factor (Python's {@code round}, half to even) and whose area lies in [min_pixels, max_pixels]
     * (scaled down with floor, up with ceil, keeping the aspect ratio). Returns {@code {h, w}}.
     */
    public static int[] smartResize(int height, int width, int factor, int minPixels, int maxPixels) {
        if (height < factor || width < factor) {
            throw new IllegalArgumentException("image of " + width + "x" + height + " is smaller than " + factor
                    + " pixels on a side");
        }
        if ((double) Math.max(height, width) / Math.min(height, width) > 200) {
            throw new IllegalArgumentException("image of " + width + "x" + height + " has an aspect ratio above 200");
        }
        long hBar = (long) Math.rint((double) height / factor) * factor; // rint: half to even, as Python's round
        long wBar = (long) Math.rint((double) width / factor) * factor;
        if (hBar * wBar > maxPixels) {
            double beta = Math.sqrt((double) ((long) height * width) / maxPixels);
            hBar = (long) Math.floor(height / beta / factor) * factor;
            wBar = (long) Math.floor(width / beta / factor) * factor;
        } else if (hBar * wBar < minPixels) {
            double beta = Math.sqrt(minPixels / (double) ((long) height * width));
            hBar = (long) Math.ceil(height * beta / factor) * factor;
            wBar = (long) Math.ceil(width * beta / factor) * factor;
        }
        return new int[] {Math.toIntExact(hBar), Math.toIntExact(wBar)};
    }

    /** The size {@code image} is resized to: {@code {h, w}}. */
    public int[] targetSize(int height, int width) {
        return smartResize(height, width, cfg.factor(), cfg.minPixels(), cfg.maxPixels());
    }

    /** {@code image} resized as the processor resizes it (before rescaling), 8-bit RGB. */
    public RgbImage resized(RgbImage image) {
        int[] size = targetSize(image.height(), image.width());
        RgbImage rgb = new RgbImage(image.width(), image.height(), image.rgb());
        return PillowResampler.resize(rgb, size[1], size[0], filter);
    }

    public Patches process(RgbImage image) {
        RgbImage r = resized(image);
        int h = r.height();
        int w = r.width();
        int p = cfg.patchSize();
        int m = cfg.mergeSize();
        int frames = cfg.temporalPatchSize();
        int gh = h / p;
        int gw = w / p;
        float[] normalised = new float[3 * h * w]; // [C, H, W]
        byte[] rgb = r.rgb();
        float[] mean = cfg.imageMean();
        float[] std = cfg.imageStd();
        double scale = cfg.rescaleFactor();
        for (int i = 0; i < h * w; i++) {
            for (int c = 0; c < 3; c++) {
                float x = (float) ((rgb[3 * i + c] & 0xFF) * scale); // float32(float64(x) * scale)
                normalised[c * h * w + i] = (x - mean[c]) / std[c];
            }
        }
        int perPatch = cfg.patchValues();
        float[] out = new float[gh * gw * perPatch];
        for (int pr = 0; pr < gh; pr++) {
            for (int pc = 0; pc < gw; pc++) {
                int row = ((pr / m) * (gw / m) + pc / m) * m * m + (pr % m) * m + (pc % m);
                int at = row * perPatch;
                for (int c = 0; c < 3; c++) {
                    for (int f = 0; f < frames; f++) { // a still image: every frame is the same picture
                        for (int y = 0; y < p; y++) {
                            System.arraycopy(normalised, c * h * w + (pr * p + y) * w + pc * p, out, at, p);
                            at += p;
                        }
                    }
                }
            }
        }
        return new Patches(out, 1, gh, gw);
    }
}
