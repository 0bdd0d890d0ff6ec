package dev.glimpse.connectors.reprocess;

import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.stream.Collectors;
import org.apache.flink.connector.kafka.source.enumerator.initializer.OffsetsInitializer;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndTimestamp;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/**
 * {@code --from-offsets earliest|TIMESTAMP} and {@code --until-offsets latest|TIMESTAMP} of a Kafka
 * source; a timestamp is epoch milliseconds or an ISO-8601 instant ({@code 2026-11-30T00:00:00Z}).
 * "latest" is the end of each partition when the run starts (for a read_committed reader, the last
 * stable offset): records that arrive later are left for the next run.
 */
public record KafkaRange(Long fromTimestamp, Long untilTimestamp) implements java.io.Serializable {
    public static KafkaRange parse(String from, String until) {
        return new KafkaRange(timestamp(from, "earliest", "--from-offsets"), timestamp(until, "latest", "--until-offsets"));
    }

    private static Long timestamp(String text, String keyword, String flag) {
        if (text == null || text.equals(keyword)) {
            return null;
        }
        try {
            return Long.parseLong(text);
        } catch (NumberFormatException e) {
            try {
                return Instant.parse(text).toEpochMilli();
            } catch (DateTimeParseException e2) {
                throw new IllegalArgumentException(flag + " must be " + keyword + ", epoch milliseconds or an ISO-8601 "
                        + "instant such as 2026-11-30T00:00:00Z, got " + text);
            }
        }
    }

    OffsetsInitializer start() {
        return fromTimestamp == null ? OffsetsInitializer.earliest() : OffsetsInitializer.timestamp(fromTimestamp);
    }

    OffsetsInitializer stop() {
        return untilTimestamp == null ? OffsetsInitializer.latest() : OffsetsInitializer.timestamp(untilTimestamp);
    }

    /** The number of offsets in the range now (transaction markers included: an upper bound of the records). */
    long size(String topic, String bootstrap, Map<String, String> kafkaProperties) {
        Properties p = new Properties();
        p.putAll(kafkaProperties);
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(p)) {
            List<TopicPartition> partitions = consumer.partitionsFor(topic).stream()
                    .map(i -> new TopicPartition(topic, i.partition())).collect(Collectors.toList());
            Map<TopicPartition, Long> begin = fromTimestamp == null ? consumer.beginningOffsets(partitions)
                    : at(consumer, partitions, fromTimestamp);
            Map<TopicPartition, Long> end = untilTimestamp == null ? consumer.endOffsets(partitions)
                    : at(consumer, partitions, untilTimestamp);
            return partitions.stream().mapToLong(tp -> Math.max(0, end.get(tp) - begin.get(tp))).sum();
        }
    }

    /** The first offset at or after {@code ts} in each partition, or its end. */
    private static Map<TopicPartition, Long> at(KafkaConsumer<byte[], byte[]> consumer, List<TopicPartition> partitions, long ts) {
        Map<TopicPartition, Long> query = new HashMap<>();
        partitions.forEach(tp -> query.put(tp, ts));
        Map<TopicPartition, OffsetAndTimestamp> found = consumer.offsetsForTimes(query);
        Map<TopicPartition, Long> end = consumer.endOffsets(partitions);
        Map<TopicPartition, Long> out = new HashMap<>();
        partitions.forEach(tp -> out.put(tp, found.get(tp) != null ? found.get(tp).offset() : end.get(tp)));
        return out;
    }
}
