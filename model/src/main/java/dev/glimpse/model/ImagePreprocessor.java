package dev.glimpse.model;

import dev.glimpse.model.ImageDecodeException.Code;
import java.awt.image.BufferedImage;
import java.awt.image.ColorModel;
import java.awt.image.ComponentColorModel;
import java.awt.image.DataBufferByte;
import java.awt.image.IndexColorModel;
import java.awt.image.PixelInterleavedSampleModel;
import java.awt.image.Raster;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.util.Iterator;
import javax.imageio.ImageIO;
import javax.imageio.ImageReadParam;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;

/**
 * Bytes to model input: decode (first frame, any colour model to RGB), resize to the model's
 * square input with an antialiased bilinear filter (as PIL's resize), scale to [0,1] and apply the
 * model's mean/std if it has one. Output is planar {@code [3, S, S]} floats.
 */
public final class ImagePreprocessor {
    /** Limits checked before any pixel is decoded. */
    public record Limits(long maxBytes, long maxPixels) {
        public static final Limits DEFAULT = new Limits(20L << 20, 40_000_000L);
    }

    private final int size;
    private final float[] mean;
    private final float[] std;
    private final double[][] views;
    private final ViewPlan plan;

    /** A preprocessor of the model's input size, normalisation and test-time views. */
    public ImagePreprocessor(ModelConfig cfg) {
        this.size = cfg.vitImgSize;
        this.mean = cfg.imageMean;
        this.std = cfg.imageStd;
        this.views = cfg.views();
        this.plan = ViewPlan.of(cfg);
    }

    public int size() {
        return size;
    }

    /** How many views {@link #toViews} makes of each image ({@code rows}), and how they are decoded. */
    public ViewPlan plan() {
        return plan;
    }

    /**
     * The model's test-time views of an image ({@link ModelConfig#views()}), each {@code [3, S, S]},
     * concatenated: {@code [views, 3, S, S]}.
     */
    public float[] toViews(RgbImage image) {
        float[] planes = planes(image);
        float[] out = new float[views.length * 3 * size * size];
        for (int v = 0; v < views.length; v++) {
            resize(planes, image.width(), image.height(), views[v][0], views[v][1], out, v * 3 * size * size);
        }
        return out;
    }

    /** Decodes and preprocesses in one call: {@code [3, S, S]} planar floats. */
    public float[] preprocess(byte[] bytes, Limits limits) throws ImageDecodeException {
        return toPixels(decode(bytes, limits, size));
    }

    /** Decodes and makes the model's test-time views in one call: {@code [views, 3, S, S]} planar floats. */
    public float[] preprocessViews(byte[] bytes, Limits limits) throws ImageDecodeException {
        return toViews(toRgb(decode(bytes, limits, size)));
    }

