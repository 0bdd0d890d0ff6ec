package dev.glimpse.cli.gallery;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import dev.glimpse.connectors.KafkaClients;
import dev.glimpse.kafka.EmbeddedKafka;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code gallery --from kafka:TOPIC,TOPIC@BOOTSTRAP} against a real broker: every record of both topics, once. */
class GallerySourceITCase {
    @Test
    void shouldReadEveryRecordOfTheTopicsToTheirEnd(@TempDir Path work) throws Exception {
        try (EmbeddedKafka kafka = EmbeddedKafka.start(work.resolve("kafka"))) {
            kafka.createTopic("g-captions", 2);
            kafka.createTopic("g-dlq", 1);
            try (KafkaProducer<byte[], byte[]> p = KafkaClients.imageProducer(kafka.bootstrapServers(), Map.of())) {
                for (int i = 0; i < 5; i++) {
                    p.send(new ProducerRecord<>("g-captions", ("c" + i).getBytes(StandardCharsets.UTF_8),
                            ("{\"id\":\"c" + i + "\",\"caption\":\"a small red circle\"}").getBytes(StandardCharsets.UTF_8)));
                }
                p.send(new ProducerRecord<>("g-dlq", "d0".getBytes(StandardCharsets.UTF_8),
                        "{\"id\":\"d0\",\"error\":{\"code\":\"EMPTY_PAYLOAD\",\"message\":\"payload is empty\"}}"
                                .getBytes(StandardCharsets.UTF_8)));
            }
            List<JsonNode> records = GallerySource.parse("kafka:g-captions,g-dlq@" + kafka.bootstrapServers())
                    .read(Map.of(), Duration.ofMinutes(1));

            assertThat(records).extracting(n -> n.path("id").asText())
                    .containsExactlyInAnyOrder("c0", "c1", "c2", "c3", "c4", "d0");
            assertThatThrownBy(() -> GallerySource.parse("kafka:no-such-topic@" + kafka.bootstrapServers())
                    .read(Map.of(), Duration.ofSeconds(20))).hasMessageContaining("no-such-topic");
        }
    }
}
