package dev.glimpse.model;

/**
 * SmolVLM's image preprocessing, as transformers' {@code Idefics3ImageProcessor} does it: resize so
 * the longest edge is {@code size.longest_edge} (the other edge rounded to even); resize again to
 * whole multiples of the tile side; cut that into a row-major grid of tiles and append the global
 * image (the whole, resized to one tile) last; or, with splitting off, only the image squashed to
 * one tile. Every resize is Pillow's ({@link PillowResampler}) for the image's mode: the folder's
 * filter for RGB, the same filter on premultiplied alpha for RGBA (composited over white only after
 * the last resize, per tile, as the processor's {@code convert_to_rgb} runs after splitting),
 * NEAREST for grey and palette images (Pillow resizes one-band mode P with NEAREST whatever the
 * filter, and the processor gives it every one-band array as mode P). Then pixels are rescaled and
 * normalised in float32 as numpy does. Tiles are always full-size, so no tile of a
 * single image needs a padding mask; {@link #pixelAttentionMask} gives the processor's mask of a
 * batch padded to its largest tile count.
 */
public final class Idefics3ImageProcessor {
    /** transformers' upper bound on the first resize ({@code _resize_output_size_scale_below_upper_bound}). */
    static final int MAX_IMAGE_EDGE = 4096;
    /** Extra bits of precision of Pillow's {@code alpha_composite} ({@code PRECISION_BITS} in AlphaComposite.c). */
    private static final int COMPOSITE_BITS = 7;

    /**
     * One image as the model reads it.
     *
     * @param pixels {@code [count, 3, S, S]} planar floats, the grid's tiles row by row, then the global image
     * @param count tiles, {@code rows * cols + 1}, or 1 when the image is not split
     * @param rows tile rows of the grid (0 when the image is not split)
     * @param cols tile columns of the grid (0 when the image is not split)
     */
    public record Tiles(float[] pixels, int count, int rows, int cols) {}

    private final Idefics3Settings settings;
    private final PillowResampler.Filter filter;
    private final int tile;

    public Idefics3ImageProcessor(Idefics3Settings settings) {
        this.settings = settings;
        this.filter = PillowResampler.Filter.of(settings.resample());
        this.tile = settings.tileSize();
    }

    /** Tiles of an image whose grid is {@code rows x cols}: the grid plus the global image, or the global image alone. */
    public static int tileCount(int rows, int cols) {
        return rows == 0 && cols == 0 ? 1 : rows * cols + 1;
    }

    public int tileSize() {
        return tile;
    }

    /**
     * An image on its way through the processor, as the processor's numpy arrays hold it: three
     * bands, or four with alpha. {@code singleBand}: the source was grey or a palette, which the
     * processor hands to Pillow as a one-band image, resized with NEAREST (Pillow's rule for mode
     * P); resizing the palette's colours by nearest neighbour is the same as resizing the indices.
     */
    private record Picture(int width, int height, int bands, byte[] px, boolean singleBand) {}

    public Tiles process(RgbImage image) {
        Split split = split(image);
        return new Tiles(normalised(split.tiles()), split.tiles().length, split.rows(), split.cols());
    }

    /** An image's tiles as 8-bit RGB, before rescaling: the grid row by row, then the global image. */
    record Split(RgbImage[] tiles, int rows, int cols) {}

