package dev.glimpse.operators;

import java.nio.charset.StandardCharsets;
import org.apache.flink.connector.kafka.sink.KafkaRecordSerializationSchema;
import org.apache.kafka.clients.producer.ProducerRecord;

/** Captions as Kafka records: key = image id, value = the caption JSON. */
public class CaptionSerializer implements KafkaRecordSerializationSchema<CaptionRecord> {
    private final String topic;

    public CaptionSerializer(String topic) {
        this.topic = topic;
    }

    @Override
    public ProducerRecord<byte[], byte[]> serialize(CaptionRecord c, KafkaSinkContext context, Long timestamp) {
        return new ProducerRecord<>(topic, c.request.id.getBytes(StandardCharsets.UTF_8), OutputJson.caption(c));
    }
}
