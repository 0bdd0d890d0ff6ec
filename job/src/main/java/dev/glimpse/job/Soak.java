package dev.glimpse.job;

import dev.glimpse.job.kafka.EmbeddedKafka;
import dev.glimpse.model.scenes.SceneGenerator;
import dev.glimpse.operators.SharedModels;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.Callable;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code glimpse soak}: pushes many images through the local pipeline (embedded Kafka, local Flink,
 * the model) and prints the process's resident memory, heap and live NDArrays as it goes, so a leak
 * of native memory shows as a rising column.
 */
@Command(name = "soak", mixinStandardHelpOptions = true,
        description = "Caption many images through the local pipeline and print memory over time.")
final class Soak implements Callable<Integer> {
    @Option(names = "--images", defaultValue = "20000") int images;
    @Option(names = "--distinct", defaultValue = "200", description = "Distinct scenes, cycled (saves encoding time).") int distinct;
    @Option(names = "--report-every", defaultValue = "2000") int reportEvery;
    @Option(names = "--timeout", defaultValue = "PT2H") Duration timeout;
    @Mixin Cli.JobOptions job;

    @Override
    public Integer call() throws Exception {
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
            StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(GlimpseJob.checkpointing(c));
            GlimpseJob.addTo(env, c);
            JobClient client = env.executeAsync("glimpse-soak");
            Thread producer = new Thread(() -> produce(kafka.bootstrapServers(), c.get(GlimpseOptions.IMAGES_TOPIC)), "soak-producer");
            producer.setDaemon(true);
            producer.start();
            try {
                return watch(kafka.bootstrapServers(), c);
            } finally {
                client.cancel().get();
            }
        }
    }

    private void produce(String bootstrap, String topic) {
        SceneGenerator scenes = new SceneGenerator(77);
        byte[][] encoded = new byte[distinct][];
        for (int i = 0; i < distinct; i++) {
            encoded[i] = scenes.sample(i).encoded();
        }
        try (KafkaProducer<byte[], byte[]> kp = KafkaClients.imageProducer(bootstrap)) {
            for (int i = 0; i < images; i++) {
                kp.send(new ProducerRecord<>(topic, ("soak-" + i).getBytes(StandardCharsets.UTF_8), encoded[i % distinct]));
            }
        }
    }

    private int watch(String bootstrap, GlimpseConfig c) {
        long start = System.currentTimeMillis();
        long deadline = start + timeout.toMillis();
        int outcomes = 0;
        int nextReport = reportEvery;
        long firstRss = -1;
        long lastRss = 0;
        System.out.printf("%8s %9s %10s %9s %9s %12s%n", "images", "seconds", "images/s", "RSS MB", "heap MB", "live arrays");
        try (KafkaConsumer<String, String> consumer = KafkaClients.committedReader(bootstrap, "glimpse-soak-reader", true)) {
            consumer.subscribe(List.of(c.get(GlimpseOptions.CAPTIONS_TOPIC), c.get(GlimpseOptions.DEAD_LETTER_TOPIC)));
            while (outcomes < images && System.currentTimeMillis() < deadline) {
                outcomes += consumer.poll(Duration.ofMillis(500)).count();
                if (outcomes >= nextReport || outcomes >= images) {
                    System.gc();
                    double seconds = (System.currentTimeMillis() - start) / 1000.0;
                    lastRss = ProcessMemory.rssMb();
                    if (firstRss < 0) {
                        firstRss = lastRss;
                    }
                    System.out.printf("%8d %9.0f %10.1f %9d %9d %12d%n", outcomes, seconds, outcomes / seconds, lastRss,
                            ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed() >> 20, SharedModels.liveArrays());
                    nextReport += reportEvery;
                }
            }
        }
        System.out.printf("%d of %d images had an outcome; RSS %d MB after the first %d, %d MB at the end (%+.1f %%)%n",
                outcomes, images, firstRss, reportEvery, lastRss, 100.0 * (lastRss - firstRss) / Math.max(1, firstRss));
        return outcomes >= images ? 0 : 1;
    }
}
