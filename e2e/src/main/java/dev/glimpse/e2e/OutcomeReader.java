package dev.glimpse.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.StringDeserializer;

/**
 * Reads the captions and dead-letter topics from the beginning with {@code read_committed}, on its
 * own thread, and remembers every committed outcome by id (duplicates included: they are what the
 * test looks for).
 */
final class OutcomeReader implements AutoCloseable {
    /** One committed record of an output topic. */
    record Outcome(String id, boolean caption, String text, long atMillis) {}

    private final String captionsTopic;
    private final String deadLetterTopic;
    private final Properties props = new Properties();
    private final List<Outcome> outcomes = new ArrayList<>();
    private final AtomicReference<Throwable> failure = new AtomicReference<>();
    private final ObjectMapper json = new ObjectMapper();
    private volatile boolean running = true;
    private final Thread thread;

    OutcomeReader(String bootstrap, String captionsTopic, String deadLetterTopic) {
        this.captionsTopic = captionsTopic;
        this.deadLetterTopic = deadLetterTopic;
        props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        props.put(ConsumerConfig.GROUP_ID_CONFIG, "glimpse-cluster-test-reader-" + UUID.randomUUID());
        props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        props.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        props.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        thread = new Thread(this::run, "cluster-test-outcomes");
        thread.setDaemon(true);
        thread.start();
    }

    private void run() {
        try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(props)) {
            consumer.subscribe(List.of(captionsTopic, deadLetterTopic));
            while (running) {
                for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(300))) {
                    boolean caption = r.topic().equals(captionsTopic);
                    String text;
                    String id = r.key();
                    try {
                        JsonNode v = json.readTree(r.value());
                        text = caption ? v.path("caption").asText() : v.path("error").path("code").asText();
                        if (id == null) {
                            id = v.path("id").asText();
                        }
                    } catch (Exception e) {
                        text = "unparseable: " + r.value();
                    }
                    synchronized (outcomes) {
                        outcomes.add(new Outcome(id, caption, text, System.currentTimeMillis()));
                    }
                }
            }
        } catch (Throwable t) {
            failure.set(t);
        }
    }

    /** Every outcome so far, in arrival order. */
    List<Outcome> outcomes() {
        checkHealthy();
        synchronized (outcomes) {
            return List.copyOf(outcomes);
        }
    }

    /** Outcomes by id (first-seen order). */
    Map<String, List<Outcome>> byId() {
        Map<String, List<Outcome>> m = new LinkedHashMap<>();
        for (Outcome o : outcomes()) {
            m.computeIfAbsent(o.id(), k -> new ArrayList<>()).add(o);
        }
        return m;
    }

    int distinctIds() {
        return byId().size();
    }

    void checkHealthy() {
        Throwable t = failure.get();
        if (t != null) {
            throw new IllegalStateException("the outcome reader failed: " + t, t);
        }
    }

    @Override
    public void close() {
        running = false;
        try {
            thread.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
