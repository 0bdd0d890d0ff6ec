package dev.glimpse.connectors;

import dev.glimpse.operators.ImageEvent;
import dev.glimpse.operators.ImageEventDeserializer;
import org.apache.flink.connector.base.DeliveryGuarantee;
import org.apache.flink.connector.kafka.sink.KafkaRecordSerializationSchema;
import org.apache.flink.connector.kafka.sink.KafkaSink;
import org.apache.flink.connector.kafka.sink.KafkaSinkBuilder;
import org.apache.flink.connector.kafka.source.KafkaSource;
import org.apache.flink.connector.kafka.source.KafkaSourceBuilder;
import org.apache.flink.connector.kafka.source.enumerator.initializer.OffsetsInitializer;
import org.apache.kafka.clients.consumer.OffsetResetStrategy;

/** The streaming job's Kafka ends: the images topic's source, and the exactly-once sinks of every job. */
public final class KafkaConnectors {
    private KafkaConnectors() {}

    /**
     * The images topic, read committed, from {@code startingOffsets} ({@code earliest}, {@code latest},
     * else the group's committed offsets, the earliest where it has none); with {@code bounded}, up to
     * the end offsets at the start.
     */
    public static KafkaSource<ImageEvent> images(String bootstrap, String topic, String groupId, String startingOffsets,
                                                 boolean bounded, KafkaSettings kafka) {
        OffsetsInitializer start = switch (startingOffsets) {
            case "earliest" -> OffsetsInitializer.earliest();
            case "latest" -> OffsetsInitializer.latest();
            default -> OffsetsInitializer.committedOffsets(OffsetResetStrategy.EARLIEST);
        };
        KafkaSourceBuilder<ImageEvent> b = KafkaSource.<ImageEvent>builder()
                .setBootstrapServers(bootstrap)
                .setTopics(topic)
                .setGroupId(groupId)
                .setStartingOffsets(start)
                .setDeserializer(new ImageEventDeserializer())
                // Producers of images may be transactional too: never caption an aborted image.
                .setProperty("isolation.level", "read_committed")
                .setProperty("partition.discovery.interval.ms", "30000");
        kafka.properties().forEach(b::setProperty);
        if (bounded) {
            b.setBounded(OffsetsInitializer.latest());
        }
        return b.build();
    }

    /**
     * An exactly-once sink (Kafka transactions committed on each checkpoint) with the job's transaction
     * timeout and {@code kafka.properties.*}; {@code name} makes its transactional ids its own
     * ({@code <prefix>-<name>}).
     */
    public static <T> KafkaSink<T> exactlyOnce(String bootstrap, KafkaRecordSerializationSchema<T> schema, String name,
                                               KafkaSettings kafka) {
        KafkaSinkBuilder<T> b = KafkaSink.<T>builder()
                .setBootstrapServers(bootstrap)
                .setRecordSerializer(schema)
                .setDeliveryGuarantee(DeliveryGuarantee.EXACTLY_ONCE)
                .setTransactionalIdPrefix(kafka.transactionalIdPrefix() + "-" + name);
        kafka.properties().forEach(b::setProperty);
        // The sink's default (1 h) exceeds the broker's maximum (15 min) and would fail at start.
        b.setProperty("transaction.timeout.ms", String.valueOf(kafka.transactionTimeout().toMillis()));
        return b.build();
    }
}