    /**
     * Decodes the first frame of {@code bytes}. The declared size is checked against the limits
     * before decoding (a decompression bomb is refused without allocating it); images far larger
     * than {@code targetSize} are subsampled while decoding, keeping at least 4× the target.
     */
    public static BufferedImage decode(byte[] bytes, Limits limits, int targetSize) throws ImageDecodeException {
        if (bytes == null || bytes.length == 0) {
            throw new ImageDecodeException(Code.EMPTY_PAYLOAD, "payload is empty");
        }
        if (bytes.length > limits.maxBytes()) {
            throw new ImageDecodeException(Code.IMAGE_TOO_LARGE,
                    "payload of " + bytes.length + " bytes exceeds the limit of " + limits.maxBytes() + " bytes");
        }
        ImageFormat format = ImageFormat.detect(bytes);
        if (format == null) {
            throw new ImageDecodeException(Code.UNSUPPORTED_FORMAT,
                    "unknown image format (no JPEG, PNG, GIF, BMP or WebP signature in the first bytes)");
        }
        if (format == ImageFormat.JPEG && !endsWithJpegEoi(bytes)) {
            // JPEG decoders fill a truncated image with grey and only warn; a caption of half an image is wrong.
            throw new ImageDecodeException(Code.IMAGE_DECODE_FAILED, "JPEG is truncated (no end-of-image marker)");
        }
        try (ImageInputStream in = ImageIO.createImageInputStream(new ByteArrayInputStream(bytes))) {
            Iterator<ImageReader> readers = ImageIO.getImageReaders(in);
            if (!readers.hasNext()) {
                throw new ImageDecodeException(Code.UNSUPPORTED_FORMAT, "no decoder available for " + format);
            }
            ImageReader reader = readers.next();
            try {
                reader.setInput(in, true, true);
                long w = reader.getWidth(0);
                long h = reader.getHeight(0);
                if (w <= 0 || h <= 0) {
                    throw new ImageDecodeException(Code.IMAGE_DECODE_FAILED, format + " declares size " + w + "x" + h);
                }
                if (w * h > limits.maxPixels()) {
                    throw new ImageDecodeException(Code.IMAGE_TOO_LARGE, format + " of " + w + "x" + h
                            + " pixels exceeds the limit of " + limits.maxPixels() + " pixels");
                }
                ImageReadParam param = reader.getDefaultReadParam();
                int step = (int) Math.max(1, Math.min(w, h) / (4L * targetSize));
                if (step > 1) {
                    param.setSourceSubsampling(step, step, 0, 0);
                }
                BufferedImage image = reader.read(0, param);
                if (image == null) {
                    throw new ImageDecodeException(Code.IMAGE_DECODE_FAILED, format + " decoder returned no image");
                }
                return image;
            } finally {
                reader.dispose();
            }
        } catch (ImageDecodeException e) {
            throw e;
        } catch (IOException | RuntimeException e) {
            throw new ImageDecodeException(Code.IMAGE_DECODE_FAILED,
                    "cannot decode " + format + ": " + e.getClass().getSimpleName()
                            + (e.getMessage() == null ? "" : " (" + e.getMessage() + ")"), e);
        }
    }

    /**
     * True when an end-of-image marker (FF D9) sits near the end. Inside entropy-coded data FF is
     * always followed by 00 or a restart marker, so FF D9 there can only be the real end.
     */
    static boolean endsWithJpegEoi(byte[] b) {
        for (int i = b.length - 2; i >= Math.max(0, b.length - 1024); i--) {
            if ((b[i] & 0xFF) == 0xFF && (b[i + 1] & 0xFF) == 0xD9) {
                return true;
            }
        }
        return false;
    }

    /**
     * Decodes and converts to RGB, grey replicated (not gamma-mapped); an alpha channel is kept
     * beside the RGB, unapplied ({@link RgbImage#alpha}), and grey or palette sources are marked
     * {@link RgbImage#singleBand}. The transparent colour of a PNG without an alpha channel (its
     * tRNS chunk) is not alpha here: Java's decoder turns it into an alpha channel, Pillow keeps it
     * as a separate note that transformers' processors never read.
     */
    public static RgbImage decodeRgb(byte[] bytes, Limits limits, int targetSize) throws ImageDecodeException {
        RgbImage image = toRgb(decode(bytes, limits, targetSize));
        int colourType = ImageFormat.detect(bytes) == ImageFormat.PNG && bytes.length > 25 ? bytes[25] : -1;
        boolean greyPng = colourType == 0;
        if (image.alpha() != null && (greyPng || colourType == 2)) {
            return new RgbImage(image.width(), image.height(), image.rgb(), null, greyPng);
        }
        return image;
    }

