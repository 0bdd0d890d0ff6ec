package dev.glimpse.operators;

import static org.assertj.core.api.Assertions.assertThat;

import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.awt.image.WritableRaster;
import java.io.ByteArrayOutputStream;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.CRC32;
import javax.imageio.IIOImage;
import javax.imageio.ImageIO;
import javax.imageio.ImageTypeSpecifier;
import javax.imageio.ImageWriter;
import javax.imageio.metadata.IIOMetadata;
import javax.imageio.metadata.IIOMetadataNode;
import javax.imageio.stream.ImageOutputStream;
import org.apache.flink.streaming.api.operators.ProcessOperator;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.OneInputStreamOperatorTestHarness;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Hostile and odd input, each case with the outcome it must get, all through one decoder instance
 * that must keep going: the production default limits, a fetch timeout short enough for a test.
 */
class HostileInputCorpusTest {
    /**
     * The production limits; the uri allow-list lets in the test's folder, the silent loopback server
     * (so private addresses are allowed) and gopher://host/, to reach what lies behind the checks.
     */
    DecoderSettings settings(int silentPort) {
        return new DecoderSettings(20L << 20, 40_000_000L, 2000, 24, 256, Duration.ofMillis(400), 96,
                List.of(dir.toUri().toString(), "gopher://host/", "http://127.0.0.1:" + silentPort + "/"), true);
    }

    @TempDir
    Path dir;

    static BufferedImage picture(int type) {
        BufferedImage img = new BufferedImage(40, 30, type);
        Graphics2D g = img.createGraphics();
        g.setColor(new Color(200, 60, 40));
        g.fillRect(0, 0, 40, 30);
        g.dispose();
        return img;
    }

