package dev.glimpse.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.glimpse.job.KafkaPipelineHarness;
import dev.glimpse.kafka.EmbeddedKafka;
import dev.glimpse.model.scenes.SceneGenerator;
import dev.glimpse.model.scenes.SceneSample;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code glimpse sql -f FILE.sql} end to end: a Kafka table of raw image bytes through {@code
 * ML_PREDICT} with the built-in model into a Kafka table with exactly-once delivery, as the README's
 * streaming example does (bounded here, so that the job ends and commits).
 */
class SqlScriptITCase {
    static final int SCENES = 30;

    @Test
    void shouldCaptionATopicIntoATopicWithOneCommittedRowPerImage(@TempDir Path work) throws Exception {
        try (EmbeddedKafka kafka = EmbeddedKafka.start(work.resolve("kafka"))) {
            String bootstrap = kafka.bootstrapServers();
            kafka.createTopic("photos", 2);
            kafka.createTopic("photo-captions", 1);
            SceneGenerator scenes = new SceneGenerator(2718);
            Map<String, String> truth = new HashMap<>();
            try (KafkaProducer<byte[], byte[]> p = KafkaPipelineHarness.producer(bootstrap)) {
                for (int i = 0; i < SCENES; i++) {
                    SceneSample s = scenes.sample(i);
                    KafkaPipelineHarness.send(p, "photos", "photo-" + i, s.encoded());
                    truth.put("photo-" + i, s.caption());
                }
                KafkaPipelineHarness.send(p, "photos", "broken", "not an image".getBytes(StandardCharsets.UTF_8));
            }
            Path script = work.resolve("captions.sql");
            Files.writeString(script, script(bootstrap, true));

            int rc = Cli.commandLine().execute("sql", "-f", script.toString(),
                    "--set", "checkpoint.dir=" + work.resolve("checkpoints"), "--set", "checkpoint.interval=1s");

            assertThat(rc).isZero();
            List<KafkaPipelineHarness.Output> out = KafkaPipelineHarness.readCommitted(bootstrap, List.of("photo-captions"),
                    SCENES + 1, Duration.ofMinutes(1));
            Map<String, Integer> perId = new HashMap<>();
            Map<String, String> captions = new HashMap<>();
            for (KafkaPipelineHarness.Output o : out) {
                perId.merge(o.key(), 1, Integer::sum);
                captions.put(o.key(), o.json().path("caption").isNull() ? null : o.json().path("caption").asText());
            }
            assertThat(perId).as("one committed row per image").hasSize(SCENES + 1).allSatisfy((id, n) -> assertThat(n).isEqualTo(1));
            long right = truth.entrySet().stream().filter(e -> e.getValue().equals(captions.get(e.getKey()))).count();
            assertThat(right).as("captions equal to the scenes' truth").isGreaterThanOrEqualTo(SCENES - 1);
            KafkaPipelineHarness.Output broken = out.stream().filter(o -> o.key().equals("broken")).findFirst().orElseThrow();
            assertThat(broken.json().path("error_code").asText()).isEqualTo("UNSUPPORTED_FORMAT");
            assertThat(broken.json().path("caption").isNull()).isTrue();
        }
    }

    /**
     * The streaming example of docs/sql.md; {@code bounded}: read up to the topic's end offsets at the
     * start, and end.
     */
    static String script(String bootstrap, boolean bounded) {
        return String.format("""
                -- raw image bytes keyed by their id
                CREATE TABLE photos (id STRING, image BYTES) WITH (
                  'connector' = 'kafka', 'topic' = 'photos', 'properties.bootstrap.servers' = '%1$s',
                  'properties.isolation.level' = 'read_committed', %3$s
                  'scan.startup.mode' = 'earliest-offset',
                  'key.format' = 'raw', 'key.fields' = 'id',
                  'value.format' = 'raw', 'value.fields-include' = 'EXCEPT_KEY');
                CREATE TABLE photo_captions (id STRING, caption STRING, error_code STRING, error_message STRING) WITH (
                  'connector' = 'kafka', 'topic' = 'photo-captions', 'properties.bootstrap.servers' = '%1$s',
                  'key.format' = 'raw', 'key.fields' = 'id', 'value.format' = 'json',
                  'sink.delivery-guarantee' = 'exactly-once', 'sink.transactional-id-prefix' = 'glimpse-sql-it',
                  'properties.transaction.timeout.ms' = '300000');
                CREATE MODEL captioner
                  INPUT (image BYTES)
                  OUTPUT (caption STRING, error_code STRING, error_message STRING)
                  WITH ('provider' = 'glimpse', 'model-dir' = '%2$s', 'max-batch-size' = '8');
                INSERT INTO photo_captions
                  SELECT id, caption, error_code, error_message
                  FROM ML_PREDICT(TABLE photos, MODEL captioner, DESCRIPTOR(image), MAP['max-concurrent-operations', '16']);
                """, bootstrap, Path.of("..", "models", "glimpse-scenes").toAbsolutePath().normalize(),
                bounded ? "'scan.bounded.mode' = 'latest-offset'," : "");
    }
}