    /**
     * Any decoded image as 8-bit RGB, grey replicated (not gamma-mapped), an alpha channel kept
     * beside it (palette transparency is not kept: transformers' Idefics3 processor reads a palette
     * image's colours alone), grey and palette images marked {@link RgbImage#singleBand}.
     */
    public static RgbImage toRgb(BufferedImage image) {
        int w = image.getWidth();
        int h = image.getHeight();
        byte[] out = new byte[3 * w * h];
        Raster raster = image.getRaster();
        boolean indexed = image.getColorModel() instanceof IndexColorModel;
        boolean grey = raster.getNumBands() <= 2 && !indexed;
        if (grey) {
            // Java treats grey as linear light and would brighten it through getRGB; read the samples.
            int bits = image.getColorModel().getComponentSize(0);
            int shift = Math.max(0, bits - 8);
            boolean hasAlpha = raster.getNumBands() == 2;
            int alphaShift = hasAlpha ? Math.max(0, image.getColorModel().getComponentSize(1) - 8) : 0;
            byte[] alpha = hasAlpha ? new byte[w * h] : null;
            for (int y = 0; y < h; y++) {
                for (int x = 0; x < w; x++) {
                    byte v = (byte) (raster.getSample(x, y, 0) >> shift);
                    int i = 3 * (y * w + x);
                    out[i] = v;
                    out[i + 1] = v;
                    out[i + 2] = v;
                    if (alpha != null) {
                        alpha[y * w + x] = (byte) (raster.getSample(x, y, 1) >> alphaShift);
                    }
                }
            }
            return new RgbImage(w, h, out, alpha, !hasAlpha);
        }
        byte[] alpha = !indexed && image.getColorModel().hasAlpha() ? new byte[w * h] : null;
        if (copyInterleavedSrgb(image, out, alpha)) {
            return new RgbImage(w, h, out, alpha, false);
        }
        int[] row = new int[w];
        for (int y = 0; y < h; y++) {
            image.getRGB(0, y, w, 1, row, 0, w);
            for (int x = 0; x < w; x++) {
                int argb = row[x];
                int i = 3 * (y * w + x);
                out[i] = (byte) (argb >> 16);
                out[i + 1] = (byte) (argb >> 8);
                out[i + 2] = (byte) argb;
                if (alpha != null) {
                    alpha[y * w + x] = (byte) (argb >>> 24);
                }
            }
        }
        return new RgbImage(w, h, out, alpha, indexed);
    }

    /**
     * Copies the samples of an 8-bit sRGB image stored as interleaved bytes (what the JPEG and PNG
     * decoders return for colour images) straight into {@code out}, and its alpha channel into
     * {@code alpha} when there is one: the same bytes {@code getRGB} gives for them, without its
     * per-pixel colour-model calls. False, copying nothing, for any other layout.
     */
    private static boolean copyInterleavedSrgb(BufferedImage image, byte[] out, byte[] alpha) {
        ColorModel cm = image.getColorModel();
        Raster raster = image.getRaster();
        if (!(cm instanceof ComponentColorModel) || !cm.getColorSpace().isCS_sRGB() || cm.isAlphaPremultiplied()
                || raster.getNumBands() < (alpha != null ? 4 : 3) || raster.getSampleModelTranslateX() != 0 || raster.getSampleModelTranslateY() != 0
                || !(raster.getDataBuffer() instanceof DataBufferByte buffer) || buffer.getNumBanks() != 1
                || !(raster.getSampleModel() instanceof PixelInterleavedSampleModel layout)) {
            return false;
        }
        for (int c = 0; c < cm.getNumComponents(); c++) {
            if (cm.getComponentSize(c) != 8) {
                return false;
            }
        }
        int w = image.getWidth();
        int h = image.getHeight();
        byte[] data = buffer.getData();
        int[] band = layout.getBandOffsets();
        int pixelStride = layout.getPixelStride();
        int lineStride = layout.getScanlineStride();
        int r = band[0];
        int g = band[1];
        int b = band[2];
        int a = alpha != null ? band[3] : 0;
        for (int y = 0; y < h; y++) {
            int in = buffer.getOffset() + y * lineStride;
            int at = 3 * y * w;
            for (int x = 0; x < w; x++, in += pixelStride, at += 3) {
                out[at] = data[in + r];
                out[at + 1] = data[in + g];
                out[at + 2] = data[in + b];
                if (alpha != null) {
                    alpha[y * w + x] = data[in + a];
                }
            }
        }
        return true;
    }