    Split split(RgbImage image) {
        Picture picture = image.alpha() == null ? new Picture(image.width(), image.height(), 3, image.rgb(), image.singleBand())
                : new Picture(image.width(), image.height(), 4, interleave(image), false);
        Picture resized = settings.doResize() ? resizeLongestEdge(picture) : picture;
        if (!settings.doImageSplitting()) {
            return new Split(new RgbImage[] {onWhite(resize(resized, tile, tile))}, 0, 0);
        }
        Picture grid = resizeToTileMultiples(resized);
        int h = grid.height();
        int w = grid.width();
        if (h <= tile && w <= tile) {
            return new Split(new RgbImage[] {onWhite(grid)}, 0, 0);
        }
        int rows = ceilDiv(h, tile);
        int cols = ceilDiv(w, tile);
        int cropH = ceilDiv(h, rows);
        int cropW = ceilDiv(w, cols);
        RgbImage[] tiles = new RgbImage[rows * cols + 1];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                tiles[r * cols + c] = onWhite(crop(grid, c * cropW, r * cropH, Math.min((c + 1) * cropW, w),
                        Math.min((r + 1) * cropH, h)));
            }
        }
        tiles[rows * cols] = onWhite(resize(grid, tile, tile));
        return new Split(tiles, rows, cols);
    }

    /** RGB and alpha as one RGBA array. */
    private static byte[] interleave(RgbImage image) {
        int n = image.width() * image.height();
        byte[] rgba = new byte[4 * n];
        for (int i = 0; i < n; i++) {
            System.arraycopy(image.rgb(), 3 * i, rgba, 4 * i, 3);
            rgba[4 * i + 3] = image.alpha()[i];
        }
        return rgba;
    }

    /** Pillow's resize of the picture's mode: premultiplied for RGBA, NEAREST for a single band, else the filter. */
    private Picture resize(Picture p, int width, int height) {
        if (p.bands() == 4) {
            return new Picture(width, height, 4, PillowResampler.resizeRgba(p.px(), p.width(), p.height(), width, height,
                    filter), false);
        }
        RgbImage rgb = new RgbImage(p.width(), p.height(), p.px());
        RgbImage out = p.singleBand() ? PillowResampler.resizeNearest(rgb, width, height)
                : PillowResampler.resize(rgb, width, height, filter);
        return new Picture(width, height, 3, out.rgb(), p.singleBand());
    }

    /**
     * The processor's {@code convert_to_rgb}: RGBA alpha-composited over opaque white with Pillow's
     * {@code Image.alpha_composite} (AlphaComposite.c's integer arithmetic, 7 extra bits of
     * precision), then the alpha dropped; three bands pass unchanged.
     */
    private static RgbImage onWhite(Picture p) {
        if (p.bands() == 3) {
            return new RgbImage(p.width(), p.height(), p.px());
        }
        int n = p.width() * p.height();
        byte[] rgb = new byte[3 * n];
        for (int i = 0; i < n; i++) {
            int a = p.px()[4 * i + 3] & 0xFF;
            if (a == 0) {
                rgb[3 * i] = rgb[3 * i + 1] = rgb[3 * i + 2] = (byte) 255;
                continue;
            }
            int outA255 = a * 255 + 255 * (255 - a); // the white background is opaque
            int coef1 = a * 255 * 255 * (1 << COMPOSITE_BITS) / outA255;
            int coef2 = 255 * (1 << COMPOSITE_BITS) - coef1;
            for (int c = 0; c < 3; c++) {
                int t = (p.px()[4 * i + c] & 0xFF) * coef1 + 255 * coef2 + (0x80 << COMPOSITE_BITS);
                rgb[3 * i + c] = (byte) ((((t >> 8) + t) >> 8) >> COMPOSITE_BITS);
            }
        }
        return new RgbImage(p.width(), p.height(), rgb);
    }

    /** {@code get_resize_output_image_size}: the longest edge to {@code size.longest_edge}, the other even. */
    private Picture resizeLongestEdge(Picture image) {
        int[] size = longestEdgeSize(image.width(), image.height());
        return resize(image, size[0], size[1]);
    }

    /** {@code [width, height]} of the first resize. */
    int[] longestEdgeSize(int width, int height) {
        int maxLen = settings.longestEdge();
        double aspect = (double) width / height;
        if (width >= height) {
            width = maxLen;
            height = (int) (width / aspect);
            if (height % 2 != 0) {
                height++;
            }
        } else {
            height = maxLen;
            width = (int) (height * aspect);
            if (width % 2 != 0) {
                width++;
            }
        }
        height = Math.max(height, 1);
        width = Math.max(width, 1);
        aspect = (double) width / height;
        if (width >= height && width > MAX_IMAGE_EDGE) {
            width = MAX_IMAGE_EDGE;
            height = (int) (width / aspect);
        } else if (height > width && height > MAX_IMAGE_EDGE) {
            height = MAX_IMAGE_EDGE;
            width = (int) (height * aspect);
        }
        return new int[] {Math.max(width, 1), Math.max(height, 1)};
    }

    /** {@code resize_for_vision_encoder}: both edges to whole multiples of the tile side, keeping the aspect roughly. */
    private Picture resizeToTileMultiples(Picture image) {
        int height = image.height();
        int width = image.width();
        double aspect = (double) width / height;
        if (width >= height) {
            width = ceilDiv(width, tile) * tile;
            height = ceilDiv((int) (width / aspect), tile) * tile;
        } else {
            height = ceilDiv(height, tile) * tile;
            width = ceilDiv((int) (height * aspect), tile) * tile;
        }
        return resize(image, width, height);
    }

    private static int ceilDiv(int a, int b) {
        return (int) Math.ceil((double) a / b);
    }

    private static Picture crop(Picture image, int x0, int y0, int x1, int y1) {
        int w = x1 - x0;
        int h = y1 - y0;
        int bands = image.bands();
        byte[] out = new byte[bands * w * h];
        for (int y = 0; y < h; y++) {
            System.arraycopy(image.px(), bands * ((y0 + y) * image.width() + x0), out, bands * y * w, bands * w);
        }
        return new Picture(w, h, bands, out, image.singleBand());
    }

    /** Tiles (each {@code S x S}) as {@code [n, 3, S, S]}: {@code float32(float64(x) * factor)}, then {@code (v - mean) / std} in float32. */
    private float[] normalised(RgbImage[] tiles) {
        int plane = tile * tile;
        float[] out = new float[tiles.length * 3 * plane];
        float[] lookup = new float[3 * 256];
        for (int c = 0; c < 3; c++) {
            for (int v = 0; v < 256; v++) {
                float x = settings.doRescale() ? (float) (v * settings.rescaleFactor()) : v;
                lookup[c * 256 + v] = settings.doNormalize() ? (x - settings.imageMean()[c]) / settings.imageStd()[c] : x;
            }
        }
        for (int t = 0; t < tiles.length; t++) {
            byte[] rgb = tiles[t].rgb();
            if (tiles[t].width() != tile || tiles[t].height() != tile) {
                throw new IllegalStateException("tile " + t + " is " + tiles[t].width() + "x" + tiles[t].height()
                        + ", not " + tile + "x" + tile);
            }
            int base = t * 3 * plane;
            for (int i = 0; i < plane; i++) {
                for (int c = 0; c < 3; c++) {
                    out[base + c * plane + i] = lookup[c * 256 + (rgb[3 * i + c] & 0xFF)];
                }
            }
        }
        return out;
    }

    /**
     * The processor's {@code pixel_attention_mask} of a batch whose rows have {@code tiles[r]} tiles,
     * padded to the largest count: {@code [B, maxTiles, S, S]}, 1 on every pixel of a real tile
     * (tiles are always full-size), 0 on padding tiles.
     */
    public long[] pixelAttentionMask(int[] tiles) {
        int max = 0;
        for (int t : tiles) {
            max = Math.max(max, t);
        }
        int plane = tile * tile;
        long[] mask = new long[tiles.length * max * plane];
        for (int r = 0; r < tiles.length; r++) {
            java.util.Arrays.fill(mask, r * max * plane, (r * max + tiles[r]) * plane, 1L);
        }
        return mask;
    }
}
