package dev.glimpse.operators;

import java.nio.charset.StandardCharsets;
import org.apache.flink.connector.kafka.sink.KafkaRecordSerializationSchema;
import org.apache.kafka.clients.producer.ProducerRecord;

/** Dead letters as Kafka records: key = image id (or source coordinates), value = the error JSON. */
public class DeadLetterSerializer implements KafkaRecordSerializationSchema<DeadLetter> {
    private final String topic;

    public DeadLetterSerializer(String topic) {
        this.topic = topic;
    }

    @Override
    public ProducerRecord<byte[], byte[]> serialize(DeadLetter d, KafkaSinkContext context, Long timestamp) {
        String key = d.id != null ? d.id : d.source.coordinates();
        return new ProducerRecord<>(topic, key.getBytes(StandardCharsets.UTF_8), OutputJson.deadLetter(d));
    }
}
