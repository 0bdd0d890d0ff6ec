package dev.glimpse.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.glimpse.cli.JobOptions;
import dev.glimpse.cli.Progress;
import dev.glimpse.cli.Subcommand;
import dev.glimpse.connectors.KafkaClients;
import dev.glimpse.job.GlimpseConfig;
import dev.glimpse.job.GlimpseJob;
import dev.glimpse.job.GlimpseOptions;
import dev.glimpse.kafka.EmbeddedKafka;
import dev.glimpse.model.scenes.SceneGenerator;
import dev.glimpse.model.scenes.SceneSample;
import dev.glimpse.operators.SharedModels;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.BitSet;
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
 * {@code glimpse soak}: pushes many images through the local pipeline (embedded Kafka, local Flink,
 * the model) and prints the process's resident memory, heap and live NDArrays as it goes, so a leak
 * of native memory shows as a rising column. It also checks every outcome: one per image, none twice,
 * and each caption against its scene's true caption.
 */
@Command(name = "soak", mixinStandardHelpOptions = true,
        description = "Caption many images through the local pipeline and print memory over time.")
public final class Soak implements Callable<Integer>, Subcommand {
    private static final String ID_PREFIX = "soak-";

    @Option(names = "--images", defaultValue = "20000") int images;
    @Option(names = "--distinct", defaultValue = "200", description = "Distinct scenes, cycled (saves encoding time).") int distinct;
    @Option(names = "--report-every", defaultValue = "2000") int reportEvery;
    @Option(names = "--timeout", defaultValue = "PT2H") Duration timeout;
    @Mixin JobOptions job;

    @Override
    public Integer call() throws Exception {
        if (images < 1 || distinct < 1) {
            throw new IllegalArgumentException("--images and --distinct must be at least 1");
        }
        SceneGenerator scenes = new SceneGenerator(77);
        byte[][] encoded = new byte[distinct][];
        String[] truths = new String[distinct];
        for (int i = 0; i < distinct; i++) {
            SceneSample sample = scenes.sample(i);
            encoded[i] = sample.encoded();
            truths[i] = sample.caption();
        }
        Path work = Files.createTempDirectory("glimpse-soak");
        try (EmbeddedKafka kafka = EmbeddedKafka.start(work.resolve("kafka"))) {
            Map<String, String> flags = new LinkedHashMap<>(job.set);
            flags.put(GlimpseOptions.BOOTSTRAP_SERVERS.key(), kafka.bootstrapServers());
            flags.put(GlimpseOptions.CHECKPOINT_DIR.key(), work.resolve("checkpoints").toString());
            flags.put(GlimpseOptions.TRANSACTIONAL_ID_PREFIX.key(), "glimpse-soak-" + UUID.randomUUID());
            flags.putIfAbsent(GlimpseOptions.CHECKPOINT_INTERVAL.key(), "2s");
            job.set.clear();
            GlimpseConfig c = job.load(flags);
            kafka.createTopic(c.get(GlimpseOptions.IMAGES_TOPIC), 2);
            kafka.createTopic(c.get(GlimpseOptions.CAPTIONS_TOPIC), 1);
            kafka.createTopic(c.get(GlimpseOptions.DEAD_LETTER_TOPIC), 1);
            StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(GlimpseJob.localCluster(c));
            GlimpseJob.addTo(env, c);
            JobClient client = env.executeAsync("glimpse-soak");
            Thread producer = new Thread(() -> produce(kafka.bootstrapServers(), c, encoded),
                    "soak-producer");
            producer.setDaemon(true);
            producer.start();
            try {
                return watch(kafka.bootstrapServers(), c, truths);
            } finally {
                client.cancel().get();
            }
        }
    }

