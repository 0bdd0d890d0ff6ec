package dev.glimpse.model;

/**
 * Pillow's {@code Image.resize} for 8-bit RGB and RGBA, byte for byte (libImaging/Resample.c, as in Pillow
 * 9.4): a separable convolution, the horizontal pass first, then the vertical one on the 8-bit
 * result of the first; each output sample's filter is centred on its source position, its support
 * widened by the downscale factor, its weights normalised to sum 1 and then rounded to 22-bit fixed
 * point; each pass rounds half up and clips to 0..255. The float arithmetic follows the C code step
 * by step, since one level of difference in a byte is 2/255 after SmolVLM's normalisation.
 */
public final class PillowResampler {
    /** Pillow's number for LANCZOS ({@code Image.Resampling.LANCZOS}), the Idefics3 processor's default. */
    public static final int LANCZOS = 1;

    private static final int PRECISION_BITS = 32 - 8 - 2;

    /** Pillow's resampling filters other than NEAREST, by their numbers in {@code Image.Resampling}. */
    public enum Filter {
        LANCZOS(1, 3.0) {
            @Override double weight(double x) {
                return -3.0 <= x && x < 3.0 ? sinc(x) * sinc(x / 3) : 0.0;
            }
        },
        BILINEAR(2, 1.0) {
            @Override double weight(double x) {
                x = Math.abs(x);
                return x < 1.0 ? 1.0 - x : 0.0;
            }
        },
        BICUBIC(3, 2.0) {
            @Override double weight(double x) {
                final double a = -0.5;
                x = Math.abs(x);
                if (x < 1.0) {
                    return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
                }
                return x < 2.0 ? (((x - 5) * x + 8) * x - 4) * a : 0.0;
            }
        },
        BOX(4, 0.5) {
            @Override double weight(double x) {
                return x > -0.5 && x <= 0.5 ? 1.0 : 0.0;
            }
        },
        HAMMING(5, 1.0) {
            @Override double weight(double x) {
                x = Math.abs(x);
                if (x == 0.0) {
                    return 1.0;
                }
                if (x >= 1.0) {
                    return 0.0;
                }
                x = x * Math.PI;
                return Math.sin(x) / x * (0.54f + 0.46f * Math.cos(x));
            }
        };

        final int pillowNumber;
        final double support;

        Filter(int pillowNumber, double support) {
            this.pillowNumber = pillowNumber;
            this.support = support;
        }

        abstract double weight(double x);

        /** The filter Pillow numbers {@code n} ({@code preprocessor_config.json}'s {@code resample}). */
        public static Filter of(int n) {
            for (Filter f : values()) {
                if (f.pillowNumber == n) {
                    return f;
                }
            }
            throw new IllegalArgumentException("resample " + n + " is not a supported Pillow filter"
                    + " (1 LANCZOS, 2 BILINEAR, 3 BICUBIC, 4 BOX, 5 HAMMING)");
        }
    }

    private PillowResampler() {}

    private static double sinc(double x) {
        if (x == 0.0) {
            return 1.0;
        }
        x = x * Math.PI;
        return Math.sin(x) / x;
    }

    /** Per output sample: the first input sample, how many it reads, and their fixed-point weights. */
    private record Coefficients(int[] first, int[] count, int[][] weights) {}

    /** {@code precompute_coeffs} then {@code normalize_coeffs_8bpc}, for the whole input range. */
    private static Coefficients coefficients(int inSize, int outSize, Filter filter) {
        double scale = (double) inSize / outSize;
        double filterScale = Math.max(scale, 1.0);
        double support = filter.support * filterScale;
        int[] first = new int[outSize];
        int[] count = new int[outSize];
        int[][] fixed = new int[outSize][];
        for (int xx = 0; xx < outSize; xx++) {
            double center = (xx + 0.5) * scale;
            double ss = 1.0 / filterScale;
            int xmin = Math.max(0, (int) (center - support + 0.5));
            int xmax = Math.min(inSize, (int) (center + support + 0.5)) - xmin;
            double[] k = new double[Math.max(0, xmax)];
            double ww = 0.0;
            for (int x = 0; x < xmax; x++) {
                double w = filter.weight((x + xmin - center + 0.5) * ss);
                k[x] = w;
                ww += w;
            }
            int[] q = new int[k.length];
            for (int x = 0; x < k.length; x++) {
                double v = ww != 0.0 ? k[x] / ww : k[x];
                q[x] = v < 0 ? (int) (-0.5 + v * (1 << PRECISION_BITS)) : (int) (0.5 + v * (1 << PRECISION_BITS));
            }
            first[xx] = xmin;
            count[xx] = k.length;
            fixed[xx] = q;
        }
        return new Coefficients(first, count, fixed);
    }

    private static int clip8(int accumulated) {
        int v = accumulated >> PRECISION_BITS;
        return v < 0 ? 0 : Math.min(v, 255);
    }

    /** {@code image} resized to {@code width x height} with {@code filter}, as Pillow resizes an RGB image. */
    public static RgbImage resize(RgbImage image, int width, int height, Filter filter) {
        if (width == image.width() && height == image.height()) {
            return image;
        }
        return new RgbImage(width, height, resample(image.rgb(), 3, image.width(), image.height(), width, height, filter));
    }

