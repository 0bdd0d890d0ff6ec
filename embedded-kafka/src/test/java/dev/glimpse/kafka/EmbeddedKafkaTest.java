package dev.glimpse.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.net.ConnectException;
import java.net.Socket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class EmbeddedKafkaTest {

    private static final Duration READ_TIMEOUT = Duration.ofSeconds(30);

    @TempDir
    static Path dataDir;

    // One broker for the whole class: starting one takes seconds.
    private static EmbeddedKafka kafka;

    @BeforeAll
    static void startBroker() {
        kafka = EmbeddedKafka.start(dataDir);
    }

    @AfterAll
    static void stopBroker() {
        kafka.close();
    }

    @Test
    void shouldRoundTripRecordsThroughRealBroker() throws Exception {
        kafka.createTopic("round-trip", 2);
        kafka.createTopic("round-trip", 2); // creating an existing topic again is a no-op

        try (KafkaProducer<String, String> producer = producer(Map.of())) {
            for (int i = 0; i < 10; i++) {
                producer.send(new ProducerRecord<>("round-trip", i % 2, "key-" + i, "value-" + i)).get();
            }
        }

        List<ConsumerRecord<String, String>> records;
        try (KafkaConsumer<String, String> consumer = consumer(Map.of(
                ConsumerConfig.GROUP_ID_CONFIG, "round-trip-group",
                ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest"))) {
            consumer.subscribe(List.of("round-trip"));
            records = poll(consumer, 10);
        }
        assertThat(records).extracting(ConsumerRecord::value)
                .containsExactlyInAnyOrder("value-0", "value-1", "value-2", "value-3", "value-4",
                        "value-5", "value-6", "value-7", "value-8", "value-9");
        assertThat(records).extracting(ConsumerRecord::partition).containsOnly(0, 1);
    }

    @Test
    void shouldHideAbortedTransactionsFromReadCommittedConsumers() {
        kafka.createTopic("transactions", 1);

        try (KafkaProducer<String, String> producer = producer(Map.of(
                ProducerConfig.TRANSACTIONAL_ID_CONFIG, "embedded-kafka-test",
                // Above the broker default maximum of 15 minutes this would be rejected.
                ProducerConfig.TRANSACTION_TIMEOUT_CONFIG, (int) Duration.ofMinutes(15).toMillis()))) {
            producer.initTransactions();
            sendInTransaction(producer, List.of("committed-1", "committed-2", "committed-3"));
            producer.commitTransaction();
            sendInTransaction(producer, List.of("aborted-1", "aborted-2"));
            producer.flush();
            producer.abortTransaction();
            // A later commit proves the reader got past the aborted records rather than not reaching them.
            sendInTransaction(producer, List.of("committed-4"));
            producer.commitTransaction();
        }

        assertThat(readFromStart("transactions", 4, "read_committed"))
                .containsExactly("committed-1", "committed-2", "committed-3", "committed-4");
        assertThat(readFromStart("transactions", 6, "read_uncommitted"))
                .containsExactly("committed-1", "committed-2", "committed-3", "aborted-1", "aborted-2",
                        "committed-4");
    }

    @Test
    void shouldKeepRecordsAndAddressAcrossStopAndRestart() throws Exception {
        kafka.createTopic("restart", 1);
        String bootstrap = kafka.bootstrapServers();

        try (KafkaProducer<String, String> producer = producer(Map.of())) {
            producer.send(new ProducerRecord<>("restart", "before-stop")).get();

            kafka.stop();
            assertThatThrownBy(() -> connect(bootstrap)).isInstanceOf(ConnectException.class);
            kafka.restart();

            // The same client reconnects to the unchanged address.
            producer.send(new ProducerRecord<>("restart", "after-restart")).get();
        }

        assertThat(kafka.bootstrapServers()).isEqualTo(bootstrap);
        assertThat(readFromStart("restart", 2, "read_committed")).containsExactly("before-stop", "after-restart");
    }

    @Test
    void shouldReuseFormattedDataDirectory(@TempDir Path otherDir) throws Exception {
        try (EmbeddedKafka first = EmbeddedKafka.start(otherDir)) {
            first.createTopic("reused", 1);
            try (KafkaProducer<String, String> producer = producer(first, Map.of())) {
                producer.send(new ProducerRecord<>("reused", "kept")).get();
            }
        }
        try (EmbeddedKafka second = EmbeddedKafka.start(otherDir)) {
            assertThat(readFromStart(second, "reused", 1, "read_committed")).containsExactly("kept");
        }
    }

    private static void sendInTransaction(KafkaProducer<String, String> producer, List<String> values) {
        producer.beginTransaction();
        values.forEach(value -> producer.send(new ProducerRecord<>("transactions", value)));
    }

    private static void connect(String hostAndPort) throws IOException {
        String[] parts = hostAndPort.split(":");
        new Socket(parts[0], Integer.parseInt(parts[1])).close();
    }

    private static List<String> readFromStart(String topic, int expected, String isolationLevel) {
        return readFromStart(kafka, topic, expected, isolationLevel);
    }

    /** Reads all partitions of a topic from the beginning without a consumer group. */
    private static List<String> readFromStart(EmbeddedKafka broker, String topic, int expected,
            String isolationLevel) {
        try (KafkaConsumer<String, String> consumer = consumer(broker,
                Map.of(ConsumerConfig.ISOLATION_LEVEL_CONFIG, isolationLevel))) {
            List<TopicPartition> partitions = consumer.partitionsFor(topic).stream()
                    .map(info -> new TopicPartition(topic, info.partition()))
                    .toList();
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            return poll(consumer, expected).stream().map(ConsumerRecord::value).toList();
        }
    }

    /** Polls until {@code expected} records arrived, then briefly more to catch any surplus. */
    private static List<ConsumerRecord<String, String>> poll(KafkaConsumer<String, String> consumer, int expected) {
        List<ConsumerRecord<String, String>> records = new ArrayList<>();
        long deadline = System.nanoTime() + READ_TIMEOUT.toNanos();
        while (records.size() < expected && System.nanoTime() < deadline) {
            consumer.poll(Duration.ofMillis(200)).forEach(records::add);
        }
        consumer.poll(Duration.ofMillis(200)).forEach(records::add);
        return records;
    }

    private static KafkaProducer<String, String> producer(Map<String, Object> extra) {
        return producer(kafka, extra);
    }

    private static KafkaProducer<String, String> producer(EmbeddedKafka broker, Map<String, Object> extra) {
        Map<String, Object> config = new HashMap<>(extra);
        config.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers());
        config.put(ProducerConfig.ACKS_CONFIG, "all");
        return new KafkaProducer<>(config, new StringSerializer(), new StringSerializer());
    }

    private static KafkaConsumer<String, String> consumer(Map<String, Object> extra) {
        return consumer(kafka, extra);
    }

    private static KafkaConsumer<String, String> consumer(EmbeddedKafka broker, Map<String, Object> extra) {
        Map<String, Object> config = new HashMap<>(extra);
        config.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers());
        return new KafkaConsumer<>(config, new StringDeserializer(), new StringDeserializer());
    }
}
