package dev.glimpse.job;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.glimpse.connectors.KafkaClients;
import dev.glimpse.kafka.EmbeddedKafka;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;

/** Producing to and reading committed output from the real broker of the integration tests. */
public final class KafkaPipelineHarness {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** One committed output record: the topic it was on and its JSON. */
    public record Output(String topic, String key, JsonNode json) {
        public String id() {
            return json.path("id").asText();
        }
    }

    private KafkaPipelineHarness() {}

    public static KafkaProducer<byte[], byte[]> producer(String bootstrap) {
        return KafkaClients.imageProducer(bootstrap, Map.of());
    }

    /** The job's configuration for one test: its own topics, group, transactional ids and checkpoints. */
    public static GlimpseConfig config(String bootstrap, Path model, Path work, String prefix, String checkpointInterval) {
        return config(bootstrap, model, work, prefix, checkpointInterval, Map.of());
    }

    /** As above, with {@code extra} options on top (an allow-list, Kafka client properties). */
    public static GlimpseConfig config(String bootstrap, Path model, Path work, String prefix, String checkpointInterval,
                                Map<String, String> extra) {
        Map<String, String> o = new LinkedHashMap<>();
        o.put("kafka.bootstrap-servers", bootstrap);
        o.put("kafka.images-topic", prefix + "-images");
        o.put("kafka.captions-topic", prefix + "-captions");
        o.put("kafka.dead-letter-topic", prefix + "-dlq");
        o.put("kafka.group-id", prefix);
        o.put("kafka.transactional-id-prefix", prefix);
        o.put("model.dir", model.toString());
        o.put("checkpoint.interval", checkpointInterval);
        o.put("checkpoint.dir", work.resolve(prefix + "-checkpoints").toString());
        o.put("batching.max-batch-size", "4");
        o.put("parallelism.decode", "2");
        o.put("parallelism.inference", "2");
        // Each test's topics: those it does not make itself are made at the job's start.
        o.put("kafka.create-topics", "true");
        o.putAll(extra);
        return GlimpseConfig.load(null, o);
    }

    /**
     * Runs the job of {@code c} (named {@code jobName}) on a fresh two-partition images topic: one
     * JSON envelope per image (base64 bytes, {@code maxNewTokens}, the image's prompt if {@code
     * prompts} has one), then a record {@code "broken"} that is no image; returns every committed
     * caption and dead letter by id, the job cancelled.
     */
    public static Map<String, Output> captionWithABrokenRecord(EmbeddedKafka kafka, GlimpseConfig c, String jobName,
                                                               Map<String, byte[]> images, Map<String, String> prompts,
                                                               int maxNewTokens) throws Exception {
        String topic = c.get(GlimpseOptions.IMAGES_TOPIC);
        kafka.createTopic(topic, 2);
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(GlimpseJob.checkpointing(c));
        GlimpseJob.addTo(env, c);
        JobClient job = env.executeAsync(jobName);
        try (KafkaProducer<byte[], byte[]> p = producer(kafka.bootstrapServers())) {
            for (Map.Entry<String, byte[]> e : images.entrySet()) {
                String prompt = prompts.containsKey(e.getKey()) ? ",\"prompt\":\"" + prompts.get(e.getKey()) + "\"" : "";
                String json = "{\"id\":\"" + e.getKey() + "\",\"image_base64\":\""
                        + Base64.getEncoder().encodeToString(e.getValue()) + "\",\"max_new_tokens\":" + maxNewTokens + prompt + "}";
                send(p, topic, null, json.getBytes());
            }
            send(p, topic, "broken", "not an image".getBytes());
        }
        List<Output> out;
        try {
            out = readCommitted(kafka.bootstrapServers(),
                    List.of(c.get(GlimpseOptions.CAPTIONS_TOPIC), c.get(GlimpseOptions.DEAD_LETTER_TOPIC)),
                    images.size() + 1, Duration.ofMinutes(4));
        } finally {
            job.cancel().get();
        }
        return out.stream().collect(Collectors.toMap(Output::id, Function.identity()));
    }

    public static void send(KafkaProducer<byte[], byte[]> producer, String topic, String key, byte[] value) {
        producer.send(new ProducerRecord<>(topic, key == null ? null : key.getBytes(), value));
    }

    /** Reads committed output of {@code topics} until {@code expected} records arrived (or the time is up). */
    public static List<Output> readCommitted(String bootstrap, List<String> topics, int expected, Duration timeout) throws Exception {
        return readCommitted(bootstrap, Map.of(), topics, expected, timeout);
    }

    /** As above, with Kafka client properties (a secured broker). */
    public static List<Output> readCommitted(String bootstrap, Map<String, String> properties, List<String> topics, int expected,
                                      Duration timeout) throws Exception {
        List<Output> out = new ArrayList<>();
        long deadline = System.currentTimeMillis() + timeout.toMillis();
        try (KafkaConsumer<String, String> c = KafkaClients.committedReader(bootstrap, properties, "it-reader-" + UUID.randomUUID(), true)) {
            c.subscribe(topics);
            while (out.size() < expected && System.currentTimeMillis() < deadline) {
                for (ConsumerRecord<String, String> r : c.poll(Duration.ofMillis(200))) {
                    out.add(new Output(r.topic(), r.key(), JSON.readTree(r.value())));
                }
            }
            // Linger a little: a duplicate would show up right after the last expected record.
            long extra = System.currentTimeMillis() + 1500;
            while (System.currentTimeMillis() < extra) {
                for (ConsumerRecord<String, String> r : c.poll(Duration.ofMillis(200))) {
                    out.add(new Output(r.topic(), r.key(), JSON.readTree(r.value())));
                }
            }
        }
        return out;
    }
}
