package dev.glimpse.job;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import dev.glimpse.kafka.EmbeddedKafka;
import dev.glimpse.model.TestModels;
import dev.glimpse.model.scenes.SceneGenerator;
import dev.glimpse.model.scenes.SceneSample;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** The whole job on a real Kafka broker and a Flink MiniCluster (parallelism 2). */
class CaptioningPipelineITCase {
    @RegisterExtension
    static final MiniClusterExtension FLINK = new MiniClusterExtension(new MiniClusterResourceConfiguration.Builder()
            .setNumberTaskManagers(1).setNumberSlotsPerTaskManager(2).build());

    @TempDir
    static Path work;
    static EmbeddedKafka kafka;
    static Path model;

    @BeforeAll
    static void start() {
        kafka = EmbeddedKafka.start(work.resolve("kafka"));
        model = TestModels.writeTinyScenesModel(work.resolve("model"));
    }

    @AfterAll
    static void stop() {
        kafka.close();
    }

    @Test
    void shouldGiveEveryInputExactlyOneCaptionOrDeadLetter() throws Exception {
        SceneGenerator scenes = new SceneGenerator(5);
        Path folder = Files.createDirectories(work.resolve("images"));
        Path file = folder.resolve("on-disk.png");
        Files.write(file, scenes.sample(12).encoded());
        HttpServer http = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 4);
        byte[] served = scenes.sample(14).encoded();
        http.createContext("/scene.png", x -> {
            x.sendResponseHeaders(200, served.length);
            x.getResponseBody().write(served);
            x.close();
        });
        http.start();
        String httpBase = "http://127.0.0.1:" + http.getAddress().getPort() + "/";
        // Only the images folder and the loopback server: the test's Kafka data and model stay out of reach.
        GlimpseConfig c = KafkaPipelineHarness.config(kafka.bootstrapServers(), model, work, "pipeline", "500ms",
                Map.of("decoder.allowed-uris", folder.toUri() + ";" + httpBase, "decoder.allow-private-addresses", "true"));
        String images = c.get(GlimpseOptions.IMAGES_TOPIC);
        kafka.createTopic(images, 2);
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(GlimpseJob.localCluster(c));
        GlimpseJob.addTo(env, c);
        JobClient job = env.executeAsync("it-pipeline");

        Map<String, String> expectedCode = new LinkedHashMap<>();
        byte[] passwdEnvelope = "{\"id\":\"passwd\",\"uri\":\"file:///etc/passwd\"}".getBytes();
        try (KafkaProducer<byte[], byte[]> p = KafkaPipelineHarness.producer(kafka.bootstrapServers())) {
            for (int i = 0; i < 8; i++) {
                SceneSample s = scenes.sample(i);
                String id = "raw-" + i;
                KafkaPipelineHarness.send(p, images, id, s.encoded());
                expectedCode.put(id, null);
            }
            for (int i = 8; i < 12; i++) {
                String id = "env-" + i;
                String json = "{\"id\":\"" + id + "\",\"image_base64\":\""
                        + Base64.getEncoder().encodeToString(scenes.sample(i).encoded())
                        + "\",\"prompt\":\"what is in this picture?\",\"metadata\":{\"n\":" + i + "}}";
                KafkaPipelineHarness.send(p, images, "ignored-key", json.getBytes());
                expectedCode.put(id, null);
            }
            KafkaPipelineHarness.send(p, images, null, ("{\"id\":\"uri-1\",\"uri\":\"" + file.toUri() + "\"}").getBytes());
            expectedCode.put("uri-1", null);
            KafkaPipelineHarness.send(p, images, null, ("{\"id\":\"uri-http\",\"uri\":\"" + httpBase + "scene.png\"}").getBytes());
            expectedCode.put("uri-http", null);
            KafkaPipelineHarness.send(p, images, null, passwdEnvelope);
            expectedCode.put("passwd", "URI_NOT_ALLOWED");
            KafkaPipelineHarness.send(p, images, null,
                    ("{\"id\":\"kafka-data\",\"uri\":\"" + folder.toUri() + "../kafka/\"}").getBytes());
            expectedCode.put("kafka-data", "URI_NOT_ALLOWED");

            byte[] jpeg = scenes.sample(13).encoded();
            KafkaPipelineHarness.send(p, images, "bad-truncated", Arrays.copyOf(jpeg, jpeg.length / 3));
            expectedCode.put("bad-truncated", "IMAGE_DECODE_FAILED");
            KafkaPipelineHarness.send(p, images, "bad-random", "this is not an image at all".getBytes());
            expectedCode.put("bad-random", "UNSUPPORTED_FORMAT");
            KafkaPipelineHarness.send(p, images, "bad-json", "{\"id\": \"bad-json\", oops".getBytes());
            expectedCode.put("bad-json", "BAD_ENVELOPE");
            KafkaPipelineHarness.send(p, images, null,
                    ("{\"id\":\"bad-uri\",\"uri\":\"" + folder.resolve("missing.png").toUri() + "\"}").getBytes());
            expectedCode.put("bad-uri", "URI_FETCH_FAILED");
        }
        List<KafkaPipelineHarness.Output> out;
        try {
            out = KafkaPipelineHarness.readCommitted(kafka.bootstrapServers(),
                    List.of(c.get(GlimpseOptions.CAPTIONS_TOPIC), c.get(GlimpseOptions.DEAD_LETTER_TOPIC)),
                    expectedCode.size(), Duration.ofMinutes(3));
        } finally {
            job.cancel().get();
            http.stop(0);
        }

