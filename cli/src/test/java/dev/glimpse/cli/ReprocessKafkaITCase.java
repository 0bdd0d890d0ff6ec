package dev.glimpse.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.glimpse.job.KafkaPipelineHarness;
import dev.glimpse.kafka.EmbeddedKafka;
import dev.glimpse.model.scenes.SceneGenerator;
import dev.glimpse.model.scenes.SceneSample;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code glimpse reprocess} from a range of a topic's history on the embedded broker into another
 * topic (exactly once, dead letters beside it): exactly the records of the range, committed ones
 * only, and a rerun with {@code --skip-existing} adds nothing.
 */
class ReprocessKafkaITCase {
    static final int IN_RANGE = 300;

    @Test
    void shouldCaptionExactlyTheCommittedRecordsOfARangeIntoATopicAndAddNothingOnARerun(@TempDir Path work) throws Exception {
        try (EmbeddedKafka kafka = EmbeddedKafka.start(work.resolve("kafka"))) {
            String bootstrap = kafka.bootstrapServers();
            kafka.createTopic("archive", 2);
            kafka.createTopic("captions-v2", 1);
            kafka.createTopic("captions-v2-dlq", 1);
            long t0 = System.currentTimeMillis() - Duration.ofHours(1).toMillis();
            long until = t0 + 100_000;
            SceneGenerator scenes = new SceneGenerator(108);
            Map<String, String> truth = new HashMap<>();
            try (KafkaProducer<byte[], byte[]> p = KafkaPipelineHarness.producer(bootstrap)) {
                for (int i = 0; i < IN_RANGE; i++) {
                    SceneSample s = scenes.sample(i);
                    String id = "archive-" + i;
                    byte[] value = i == 7 ? new byte[0]
                            : i % 3 == 0 ? ("{\"id\":\"" + id + "\",\"image_base64\":\""
                                    + Base64.getEncoder().encodeToString(s.encoded()) + "\"}").getBytes(StandardCharsets.UTF_8)
                            : s.encoded();
                    p.send(new ProducerRecord<>("archive", i % 2, t0 + i, id.getBytes(StandardCharsets.UTF_8), value));
                    truth.put(id, s.caption());
                }
                // After the range's end: left for a later run.
                for (int i = 0; i < 20; i++) {
                    p.send(new ProducerRecord<>("archive", i % 2, until + i, ("later-" + i).getBytes(StandardCharsets.UTF_8),
                            scenes.sample(1000 + i).encoded()));
                }
            }
            abortedTransaction(bootstrap, scenes);

            String[] args = {"--from", "kafka:archive@" + bootstrap, "--until-offsets", String.valueOf(until),
                    "--to", "kafka:captions-v2@" + bootstrap, "--skip-existing",
                    "--set", "kafka.transactional-id-prefix=it-reprocess"};
            ReprocessRuns.Result r = ReprocessRuns.reprocess(args);
            assertThat(r.exitCode()).as(r.stdout()).isZero();

            List<KafkaPipelineHarness.Output> out = KafkaPipelineHarness.readCommitted(bootstrap,
                    List.of("captions-v2", "captions-v2-dlq"), IN_RANGE, Duration.ofMinutes(1));
            Map<String, Long> perId = new HashMap<>();
            out.forEach(o -> perId.merge(o.id(), 1L, Long::sum));
            assertThat(perId.keySet()).as("exactly the committed records of the range").isEqualTo(truth.keySet());
            assertThat(perId).allSatisfy((id, n) -> assertThat(n).as(id).isEqualTo(1));
            assertThat(out).filteredOn(o -> o.topic().equals("captions-v2-dlq")).extracting(KafkaPipelineHarness.Output::id)
                    .containsExactly("archive-7");
            long right = out.stream().filter(o -> o.topic().equals("captions-v2"))
                    .filter(o -> o.json().path("caption").asText().equals(truth.get(o.id()))).count();
            assertThat(right).isGreaterThanOrEqualTo((long) (0.98 * (IN_RANGE - 1)));
            assertThat(out.get(0).json().path("source").path("topic").asText()).isEqualTo("archive");
            assertThat(r.stdout()).contains("images        300").contains("captions      299");

            ReprocessRuns.Result again = ReprocessRuns.reprocess(args);
            assertThat(again.exitCode()).as(again.stdout()).isZero();
            assertThat(again.stdout()).contains("images        0").contains("skipped       300");
            assertThat(KafkaPipelineHarness.readCommitted(bootstrap, List.of("captions-v2", "captions-v2-dlq"),
                    IN_RANGE + 1, Duration.ofSeconds(5))).as("a rerun adds nothing").hasSize(IN_RANGE);
        }
    }

    /** Records of a transaction that was aborted: a read_committed source never sees them. */
    private static void abortedTransaction(String bootstrap, SceneGenerator scenes) {
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, "it-aborted-images");
        p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        try (KafkaProducer<byte[], byte[]> tx = new KafkaProducer<>(p)) {
            tx.initTransactions();
            tx.beginTransaction();
            long ts = System.currentTimeMillis() - Duration.ofHours(1).toMillis() + 50_000;
            for (int i = 0; i < 10; i++) {
                tx.send(new ProducerRecord<>("archive", i % 2, ts + i, ("aborted-" + i).getBytes(StandardCharsets.UTF_8),
                        scenes.sample(2000 + i).encoded()));
            }
            tx.flush();
            tx.abortTransaction();
        }
    }
}
