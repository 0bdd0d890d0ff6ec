package dev.glimpse.operators;

import java.nio.charset.StandardCharsets;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.connector.kafka.source.reader.deserializer.KafkaRecordDeserializationSchema;
import org.apache.flink.util.Collector;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.header.Header;

/** Reads images-topic records as they are; all interpretation happens in {@link ImageDecoder}. */
public class ImageEventDeserializer implements KafkaRecordDeserializationSchema<ImageEvent> {
    @Override
    public void deserialize(ConsumerRecord<byte[], byte[]> record, Collector<ImageEvent> out) {
        out.collect(new ImageEvent(record.key(), record.value(), header(record, "id"), header(record, "prompt"),
                new SourceRef(record.topic(), record.partition(), record.offset(), record.timestamp())));
    }

    private static String header(ConsumerRecord<byte[], byte[]> record, String name) {
        Header h = record.headers().lastHeader(name);
        return h == null || h.value() == null ? null : new String(h.value(), StandardCharsets.UTF_8);
    }

    @Override
    public TypeInformation<ImageEvent> getProducedType() {
        return TypeInformation.of(ImageEvent.class);
    }
}