    static byte[] write(BufferedImage img, String format) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        assertThat(ImageIO.write(img, format, out)).isTrue();
        return out.toByteArray();
    }

    /** A four-channel (CMYK) JPEG, written from a raw raster as print workflows produce them. */
    static byte[] cmykJpeg() throws Exception {
        WritableRaster raster = java.awt.image.Raster.createInterleavedRaster(java.awt.image.DataBuffer.TYPE_BYTE, 32, 32, 4, null);
        for (int y = 0; y < 32; y++) {
            for (int x = 0; x < 32; x++) {
                raster.setPixel(x, y, new int[] {20, 200, 200, 10});
            }
        }
        ImageWriter writer = ImageIO.getImageWritersByFormatName("jpeg").next();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (ImageOutputStream ios = ImageIO.createImageOutputStream(out)) {
            writer.setOutput(ios);
            writer.write(null, new IIOImage(raster, null, null), writer.getDefaultWriteParam());
        } finally {
            writer.dispose();
        }
        return out.toByteArray();
    }

    /** A two-frame animated GIF: red, then blue. */
    static byte[] animatedGif() throws Exception {
        ImageWriter writer = ImageIO.getImageWritersByFormatName("gif").next();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (ImageOutputStream ios = ImageIO.createImageOutputStream(out)) {
            writer.setOutput(ios);
            writer.prepareWriteSequence(null);
            for (Color c : new Color[] {Color.RED, Color.BLUE}) {
                BufferedImage frame = new BufferedImage(20, 20, BufferedImage.TYPE_INT_RGB);
                Graphics2D g = frame.createGraphics();
                g.setColor(c);
                g.fillRect(0, 0, 20, 20);
                g.dispose();
                IIOMetadata meta = writer.getDefaultImageMetadata(ImageTypeSpecifier.createFromRenderedImage(frame), null);
                IIOMetadataNode root = (IIOMetadataNode) meta.getAsTree("javax_imageio_gif_image_1.0");
                IIOMetadataNode gce = new IIOMetadataNode("GraphicControlExtension");
                gce.setAttribute("disposalMethod", "none");
                gce.setAttribute("userInputFlag", "FALSE");
                gce.setAttribute("transparentColorFlag", "FALSE");
                gce.setAttribute("delayTime", "10");
                gce.setAttribute("transparentColorIndex", "0");
                root.appendChild(gce);
                meta.setFromTree("javax_imageio_gif_image_1.0", root);
                writer.writeToSequence(new IIOImage(frame, null, meta), null);
            }
            writer.endWriteSequence();
        } finally {
            writer.dispose();
        }
        return out.toByteArray();
    }

    static byte[] png16() throws Exception {
        BufferedImage img = new BufferedImage(10, 10, BufferedImage.TYPE_USHORT_GRAY);
        for (int y = 0; y < 10; y++) {
            for (int x = 0; x < 10; x++) {
                img.getRaster().setSample(x, y, 0, 50_000);
            }
        }
        return write(img, "png");
    }

    static byte[] bombPng() {
        java.nio.ByteBuffer ihdr = java.nio.ByteBuffer.allocate(17);
        ihdr.put("IHDR".getBytes()).putInt(50_000).putInt(50_000).put((byte) 8).put((byte) 2).put((byte) 0).put((byte) 0).put((byte) 0);
        CRC32 crc = new CRC32();
        crc.update(ihdr.array());
        java.nio.ByteBuffer png = java.nio.ByteBuffer.allocate(33);
        png.put(new byte[] {(byte) 0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A}).putInt(13).put(ihdr.array()).putInt((int) crc.getValue());
        return png.array();
    }

    static String envelope(String id, String extra, byte[] image) {
        return "{\"id\":\"" + id + "\"" + extra + ",\"image_base64\":\"" + Base64.getEncoder().encodeToString(image) + "\"}";
    }

    @Test
    void shouldGiveEveryHostileCaseItsOutcomeAndKeepGoing() throws Exception {
        byte[] jpeg = write(picture(BufferedImage.TYPE_INT_RGB), "jpeg");
        byte[] thirtyMb = new byte[30 << 20];
        System.arraycopy(jpeg, 0, thirtyMb, 0, jpeg.length);
        Map<String, Object[]> cases = new LinkedHashMap<>(); // id -> {payload, expected code or "OK"}
        cases.put("zero-bytes", new Object[] {new byte[0], "EMPTY_PAYLOAD"});
        cases.put("random-bytes", new Object[] {new java.util.Random(1).ints(4096, 0, 256).collect(
                ByteArrayOutputStream::new, ByteArrayOutputStream::write, (a, b) -> {}).toByteArray(), "UNSUPPORTED_FORMAT"});
        cases.put("truncated-jpeg", new Object[] {Arrays.copyOf(jpeg, jpeg.length / 2), "IMAGE_DECODE_FAILED"});
        cases.put("bomb-png", new Object[] {bombPng(), "IMAGE_TOO_LARGE"});
        cases.put("thirty-mb", new Object[] {thirtyMb, "IMAGE_TOO_LARGE"});
        cases.put("animated-gif", new Object[] {animatedGif(), "OK"});
        cases.put("cmyk-jpeg", new Object[] {cmykJpeg(), "OK"});
        cases.put("png-16-bit", new Object[] {png16(), "OK"});
        cases.put("grayscale", new Object[] {write(picture(BufferedImage.TYPE_BYTE_GRAY), "png"), "OK"});
        cases.put("palette", new Object[] {write(picture(BufferedImage.TYPE_BYTE_INDEXED), "png"), "OK"});
        cases.put("alpha", new Object[] {write(picture(BufferedImage.TYPE_INT_ARGB), "png"), "OK"});
        cases.put("bmp", new Object[] {write(picture(BufferedImage.TYPE_INT_RGB), "bmp"), "OK"});
        cases.put("broken-json", new Object[] {"{\"id\":\"broken-json\", \"image_base64\": ".getBytes(), "BAD_ENVELOPE"});
        cases.put("bad-base64", new Object[] {"{\"id\":\"bad-base64\",\"image_base64\":\"%%%not base64%%%\"}".getBytes(), "BAD_ENVELOPE"});
        cases.put("unknown-scheme", new Object[] {"{\"id\":\"unknown-scheme\",\"uri\":\"gopher://host/x.jpg\"}".getBytes(), "URI_FETCH_FAILED"});
        cases.put("missing-file", new Object[] {("{\"id\":\"missing-file\",\"uri\":\"" + dir.resolve("none.jpg").toUri() + "\"}").getBytes(), "URI_FETCH_FAILED"});
        cases.put("etc-passwd", new Object[] {"{\"id\":\"etc-passwd\",\"uri\":\"file:///etc/passwd\"}".getBytes(), "URI_NOT_ALLOWED"});
        cases.put("dot-dot-escape", new Object[] {("{\"id\":\"dot-dot-escape\",\"uri\":\"" + dir.toUri() + "%2e%2e/%2e%2e/etc/passwd\"}").getBytes(), "URI_NOT_ALLOWED"});
        cases.put("cloud-metadata", new Object[] {"{\"id\":\"cloud-metadata\",\"uri\":\"http://169.254.169.254/latest/meta-data/\"}".getBytes(), "URI_NOT_ALLOWED"});
        cases.put("huge-prompt", new Object[] {envelope("huge-prompt", ",\"prompt\":\"" + "p".repeat(100_000) + "\"", jpeg).getBytes(), "BAD_REQUEST"});
        cases.put("tokens-minus-one", new Object[] {envelope("tokens-minus-one", ",\"max_new_tokens\":-1", jpeg).getBytes(), "BAD_REQUEST"});
        cases.put("tokens-billion", new Object[] {envelope("tokens-billion", ",\"max_new_tokens\":1000000000", jpeg).getBytes(), "OK"});

        Map<String, String> outcome = new LinkedHashMap<>();
        List<DecodedImage> decoded = new ArrayList<>();
        long timeoutMs;
        try (ServerSocket silent = new ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress());
             var h = new OneInputStreamOperatorTestHarness<>(new ProcessOperator<>(new ImageDecoder(settings(silent.getLocalPort()))))) {
            // An HTTP server that accepts the connection and never answers.
            List<Socket> held = new ArrayList<>();
            Thread acceptor = new Thread(() -> {
                try {
                    while (true) {
                        held.add(silent.accept());
                    }
                } catch (Exception ignored) {
                    // closed at the end of the test
                }
            });
            acceptor.setDaemon(true);
            acceptor.start();
            cases.put("http-timeout", new Object[] {("{\"id\":\"http-timeout\",\"uri\":\"http://127.0.0.1:"
                    + silent.getLocalPort() + "/slow.jpg\"}").getBytes(), "URI_FETCH_FAILED"});
            h.open();
            long start = System.nanoTime();
            for (Map.Entry<String, Object[]> c : cases.entrySet()) {
                h.processElement(new StreamRecord<>(new ImageEvent(c.getKey().getBytes(StandardCharsets.UTF_8),
                        (byte[]) c.getValue()[0], null, null, new SourceRef("images", 0, 0, 0))));
            }
            timeoutMs = (System.nanoTime() - start) / 1_000_000;
            for (DecodedImage d : h.extractOutputValues()) {
                outcome.put(d.request.id, "OK");
                decoded.add(d);
            }
            for (StreamRecord<DeadLetter> d : h.getSideOutput(DeadLetters.TAG)) {
                assertThat(outcome.put(d.getValue().id, d.getValue().code.name())).as("one outcome for " + d.getValue().id).isNull();
                assertThat(d.getValue().message).isNotBlank();
            }
        }
        Map<String, String> expected = new LinkedHashMap<>();
        cases.forEach((id, c) -> expected.put(id, (String) c[1]));
        assertThat(outcome).isEqualTo(expected);
        DecodedImage gif = decoded.stream().filter(d -> d.request.id.equals("animated-gif")).findFirst().orElseThrow();
        assertThat(gif.rgb[0] & 0xFF).as("first frame (red)").isGreaterThan(200);
        assertThat(gif.rgb[2] & 0xFF).isLessThan(50);
        DecodedImage grey16 = decoded.stream().filter(d -> d.request.id.equals("png-16-bit")).findFirst().orElseThrow();
        assertThat(grey16.rgb[0] & 0xFF).isEqualTo(50_000 >> 8);
        DecodedImage clamped = decoded.stream().filter(d -> d.request.id.equals("tokens-billion")).findFirst().orElseThrow();
        assertThat(clamped.request.maxNewTokens).isEqualTo(256);
        assertThat(timeoutMs).as("the silent server costs one fetch timeout, not a hang").isLessThan(30_000);
    }
}