        Map<String, Long> perId = out.stream().collect(Collectors.groupingBy(KafkaPipelineHarness.Output::id, Collectors.counting()));
        assertThat(perId).as("exactly one outcome per input").containsOnlyKeys(expectedCode.keySet());
        assertThat(perId.values()).allMatch(n -> n == 1);
        Map<String, KafkaPipelineHarness.Output> byId = out.stream()
                .collect(Collectors.toMap(KafkaPipelineHarness.Output::id, Function.identity()));
        expectedCode.forEach((id, code) -> {
            KafkaPipelineHarness.Output o = byId.get(id);
            assertThat(o.key()).isEqualTo(id);
            if (code == null) {
                assertThat(o.topic()).as(id).isEqualTo(c.get(GlimpseOptions.CAPTIONS_TOPIC));
                assertThat(o.json().fieldNames()).toIterable().containsExactlyInAnyOrder(
                        "id", "caption", "model", "prompt", "tokens", "confidence", "views", "source", "timings_ms",
                        "metadata");
                assertThat(o.json().path("confidence").asDouble()).isGreaterThan(0.0).isLessThanOrEqualTo(1.0);
                // The tiny model keeps the built-in model's views: one, or the two shifted ones when unsure.
                assertThat(o.json().path("views").asInt()).isIn(1, 2);
                assertThat(o.json().path("model").asText()).isEqualTo("tiny-random");
                assertThat(o.json().path("tokens").asInt()).isBetween(0, 6);
                assertThat(o.json().path("source").path("topic").asText()).isEqualTo(images);
                assertThat(o.json().path("source").has("partition")).isTrue();
                assertThat(o.json().path("source").has("offset")).isTrue();
                assertThat(o.json().path("timings_ms").path("total").asLong()).isGreaterThanOrEqualTo(0);
            } else {
                assertThat(o.topic()).as(id).isEqualTo(c.get(GlimpseOptions.DEAD_LETTER_TOPIC));
                assertThat(o.json().path("error").path("code").asText()).as(id).isEqualTo(code);
                assertThat(o.json().path("error").path("message").asText()).isNotBlank();
                assertThat(o.json().has("payload_bytes")).isTrue();
                assertThat(o.json().has("payload_head_base64")).isTrue();
                assertThat(o.json().path("source").path("topic").asText()).isEqualTo(images);
            }
        });
        KafkaPipelineHarness.Output enveloped = byId.get("env-9");
        assertThat(enveloped.json().path("prompt").asText()).isEqualTo("what is in this picture?");
        assertThat(enveloped.json().path("metadata").path("n").asInt()).isEqualTo(9);
        assertThat(byId.get("raw-0").json().path("prompt").asText()).isEqualTo("describe the image");
        // A refused uri's dead letter shows the record's own first bytes, nothing of the file it named.
        assertThat(Base64.getDecoder().decode(byId.get("passwd").json().path("payload_head_base64").asText()))
                .isEqualTo(passwdEnvelope);
        assertThat(byId.get("passwd").json().path("error").path("message").asText())
                .isEqualTo("uri is not under an allowed prefix (decoder.allowed-uris)");
    }
}
