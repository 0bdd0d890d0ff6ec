package dev.glimpse.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.glimpse.connectors.KafkaClients;
import dev.glimpse.job.GlimpseConfig;
import dev.glimpse.job.GlimpseJob;
import dev.glimpse.job.GlimpseOptions;
import dev.glimpse.job.Installation;
import dev.glimpse.job.StartupBanner;
import dev.glimpse.kafka.EmbeddedKafka;
import dev.glimpse.model.ModelConfig;
import dev.glimpse.model.VisionLanguageModel;
import dev.glimpse.model.scenes.SceneGenerator;
import dev.glimpse.model.scenes.SceneSample;
import dev.glimpse.model.training.ScenesModel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.Callable;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code glimpse demo}: the whole pipeline on one machine — a real Kafka broker (KRaft) in process,
 * a local Flink cluster, the built-in model — fed with N sample scenes; prints each caption as it
 * is committed, and exits when all N have an outcome.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = "Run the job end to end on an embedded Kafka broker and a local Flink cluster, and show captions.")
final class Demo implements Callable<Integer> {
    @Option(names = "--images", defaultValue = "20", description = "Number of sample scenes to caption.") int images;
    @Option(names = "--seed", defaultValue = "2024", description = "Seed of the sample scenes.") long seed;
    @Option(names = "--timeout", defaultValue = "PT10M", description = "Give up after this long (ISO-8601).") Duration timeout;
    @Option(names = "--rest-port", defaultValue = "0", description = "Port of the local cluster's web UI (0: any free port).")
    int restPort;
    @Option(names = "--prometheus-port", defaultValue = "0", description = "Serve the metrics for Prometheus on this "
            + "port, all interfaces (0: none).") int prometheusPort;
    @Option(names = "--keep", description = "Keep the job and its web UI up after the demo, until Enter, end of input or Ctrl-C.")
    boolean keep;
    @Mixin JobOptions job;

    @Override
    public Integer call() throws Exception {
        if (images < 1) {
            throw new IllegalArgumentException("--images must be at least 1");
        }
        Path work = Files.createTempDirectory("glimpse-demo");
        Path model = job.model != null ? job.model : Installation.builtInModel();
        boolean untrained = false;
        if (job.model == null && !Files.isRegularFile(model.resolve(VisionLanguageModel.WEIGHTS))) {
            model = randomModel(work.resolve("untrained-model"));
            untrained = true;
        }
        try (EmbeddedKafka kafka = EmbeddedKafka.start(work.resolve("kafka"))) {
            Map<String, String> flags = new LinkedHashMap<>();
            flags.put(GlimpseOptions.BOOTSTRAP_SERVERS.key(), kafka.bootstrapServers());
            flags.put(GlimpseOptions.MODEL_DIR.key(), model.toString());
            flags.put(GlimpseOptions.CHECKPOINT_DIR.key(), work.resolve("checkpoints").toString());
            flags.put(GlimpseOptions.TRANSACTIONAL_ID_PREFIX.key(), "glimpse-demo-" + UUID.randomUUID());
            // Captions are committed once per checkpoint: a short interval keeps the demo snappy.
            flags.putIfAbsent(GlimpseOptions.CHECKPOINT_INTERVAL.key(), "1s");
            job.set.forEach(flags::putIfAbsent);
            job.set.clear();
            GlimpseConfig c = job.load(flags);
            kafka.createTopic(c.get(GlimpseOptions.IMAGES_TOPIC), 2);
            kafka.createTopic(c.get(GlimpseOptions.CAPTIONS_TOPIC), 1);
            kafka.createTopic(c.get(GlimpseOptions.DEAD_LETTER_TOPIC), 1);

            LocalCluster local = new LocalCluster(restPort, prometheusPort);
            banner(c, local, untrained);
            StreamExecutionEnvironment env = local.environment(GlimpseJob.localCluster(c));
            GlimpseJob.addTo(env, c);
            JobClient client = env.executeAsync("glimpse-demo");
            try {
                Map<String, String> truth = produce(kafka.bootstrapServers(), c, c.get(GlimpseOptions.IMAGES_TOPIC));
                int rc = consume(kafka.bootstrapServers(), c, truth, untrained);
                if (keep) {
                    System.out.println("the job and its web UI stay up at " + local.webUi()
                            + "; press Enter (or Ctrl-C) to end");
                    waitForEnter();
                }
                return rc;
            } finally {
                client.cancel().get();
            }
        }
    }

    /** Returns at a line or the end of standard input. */
    private static void waitForEnter() throws java.io.IOException {
        int b;
        do {
            b = System.in.read();
        } while (b != -1 && b != '\n');
    }

