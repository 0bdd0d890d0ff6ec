package dev.glimpse.cli.gallery;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.glimpse.connectors.KafkaClients;
import dev.glimpse.connectors.reprocess.OutcomeLines;
import dev.glimpse.connectors.reprocess.ReprocessSink;
import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;

/**
 * Where the gallery's records come from: {@code jsonl:FILE} (one caption or dead-letter JSON per
 * line, as {@code bin/glimpse tail} prints them), {@code parquet:DIR/} (the committed part files of
 * a {@code reprocess --to parquet:DIR/} run, both tables) or {@code kafka:TOPIC[,TOPIC...]@BOOTSTRAP}
 * (the committed records of those topics, from the beginning to their end when the read starts).
 */
public record GallerySource(String spec, Path file, ReprocessSink.ParquetDir parquet, List<String> topics, String bootstrap) {
    private static final ObjectMapper JSON = new ObjectMapper();

    public static GallerySource parse(String spec) {
        if (spec.startsWith("jsonl:") && spec.length() > "jsonl:".length()) {
            return new GallerySource(spec, Path.of(spec.substring("jsonl:".length())), null, null, null);
        }
        if (spec.startsWith("parquet:")) {
            if (ReprocessSink.parse(spec.endsWith("/") ? spec : spec + "/", null) instanceof ReprocessSink.ParquetDir dir) {
                return new GallerySource(spec, null, dir, null, null);
            }
        }
        int at = spec.lastIndexOf('@');
        if (spec.startsWith("kafka:") && at > "kafka:".length() && at < spec.length() - 1) {
            List<String> topics = Arrays.stream(spec.substring("kafka:".length(), at).split(","))
                    .map(String::trim).filter(t -> !t.isEmpty()).toList();
            if (!topics.isEmpty()) {
                return new GallerySource(spec, null, null, topics, spec.substring(at + 1));
            }
        }
        throw new IllegalArgumentException("--from must be jsonl:FILE, parquet:DIR/ or kafka:TOPIC[,TOPIC]@HOST:PORT, got " + spec);
    }

    /** Every record; {@code kafkaProperties} are added to the Kafka consumer (TLS, SASL). */
    public List<JsonNode> read(Map<String, String> kafkaProperties, Duration timeout) throws IOException {
        if (file != null) {
            return readJsonLines(file);
        }
        return parquet != null ? parquet.committed() : readTopics(kafkaProperties, timeout);
    }

    public static List<JsonNode> readJsonLines(Path file) throws IOException {
        try (BufferedReader lines = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            return OutcomeLines.read(lines, file.toString());
        }
    }

    private List<JsonNode> readTopics(Map<String, String> kafkaProperties, Duration timeout) throws IOException {
        List<JsonNode> records = new ArrayList<>();
        long deadline = System.currentTimeMillis() + timeout.toMillis();
        try (KafkaConsumer<String, String> consumer = KafkaClients.committedScanner(bootstrap, kafkaProperties)) {
            List<TopicPartition> partitions = new ArrayList<>();
            for (String topic : topics) {
                List<PartitionInfo> infos = consumer.partitionsFor(topic, timeout);
                if (infos == null || infos.isEmpty()) {
                    throw new IllegalArgumentException("--from: topic " + topic + " does not exist on " + bootstrap);
                }
                infos.forEach(i -> partitions.add(new TopicPartition(i.topic(), i.partition())));
            }
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            Map<TopicPartition, Long> end = consumer.endOffsets(partitions, timeout);
            while (partitions.stream().anyMatch(tp -> consumer.position(tp) < end.get(tp))) {
                if (System.currentTimeMillis() > deadline) {
                    throw new IOException("--from " + spec + ": not at the end of the topics after " + timeout);
                }
                for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(500))) {
                    records.add(JSON.readTree(r.value()));
                }
            }
        }
        return records;
    }
}