    /**
     * Interleaved RGBA {@code inW x inH} resized as Pillow resizes an RGBA image with a filter: to
     * premultiplied RGBa, resampled band by band, and back ({@code Image.resize}; the conversions
     * are Convert.c's, each rounding to 8 bits). The same size is a copy, as in Pillow.
     */
    public static byte[] resizeRgba(byte[] rgba, int inW, int inH, int width, int height, Filter filter) {
        if (width == inW && height == inH) {
            return rgba.clone();
        }
        byte[] premultiplied = new byte[rgba.length];
        for (int i = 0; i < rgba.length; i += 4) {
            int alpha = rgba[i + 3] & 0xFF;
            for (int c = 0; c < 3; c++) {
                premultiplied[i + c] = (byte) mulDiv255(rgba[i + c] & 0xFF, alpha);
            }
            premultiplied[i + 3] = rgba[i + 3];
        }
        byte[] out = resample(premultiplied, 4, inW, inH, width, height, filter);
        for (int i = 0; i < out.length; i += 4) {
            int alpha = out[i + 3] & 0xFF;
            if (alpha != 255 && alpha != 0) {
                for (int c = 0; c < 3; c++) {
                    out[i + c] = (byte) Math.min(255, 255 * (out[i + c] & 0xFF) / alpha);
                }
            }
        }
        return out;
    }

    /**
     * {@code image} resized as Pillow resizes with NEAREST (as it does every palette image):
     * output pixel x reads input pixel {@code (int) (x0 + x * scale)}, the position accumulated in
     * double precision from {@code x0 = scale / 2} as libImaging's {@code ImagingScaleAffine} does.
     */
    public static RgbImage resizeNearest(RgbImage image, int width, int height) {
        int inW = image.width();
        int inH = image.height();
        if (width <= 0 || height <= 0) {
            throw new IllegalArgumentException("cannot resize to " + width + "x" + height);
        }
        if (width == inW && height == inH) {
            return image;
        }
        int[] column = nearestPositions(inW, width);
        int[] row = nearestPositions(inH, height);
        byte[] src = image.rgb();
        byte[] dst = new byte[3 * width * height];
        for (int y = 0; y < height; y++) {
            for (int x = 0; x < width; x++) {
                System.arraycopy(src, 3 * (row[y] * inW + column[x]), dst, 3 * (y * width + x), 3);
            }
        }
        return new RgbImage(width, height, dst);
    }

    private static int[] nearestPositions(int inSize, int outSize) {
        double scale = (double) inSize / outSize;
        double at = scale * 0.5;
        int[] positions = new int[outSize];
        for (int i = 0; i < outSize; i++) {
            positions[i] = Math.min(inSize - 1, (int) at); // at stays below inSize; the bound is for rounding
            at += scale;
        }
        return positions;
    }

    /** Pillow's {@code MULDIV255}: {@code a * b / 255} rounded, in integers. */
    static int mulDiv255(int a, int b) {
        int t = a * b + 128;
        return ((t >> 8) + t) >> 8;
    }

    /** Interleaved 8-bit pixels of {@code bands} bands resampled with {@code filter}; every band alike. */
    private static byte[] resample(byte[] src, int bands, int inW, int inH, int width, int height, Filter filter) {
        if (width <= 0 || height <= 0) {
            throw new IllegalArgumentException("cannot resize to " + width + "x" + height);
        }
        Coefficients vertical = coefficients(inH, height, filter);
        int rowsFrom = 0;
        int srcW = inW;
        if (width != inW) {
            // Only the source rows the vertical pass reads are resampled horizontally.
            rowsFrom = vertical.first()[0];
            int rowsTo = vertical.first()[height - 1] + vertical.count()[height - 1];
            int rows = rowsTo - rowsFrom;
            Coefficients horizontal = coefficients(inW, width, filter);
            byte[] tmp = new byte[bands * width * rows];
            int[] sums = new int[bands];
            for (int y = 0; y < rows; y++) {
                int in = bands * (y + rowsFrom) * inW;
                int out = bands * y * width;
                for (int xx = 0; xx < width; xx++) {
                    int[] k = horizontal.weights()[xx];
                    int xmin = horizontal.first()[xx];
                    java.util.Arrays.fill(sums, 1 << (PRECISION_BITS - 1));
                    for (int x = 0; x < k.length; x++) {
                        int p = in + bands * (x + xmin);
                        for (int b = 0; b < bands; b++) {
                            sums[b] += (src[p + b] & 0xFF) * k[x];
                        }
                    }
                    for (int b = 0; b < bands; b++) {
                        tmp[out + bands * xx + b] = (byte) clip8(sums[b]);
                    }
                }
            }
            src = tmp;
            srcW = width;
        }
        if (height == inH) {
            return src; // the horizontal pass's output (callers never ask for the same size)
        }
        byte[] dst = new byte[bands * width * height];
        for (int yy = 0; yy < height; yy++) {
            int[] k = vertical.weights()[yy];
            int ymin = vertical.first()[yy] - rowsFrom;
            int out = bands * yy * width;
            for (int xx = 0; xx < bands * width; xx++) {
                int s = 1 << (PRECISION_BITS - 1);
                for (int y = 0; y < k.length; y++) {
                    s += (src[bands * (y + ymin) * srcW + xx] & 0xFF) * k[y];
                }
                dst[out + xx] = (byte) clip8(s);
            }
        }
        return dst;
    }
}