    private void produce(String bootstrap, GlimpseConfig c, byte[][] encoded) {
        String topic = c.get(GlimpseOptions.IMAGES_TOPIC);
        try (KafkaProducer<byte[], byte[]> kp = KafkaClients.imageProducer(bootstrap, c.kafkaProperties())) {
            for (int i = 0; i < images; i++) {
                kp.send(new ProducerRecord<>(topic, (ID_PREFIX + i).getBytes(StandardCharsets.UTF_8), encoded[i % distinct]));
            }
        }
    }

    private int watch(String bootstrap, GlimpseConfig c, String[] truths) {
        ObjectMapper json = new ObjectMapper();
        BitSet seen = new BitSet(images);
        int duplicates = 0;
        int foreign = 0;
        int captions = 0;
        int right = 0;
        long start = System.currentTimeMillis();
        long deadline = start + timeout.toMillis();
        int outcomes = 0;
        int nextReport = reportEvery;
        long firstRss = -1;
        long lastRss = 0;
        System.out.printf("%8s %9s %10s %9s %9s %12s%n", "images", "seconds", "images/s", "RSS MB", "heap MB", "live arrays");
        try (KafkaConsumer<String, String> consumer = KafkaClients.committedReader(bootstrap, c.kafkaProperties(), "glimpse-soak-reader", true);
             Progress progress = new Progress("soak", Progress.Mode.detect(false), System.err, Duration.ofSeconds(10))) {
            consumer.subscribe(List.of(c.get(GlimpseOptions.CAPTIONS_TOPIC), c.get(GlimpseOptions.DEAD_LETTER_TOPIC)));
            while (outcomes < images && System.currentTimeMillis() < deadline) {
                for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(500))) {
                    outcomes++;
                    JsonNode n = json.readTree(r.value());
                    int i = imageIndex(n.path("id").asText());
                    if (i < 0) {
                        foreign++;
                        continue;
                    }
                    if (seen.get(i)) {
                        duplicates++;
                    }
                    seen.set(i);
                    if (r.topic().equals(c.get(GlimpseOptions.CAPTIONS_TOPIC))) {
                        captions++;
                        right += n.path("caption").asText().equals(truths[i % truths.length]) ? 1 : 0;
                    }
                }
                progress.update(outcomes, images, (outcomes - captions - foreign) + " dead letters");
                if (outcomes >= nextReport || outcomes >= images) {
                    System.gc();
                    double seconds = (System.currentTimeMillis() - start) / 1000.0;
                    lastRss = ProcessMemory.rssMb();
                    if (firstRss < 0) {
                        firstRss = lastRss;
                    }
                    progress.println(System.out, String.format("%8d %9.0f %10.1f %9d %9d %12d", outcomes, seconds,
                            outcomes / seconds, lastRss, ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed() >> 20,
                            SharedModels.liveArrays()));
                    nextReport += reportEvery;
                }
            }
        } catch (java.io.IOException e) {
            throw new IllegalStateException("unreadable output record: " + e.getMessage(), e);
        }
        System.out.printf("%d of %d images had an outcome; RSS %d MB after the first %d, %d MB at the end (%+.1f %%)%n",
                seen.cardinality(), images, firstRss, reportEvery, lastRss, 100.0 * (lastRss - firstRss) / Math.max(1, firstRss));
        System.out.printf("%d captions, %d dead letters, %d duplicates, %d unknown ids; %d/%d captions exactly right (%.2f %%)%n",
                captions, outcomes - captions - foreign, duplicates, foreign, right, captions, 100.0 * right / Math.max(1, captions));
        return seen.cardinality() == images && duplicates == 0 && foreign == 0 ? 0 : 1;
    }

    /** The image number of an outcome's id, or -1 for an id this soak did not send. */
    private int imageIndex(String id) {
        if (!id.startsWith(ID_PREFIX)) {
            return -1;
        }
        try {
            int i = Integer.parseInt(id.substring(ID_PREFIX.length()));
            return i >= 0 && i < images ? i : -1;
        } catch (NumberFormatException e) {
            return -1;
        }
    }
}
