package dev.glimpse.model;

/**
 * SmolVLM's image preprocessing, as transformers' {@code Idefics3ImageProcessor} does it: resize so
 * the longest edge is {@code size.longest_edge} (the other edge rounded to even); resize again to
 * whole multiples of the tile side; cut that into a row-major grid of tiles and append the global
 * image (the whole, resized to one tile) last; or, with splitting off, only the image squashed to
 * one tile. Every resize is Pillow's ({@link PillowResampler}) with the folder's filter; then pixels
 * are rescaled and normalised in float32 as numpy does. Tiles are always full-size, so no tile of a
 * single image needs a padding mask; {@link #pixelAttentionMask} gives the processor's mask of a
 * batch padded to its largest tile count.
 */
public final class Idefics3ImageProcessor {
    /** transformers' upper bound on the first resize ({@code _resize_output_size_scale_below_upper_bound}). */
    static final int MAX_IMAGE_EDGE = 4096;

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

    public Tiles process(RgbImage image) {
        RgbImage resized = settings.doResize() ? resizeLongestEdge(image) : image;
        if (!settings.doImageSplitting()) {
            RgbImage square = PillowResampler.resize(resized, tile, tile, filter);
            return new Tiles(normalised(new RgbImage[] {square}), 1, 0, 0);
        }
        RgbImage grid = resizeToTileMultiples(resized);
        int h = grid.height();
        int w = grid.width();
        if (h <= tile && w <= tile) {
            return new Tiles(normalised(new RgbImage[] {grid}), 1, 0, 0);
        }
        int rows = ceilDiv(h, tile);
        int cols = ceilDiv(w, tile);
        int cropH = ceilDiv(h, rows);
        int cropW = ceilDiv(w, cols);
        RgbImage[] tiles = new RgbImage[rows * cols + 1];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                tiles[r * cols + c] = crop(grid, c * cropW, r * cropH, Math.min((c + 1) * cropW, w),
                        Math.min((r + 1) * cropH, h));
            }
        }
        tiles[rows * cols] = PillowResampler.resize(grid, tile, tile, filter);
        return new Tiles(normalised(tiles), tiles.length, rows, cols);
    }

    /** {@code get_resize_output_image_size}: the longest edge to {@code size.longest_edge}, the other even. */
    RgbImage resizeLongestEdge(RgbImage image) {
        int height = image.height();
        int width = image.width();
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
        return PillowResampler.resize(image, Math.max(width, 1), Math.max(height, 1), filter);
    }

    /** {@code resize_for_vision_encoder}: both edges to whole multiples of the tile side, keeping the aspect roughly. */
    RgbImage resizeToTileMultiples(RgbImage image) {
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
        return PillowResampler.resize(image, width, height, filter);
    }

    private static int ceilDiv(int a, int b) {
        return (int) Math.ceil((double) a / b);
    }

    private static RgbImage crop(RgbImage image, int x0, int y0, int x1, int y1) {
        int w = x1 - x0;
        int h = y1 - y0;
        byte[] out = new byte[3 * w * h];
        for (int y = 0; y < h; y++) {
            System.arraycopy(image.rgb(), 3 * ((y0 + y) * image.width() + x0), out, 3 * y * w, 3 * w);
        }
        return new RgbImage(w, h, out);
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
