package dev.glimpse.operators;

import static org.assertj.core.api.Assertions.assertThat;

import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import javax.imageio.ImageIO;
import org.apache.flink.streaming.api.operators.ProcessOperator;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.OneInputStreamOperatorTestHarness;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ImageDecoderHarnessTest {
    static final DecoderSettings SETTINGS =
            new DecoderSettings(1 << 20, 4_000_000, 1000, 20, 64, Duration.ofMillis(500), 32, List.of(), false);

    static byte[] png(Color c) throws Exception {
        return png(c, 16, 12);
    }

    /** A plain {@code width} x {@code height} PNG of one colour. */
    static byte[] png(Color c, int width, int height) throws Exception {
        BufferedImage img = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        g.setColor(c);
        g.fillRect(0, 0, width, height);
        g.dispose();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ImageIO.write(img, "png", out);
        return out.toByteArray();
    }

    static ImageEvent event(String key, byte[] value) {
        return new ImageEvent(key == null ? null : key.getBytes(StandardCharsets.UTF_8), value, null, null,
                new SourceRef("images", 1, 42, 7));
    }

    record Outcome(List<DecodedImage> images, List<DeadLetter> dead) {}

    static Outcome run(ImageEvent... events) throws Exception {
        return run(SETTINGS, events);
    }

    static Outcome run(DecoderSettings settings, ImageEvent... events) throws Exception {
        try (var h = new OneInputStreamOperatorTestHarness<>(new ProcessOperator<>(new ImageDecoder(settings)))) {
            h.open();
            for (ImageEvent e : events) {
                h.processElement(new StreamRecord<>(e));
            }
            var dead = h.getSideOutput(DeadLetters.TAG);
            return new Outcome(h.extractOutputValues(),
                    dead == null ? List.of() : dead.stream().map(StreamRecord::getValue).toList());
        }
    }

    @Test
    void shouldDecodeRawBytesUsingTheRecordKeyAsId() throws Exception {
        Outcome o = run(event("img-1", png(Color.RED)));
        assertThat(o.dead()).isEmpty();
        DecodedImage d = o.images().get(0);
        assertThat(d.request.id).isEqualTo("img-1");
        assertThat(d.width).isEqualTo(16);
        assertThat(d.rgb[0] & 0xFF).isEqualTo(255);
        assertThat(d.request.maxNewTokens).isEqualTo(20);
    }

    @Test
    void shouldFallBackToSourceCoordinatesAsId() throws Exception {
        Outcome o = run(event(null, png(Color.RED)));
        assertThat(o.images().get(0).request.id).isEqualTo("images-1-42");
    }

    @Test
    void shouldReadEnvelopeWithBase64PromptAndClampedTokenCap() throws Exception {
        String json = "{\"id\":\"e1\",\"image_base64\":\"" + Base64.getEncoder().encodeToString(png(Color.BLUE))
                + "\",\"prompt\":\"what is this?\",\"max_new_tokens\":1000000000,\"metadata\":{\"camera\":3}}";
        Outcome o = run(event("ignored", json.getBytes(StandardCharsets.UTF_8)));
        ImageRequest r = o.images().get(0).request;
        assertThat(r.id).isEqualTo("e1");
        assertThat(r.prompt).isEqualTo("what is this?");
        assertThat(r.maxNewTokens).isEqualTo(64);
        assertThat(r.metadataJson).isEqualTo("{\"camera\":3}");
    }

    @Test
    void shouldFetchFileUris(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("x.png");
        Files.write(file, png(Color.GREEN));
        String json = "{\"id\":\"f1\",\"uri\":\"" + file.toUri() + "\"}";
        String missing = "{\"id\":\"f2\",\"uri\":\"" + dir.resolve("nope.png").toUri() + "\"}";
        String scheme = "{\"id\":\"f3\",\"uri\":\"gopher://example/x.png\"}";
        String elsewhere = "{\"id\":\"f4\",\"uri\":\"file:///etc/hostname\"}";
        DecoderSettings allowing = new DecoderSettings(1 << 20, 4_000_000, 1000, 20, 64, Duration.ofMillis(500), 32,
                List.of(dir.toUri().toString(), "gopher://example/"), false);
        Outcome o = run(allowing, event(null, json.getBytes()), event(null, missing.getBytes()), event(null, scheme.getBytes()),
                event(null, elsewhere.getBytes()));
        assertThat(o.images()).extracting(i -> i.request.id).containsExactly("f1");
        assertThat(o.dead()).extracting(d -> d.id + ":" + d.code)
                .containsExactly("f2:URI_FETCH_FAILED", "f3:URI_FETCH_FAILED", "f4:URI_NOT_ALLOWED");
        assertThat(o.dead().get(0).message).contains("nope.png");
        assertThat(o.dead().get(1).message).contains("gopher");
        assertThat(o.dead().get(2).message).contains("decoder.allowed-uris");
    }

    @Test
    void shouldRouteCorruptImageToDeadLetterOutput() throws Exception {
        byte[] truncated = Arrays.copyOf(png(Color.RED), 30);
        Outcome o = run(event("bad", truncated), event("ok", png(Color.RED)));
        assertThat(o.images()).extracting(i -> i.request.id).containsExactly("ok");
        assertThat(o.dead()).hasSize(1);
        DeadLetter d = o.dead().get(0);
        assertThat(d.id).isEqualTo("bad");
        assertThat(d.code).isEqualTo(ErrorCode.IMAGE_DECODE_FAILED);
        assertThat(d.stage).isEqualTo(ImageDecoder.STAGE);
        assertThat(d.payloadBytes).isEqualTo(30);
        assertThat(d.payloadHead).hasSize(30);
        assertThat(d.source.coordinates()).isEqualTo("images-1-42");
    }

    @Test
    void shouldGiveEachBadInputItsCode() throws Exception {
        Outcome o = run(
                event("empty", new byte[0]),
                event("random", "definitely not an image".getBytes()),
                event("json", "{\"id\": \"x\", broken".getBytes()),
                event("b64", "{\"id\":\"b64\",\"image_base64\":\"***\"}".getBytes()),
                event("none", "{\"id\":\"none\"}".getBytes()),
                event("neg", ("{\"id\":\"neg\",\"max_new_tokens\":-1,\"image_base64\":\""
                        + Base64.getEncoder().encodeToString(png(Color.RED)) + "\"}").getBytes()),
                event("long", ("{\"id\":\"long\",\"prompt\":\"" + "x".repeat(100_000) + "\",\"image_base64\":\""
                        + Base64.getEncoder().encodeToString(png(Color.RED)) + "\"}").getBytes()),
                event("huge", new byte[2 << 20]));
        assertThat(o.images()).isEmpty();
        assertThat(o.dead()).extracting(d -> d.id + ":" + d.code).containsExactly(
                "empty:EMPTY_PAYLOAD", "random:UNSUPPORTED_FORMAT", "json:BAD_ENVELOPE", "b64:BAD_ENVELOPE",
                "none:BAD_ENVELOPE", "neg:BAD_REQUEST", "long:BAD_REQUEST", "huge:IMAGE_TOO_LARGE");
        assertThat(o.dead()).allSatisfy(d -> assertThat(d.message).isNotBlank());
    }
}