    public float[] toPixels(BufferedImage image) {
        return toPixels(toRgb(image));
    }

    /** {@code [3, S, S]} model input from any decoded image. */
    public float[] toPixels(RgbImage image) {
        return toPixels(image, 0, 0);
    }

    /**
     * {@code [3, S, S]} model input with the image's content moved by {@code (dx, dy)} input pixels
     * (right and down when positive); what moves in at an edge repeats the edge.
     */
    public float[] toPixels(RgbImage image, double dx, double dy) {
        float[] out = new float[3 * size * size];
        resize(planes(image), image.width(), image.height(), dx, dy, out, 0);
        return out;
    }

    /** Planar {@code [3, h, w]} floats in [0,1] of an image's interleaved bytes. */
    private static float[] planes(RgbImage image) {
        int n = image.width() * image.height();
        float[] planes = new float[3 * n];
        byte[] rgb = image.rgb();
        for (int i = 0; i < n; i++) {
            for (int c = 0; c < 3; c++) {
                planes[c * n + i] = (rgb[3 * i + c] & 0xFF) / 255f;
            }
        }
        return planes;
    }

    /** Resizes planar {@code [3, h, w]} floats, moved by {@code (dx, dy)}, normalised, into {@code out} at {@code at}. */
    private void resize(float[] planes, int w, int h, double dx, double dy, float[] out, int at) {
        float[] tmp = new float[h * size];
        for (int c = 0; c < 3; c++) {
            resample(planes, c * w * h, w, h, 1, w, tmp, 0, size, 1, size, dx); // rows
            resample(tmp, 0, h, size, size, 1, out, at + c * size * size, size, size, 1, dy); // columns
        }
        if (mean != null) {
            for (int c = 0; c < 3; c++) {
                for (int i = 0; i < size * size; i++) {
                    int k = at + c * size * size + i;
                    out[k] = (out[k] - mean[c]) / std[c];
                }
            }
        }
    }

    /**
     * One separable pass of a triangle (bilinear) filter whose support widens with the downscale
     * factor, so downscaling averages rather than aliases. Resamples {@code inLen} samples along one
     * axis to {@code outLen}, for {@code lines} lines, the content moved by {@code shift} output
     * samples; strides describe the layout of each buffer. The taps are computed once per output
     * sample, then each line is read once (a line-by-line sweep, not one sweep of every line per
     * output sample: that thrashed the cache on large images).
     */
    private static void resample(float[] in, int inOff, int inLen, int lines, int inStride, int inLineStride,
                                 float[] out, int outOff, int outLen, int outStride, int outLineStride,
                                 double shift) {
        double scale = (double) inLen / outLen;
        double support = Math.max(scale, 1.0);
        int[] first = new int[outLen];
        int[] last = new int[outLen];
        double[][] weights = new double[outLen][];
        double[] totals = new double[outLen];
        for (int o = 0; o < outLen; o++) {
            double centre = Math.min(inLen, Math.max(0, (o + 0.5 - shift) * scale));
            int lo = Math.max(0, (int) Math.floor(centre - support));
            int hi = Math.min(inLen, (int) Math.ceil(centre + support));
            double[] w = new double[hi - lo];
            double total = 0;
            for (int i = lo; i < hi; i++) {
                double wgt = Math.max(0, 1 - Math.abs((i + 0.5 - centre) / support));
                w[i - lo] = wgt;
                total += wgt;
            }
            first[o] = lo;
            last[o] = hi;
            weights[o] = w;
            totals[o] = total;
        }
        for (int line = 0; line < lines; line++) {
            int base = inOff + line * inLineStride;
            int outBase = outOff + line * outLineStride;
            for (int o = 0; o < outLen; o++) {
                double[] w = weights[o];
                int lo = first[o];
                double acc = 0;
                for (int i = lo; i < last[o]; i++) {
                    acc += w[i - lo] * in[base + i * inStride];
                }
                out[outBase + o * outStride] = (float) (acc / totals[o]);
            }
        }
    }
}