    private static Path randomModel(Path dir) throws Exception {
        ModelConfig cfg = ScenesModel.defaultConfig();
        cfg.modelName = "glimpse-scenes-untrained";
        return ScenesModel.writeRandom(dir, cfg, 1);
    }

    private void banner(GlimpseConfig c, LocalCluster local, boolean untrained) {
        StartupBanner.print(System.out, "Glimpse demo: a Kafka broker (KRaft) in process, a local Flink cluster", c, local == null ? null : local.endpoints());
        if (untrained) {
            System.out.println("  WARNING: the built-in model is not present; using RANDOM, UNTRAINED weights: captions will be noise.");
        }
        System.out.println("  images:       " + images + " sample scenes (seed " + seed + "), half raw bytes, half JSON envelopes");
        System.out.println();
    }

    private Map<String, String> produce(String bootstrap, GlimpseConfig c, String topic) {
        Map<String, String> truth = new LinkedHashMap<>();
        SceneGenerator scenes = new SceneGenerator(seed);
        try (KafkaProducer<byte[], byte[]> producer = KafkaClients.imageProducer(bootstrap, c.kafkaProperties())) {
            for (int i = 0; i < images; i++) {
                SceneSample s = scenes.sample(i);
                String id = String.format("scene-%03d", i);
                truth.put(id, s.caption());
                byte[] value = i % 2 == 0 ? s.encoded()
                        : ("{\"id\":\"" + id + "\",\"image_base64\":\"" + Base64.getEncoder().encodeToString(s.encoded())
                                + "\"}").getBytes(StandardCharsets.UTF_8);
                producer.send(new ProducerRecord<>(topic, id.getBytes(StandardCharsets.UTF_8), value));
            }
            producer.flush();
        }
        return truth;
    }

    private int consume(String bootstrap, GlimpseConfig c, Map<String, String> truth, boolean untrained) {
        ObjectMapper json = new ObjectMapper();
        Map<String, String> outcome = new HashMap<>();
        List<Long> latencies = new ArrayList<>();
        int right = 0;
        long deadline = System.currentTimeMillis() + timeout.toMillis();
        System.out.printf("%-10s %-9s %s%n", "id", "latency", "caption");
        try (KafkaConsumer<String, String> consumer = KafkaClients.committedReader(bootstrap, c.kafkaProperties(), "glimpse-demo-reader", true);
             Progress progress = new Progress("demo", Progress.Mode.detect(false), System.err, Duration.ofSeconds(5))) {
            consumer.subscribe(List.of(c.get(GlimpseOptions.CAPTIONS_TOPIC), c.get(GlimpseOptions.DEAD_LETTER_TOPIC)));
            while (outcome.size() < truth.size()) {
                if (System.currentTimeMillis() > deadline) {
                    progress.println(System.out, "timed out after " + timeout + " with " + outcome.size() + " of " + truth.size() + " outcomes");
                    return 1;
                }
                for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(200))) {
                    JsonNode n = json.readTree(r.value());
                    String id = n.path("id").asText();
                    long latency = System.currentTimeMillis() - n.path("source").path("timestamp").asLong();
                    if (outcome.put(id, r.value()) != null) {
                        progress.println(System.out, "DUPLICATE outcome for " + id);
                        return 1;
                    }
                    if (r.topic().equals(c.get(GlimpseOptions.CAPTIONS_TOPIC))) {
                        String caption = n.path("caption").asText();
                        boolean ok = caption.equals(truth.get(id));
                        right += ok ? 1 : 0;
                        latencies.add(latency);
                        progress.println(System.out, String.format("%-10s %6d ms %s %s", id, latency, ok ? "✓" : "✗", caption));
                        if (!ok) {
                            progress.println(System.out, String.format("%-10s %9s   expected: %s", "", "", truth.get(id)));
                        }
                    } else {
                        progress.println(System.out, String.format("%-10s %6d ms DEAD LETTER %s: %s", id, latency,
                                n.path("error").path("code").asText(), n.path("error").path("message").asText()));
                    }
                }
                progress.update(outcome.size(), truth.size(), (outcome.size() - latencies.size()) + " dead letters");
            }
        } catch (java.io.IOException e) {
            throw new IllegalStateException("unreadable output record: " + e.getMessage(), e);
        }
        latencies.sort(Long::compare);
        System.out.println();
        System.out.printf("%d images: %d captioned, %d dead letters; %d/%d captions exactly right (%.0f %%)%s%n",
                truth.size(), latencies.size(), truth.size() - latencies.size(), right, truth.size(),
                100.0 * right / truth.size(), untrained ? " — untrained model" : "");
        if (!latencies.isEmpty()) {
            System.out.printf("latency from produce to committed caption: p50 %d ms, max %d ms%n",
                    latencies.get(latencies.size() / 2), latencies.get(latencies.size() - 1));
        }
        return 0;
    }
}
