package dev.glimpse.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.Random;
import java.util.zip.CRC32;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;

class ImagePreprocessorTest {
    static final ImagePreprocessor.Limits LIMITS = ImagePreprocessor.Limits.DEFAULT;

    static byte[] encode(BufferedImage img, String format) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        assertThat(ImageIO.write(img, format, out)).as("writer for " + format).isTrue();
        return out.toByteArray();
    }

    static BufferedImage filled(int type, Color c, int w, int h) {
        BufferedImage img = new BufferedImage(w, h, type);
        Graphics2D g = img.createGraphics();
        g.setColor(c);
        g.fillRect(0, 0, w, h);
        g.dispose();
        return img;
    }

    static ModelConfig cfg(int size) {
        ModelConfig c = new ModelConfig();
        c.vitImgSize = size;
        c.vitPatchSize = size / 2;
        return c;
    }

    @Test
    void shouldDecodeEveryFormatToTheSameColour() throws Exception {
        BufferedImage img = filled(BufferedImage.TYPE_INT_RGB, new Color(200, 100, 50), 40, 30);
        for (String format : new String[] {"png", "bmp", "gif", "jpeg"}) {
            RgbImage rgb = ImagePreprocessor.decodeRgb(encode(img, format), LIMITS, 32);
            assertThat(rgb.width()).isEqualTo(40);
            assertThat(rgb.height()).isEqualTo(30);
            int tolerance = format.equals("jpeg") ? 6 : format.equals("gif") ? 20 : 0;
            assertThat(rgb.rgb()[0] & 0xFF).as(format).isCloseTo(200, within(tolerance));
            assertThat(rgb.rgb()[1] & 0xFF).as(format).isCloseTo(100, within(tolerance));
            assertThat(rgb.rgb()[2] & 0xFF).as(format).isCloseTo(50, within(tolerance));
        }
    }

    /** Random pixels in an image of {@code type} (alpha, where there is one, random too). */
    static BufferedImage noise(int type, int w, int h, long seed) {
        BufferedImage img = new BufferedImage(w, h, type);
        Random rnd = new Random(seed);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                img.setRGB(x, y, rnd.nextInt());
            }
        }
        return img;
    }

    @Test
    void shouldReadColourImagesOfEveryLayoutAsGetRgbDoes() throws Exception {
        // Decoded PNGs and JPEGs (interleaved bytes in their own band order), and in-memory layouts.
        BufferedImage[] images = {
                ImageIO.read(new java.io.ByteArrayInputStream(encode(noise(BufferedImage.TYPE_INT_RGB, 37, 23, 1), "png"))),
                ImageIO.read(new java.io.ByteArrayInputStream(encode(noise(BufferedImage.TYPE_INT_ARGB, 19, 31, 2), "png"))),
                ImageIO.read(new java.io.ByteArrayInputStream(encode(noise(BufferedImage.TYPE_INT_RGB, 40, 30, 3), "jpeg"))),
                noise(BufferedImage.TYPE_3BYTE_BGR, 17, 9, 4),
                noise(BufferedImage.TYPE_4BYTE_ABGR, 9, 17, 5),
                noise(BufferedImage.TYPE_4BYTE_ABGR_PRE, 12, 12, 6),
                noise(BufferedImage.TYPE_INT_RGB, 11, 7, 7),
                noise(BufferedImage.TYPE_3BYTE_BGR, 30, 20, 8).getSubimage(3, 5, 20, 10),
        };
        for (BufferedImage img : images) {
            byte[] expected = new byte[3 * img.getWidth() * img.getHeight()];
            byte[] expectedAlpha = img.getColorModel().hasAlpha() ? new byte[img.getWidth() * img.getHeight()] : null;
            for (int y = 0; y < img.getHeight(); y++) {
                for (int x = 0; x < img.getWidth(); x++) {
                    int argb = img.getRGB(x, y);
                    int i = 3 * (y * img.getWidth() + x);
                    expected[i] = (byte) (argb >> 16);
                    expected[i + 1] = (byte) (argb >> 8);
                    expected[i + 2] = (byte) argb;
                    if (expectedAlpha != null) {
                        expectedAlpha[y * img.getWidth() + x] = (byte) (argb >>> 24);
                    }
                }
            }
            RgbImage rgb = ImagePreprocessor.toRgb(img);
            String what = "image of type " + img.getType() + ", " + img.getColorModel();
            assertThat(rgb.rgb()).as(what).isEqualTo(expected);
            assertThat(rgb.alpha()).as(what).isEqualTo(expectedAlpha);
        }
    }

    @Test
    void shouldKeepGreyLevelsOfGreyscaleImages() throws Exception {
        BufferedImage grey = filled(BufferedImage.TYPE_BYTE_GRAY, new Color(90, 90, 90), 8, 8);
        grey.getRaster().setSample(0, 0, 0, 90);
        RgbImage rgb = ImagePreprocessor.decodeRgb(encode(grey, "png"), LIMITS, 8);
        assertThat(rgb.rgb()[0] & 0xFF).isEqualTo(90);
        assertThat(rgb.rgb()[1] & 0xFF).isEqualTo(90);
        BufferedImage grey16 = new BufferedImage(4, 4, BufferedImage.TYPE_USHORT_GRAY);
        for (int y = 0; y < 4; y++) {
            for (int x = 0; x < 4; x++) {
                grey16.getRaster().setSample(x, y, 0, 40000);
            }
        }
        RgbImage rgb16 = ImagePreprocessor.decodeRgb(encode(grey16, "png"), LIMITS, 4);
        assertThat(rgb16.rgb()[2] & 0xFF).isEqualTo(40000 >> 8);
    }

    @Test
    void shouldDropAlphaAndReadPaletteImages() throws Exception {
        BufferedImage argb = new BufferedImage(5, 5, BufferedImage.TYPE_INT_ARGB);
        for (int y = 0; y < 5; y++) {
            for (int x = 0; x < 5; x++) {
                argb.setRGB(x, y, new Color(10, 200, 30, 60).getRGB());
            }
        }
        RgbImage rgb = ImagePreprocessor.decodeRgb(encode(argb, "png"), LIMITS, 5);
        assertThat(new int[] {rgb.rgb()[0] & 0xFF, rgb.rgb()[1] & 0xFF, rgb.rgb()[2] & 0xFF}).containsExactly(10, 200, 30);
        BufferedImage indexed = filled(BufferedImage.TYPE_BYTE_INDEXED, Color.RED, 6, 6);
        RgbImage pal = ImagePreprocessor.decodeRgb(encode(indexed, "png"), LIMITS, 6);
        assertThat(pal.rgb()[0] & 0xFF).isGreaterThan(240);
        assertThat(pal.rgb()[1] & 0xFF).isLessThan(10);
    }

    @Test
    void shouldResizeWithAveragingAndNormalise() {
        ModelConfig c = cfg(2);
        c.imageMean = new float[] {0.5f, 0.5f, 0.5f};
        c.imageStd = new float[] {0.5f, 0.5f, 0.5f};
        // 4x4, left half black, right half white, halved: the triangle filter (support 2 px, as PIL's
        // bilinear) weighs input columns 0,1,2 by 0.75,0.75,0.25 for output column 0: 0.25/1.75 = 1/7,
        // normalised (1/7 - 0.5) / 0.5 = -5/7; column 1 mirrors it at +5/7.
        byte[] rgb = new byte[3 * 16];
        for (int y = 0; y < 4; y++) {
            for (int x = 2; x < 4; x++) {
                Arrays.fill(rgb, 3 * (y * 4 + x), 3 * (y * 4 + x) + 3, (byte) 255);
            }
        }
        float[] px = new ImagePreprocessor(c).toPixels(new RgbImage(4, 4, rgb));
        assertThat(px).hasSize(12);
        assertThat(px[0]).isCloseTo(-5f / 7, within(1e-6f));
        assertThat(px[1]).isCloseTo(5f / 7, within(1e-6f));
        float[] identity = new ImagePreprocessor(cfg(4)).toPixels(new RgbImage(4, 4, rgb));
        assertThat(identity[3]).isEqualTo(1f);
        assertThat(identity[1]).isEqualTo(0f);
    }

    @Test
    void shouldMoveTheContentOfAViewByItsShiftRepeatingTheEdges() {
        // 8x8 at an 8 px input: no scaling, so a whole-pixel shift moves every pixel exactly.
        byte[] rgb = new byte[3 * 64];
        for (int i = 0; i < 64; i++) {
            rgb[3 * i] = (byte) (i % 8 * 10); // red: 10 x column
            rgb[3 * i + 1] = (byte) (i / 8 * 10); // green: 10 x row
        }
        rgb[3 * (4 * 8 + 3) + 2] = (byte) 255; // blue dot at x 3, y 4
        ImagePreprocessor pre = new ImagePreprocessor(cfg(8));
        RgbImage image = new RgbImage(8, 8, rgb);
        float[] moved = pre.toPixels(image, 2, -1);
        for (int y = 0; y < 8; y++) {
            for (int x = 0; x < 8; x++) {
                int fromX = Math.max(0, x - 2); // two columns in from the left repeat column 0
                int fromY = Math.min(7, y + 1); // the bottom row repeats row 7
                assertThat(moved[y * 8 + x]).as("red at %d,%d", x, y).isCloseTo(fromX * 10 / 255f, within(1e-6f));
                assertThat(moved[64 + y * 8 + x]).as("green at %d,%d", x, y).isCloseTo(fromY * 10 / 255f, within(1e-6f));
                assertThat(moved[128 + y * 8 + x]).as("blue at %d,%d", x, y).isEqualTo(x == 5 && y == 3 ? 1f : 0f);
            }
        }
        assertThat(pre.toPixels(image, 0, 0)).containsExactly(pre.toPixels(image));
    }

    @Test
    void shouldMakeTheViewsTheModelConfigLists() {
        byte[] rgb = new byte[3 * 24 * 24];
        new Random(9).nextBytes(rgb);
        RgbImage image = new RgbImage(24, 24, rgb);
        ModelConfig c = cfg(16);
        ImagePreprocessor plain = new ImagePreprocessor(c);
        assertThat(plain.plan().rows()).isEqualTo(1);
        assertThat(plain.toViews(image)).containsExactly(plain.toPixels(image));
        c.viewShifts = new double[][] {{-2, -2}, {1.5, 0}, {0, 3}};
        ImagePreprocessor three = new ImagePreprocessor(c);
        assertThat(three.plan().rows()).isEqualTo(3);
        float[] views = three.toViews(image);
        int one = 3 * 16 * 16;
        assertThat(views).hasSize(3 * one);
        assertThat(Arrays.copyOfRange(views, 0, one)).containsExactly(three.toPixels(image, -2, -2));
        assertThat(Arrays.copyOfRange(views, one, 2 * one)).containsExactly(three.toPixels(image, 1.5, 0));
        assertThat(Arrays.copyOfRange(views, 2 * one, 3 * one)).containsExactly(three.toPixels(image, 0, 3));
        assertThat(Arrays.copyOfRange(views, one, 2 * one)).isNotEqualTo(Arrays.copyOfRange(views, 0, one));
        assertThat(new ImagePreprocessor(c.singleView()).toViews(image)).containsExactly(plain.toPixels(image));
    }

    @Test
    void shouldReadWriteAndCheckViewShifts(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
        ModelConfig c = cfg(96);
        c.vitPatchSize = 8;
        assertThat(c.views()).isDeepEqualTo(new double[][] {{0, 0}});
        c.viewShifts = new double[][] {{-2, -2}, {2, 2}};
        c.write(dir.resolve("config.json"));
        assertThat(java.nio.file.Files.readString(dir.resolve("config.json"))).contains("\"view_shifts\"");
        assertThat(ModelConfig.read(dir.resolve("config.json")).views()).isDeepEqualTo(new double[][] {{-2, -2}, {2, 2}});
        c.viewConfidence = 0.9;
        c.write(dir.resolve("config.json"));
        ModelConfig adaptive = ModelConfig.read(dir.resolve("config.json"));
        assertThat(adaptive.views()).as("the unmoved view first").isDeepEqualTo(new double[][] {{0, 0}, {-2, -2}, {2, 2}});
        assertThat(ViewPlan.of(adaptive)).isEqualTo(new ViewPlan(3, 0.9));
        assertThat(ViewPlan.of(adaptive.singleView())).isEqualTo(ViewPlan.SINGLE);
        c.viewConfidence = 1.5;
        assertThatThrownBy(() -> c.validated("test")).hasMessageContaining("view_confidence");
        c.viewConfidence = null;
        c.viewShifts = new double[][] {{-2, -2}, {9, 0}};
        assertThatThrownBy(() -> c.validated("test")).hasMessageContaining("view_shifts must move an image by at most one patch");
        c.viewShifts = new double[][] {{1}};
        assertThatThrownBy(() -> c.validated("test")).hasMessageContaining("pair [dx, dy]");
        c.viewShifts = new double[0][];
        assertThatThrownBy(() -> c.validated("test")).hasMessageContaining("at least one");
    }

    @Test
    void shouldRefuseADecompressionBombBeforeDecoding() throws Exception {
        byte[] bomb = pngHeaderOnly(50_000, 50_000);
        assertThatThrownBy(() -> ImagePreprocessor.decode(bomb, LIMITS, 96))
                .isInstanceOf(ImageDecodeException.class)
                .hasMessageContaining("50000x50000")
                .extracting(e -> ((ImageDecodeException) e).code()).isEqualTo(ImageDecodeException.Code.IMAGE_TOO_LARGE);
    }

    @Test
    void shouldClassifyBadPayloads() throws Exception {
        assertCode(new byte[0], ImageDecodeException.Code.EMPTY_PAYLOAD);
        assertCode("hello, not an image".getBytes(), ImageDecodeException.Code.UNSUPPORTED_FORMAT);
        byte[] jpeg = encode(filled(BufferedImage.TYPE_INT_RGB, Color.BLUE, 64, 64), "jpeg");
        assertCode(Arrays.copyOf(jpeg, 40), ImageDecodeException.Code.IMAGE_DECODE_FAILED);
        assertCode(new byte[(int) (LIMITS.maxBytes() + 1)], ImageDecodeException.Code.IMAGE_TOO_LARGE);
    }

    static void assertCode(byte[] payload, ImageDecodeException.Code code) {
        assertThatThrownBy(() -> ImagePreprocessor.decode(payload, LIMITS, 32))
                .isInstanceOf(ImageDecodeException.class)
                .extracting(e -> ((ImageDecodeException) e).code()).isEqualTo(code);
    }

    /** A PNG signature and an IHDR chunk declaring {@code w × h}, with no pixel data at all. */
    static byte[] pngHeaderOnly(int w, int h) {
        ByteBuffer ihdr = ByteBuffer.allocate(17);
        ihdr.put("IHDR".getBytes()).putInt(w).putInt(h).put((byte) 8).put((byte) 2).put((byte) 0).put((byte) 0).put((byte) 0);
        CRC32 crc = new CRC32();
        crc.update(ihdr.array());
        ByteBuffer png = ByteBuffer.allocate(8 + 4 + 17 + 4);
        png.put(new byte[] {(byte) 0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A});
        png.putInt(13).put(ihdr.array()).putInt((int) crc.getValue());
        return png.array();
    }
}
