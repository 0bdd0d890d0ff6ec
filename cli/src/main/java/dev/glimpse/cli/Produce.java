package dev.glimpse.cli;

import dev.glimpse.connectors.KafkaClients;
import dev.glimpse.job.GlimpseConfig;
import dev.glimpse.job.GlimpseOptions;
import dev.glimpse.model.scenes.SceneGenerator;
import dev.glimpse.model.scenes.SceneSample;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Callable;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code glimpse produce}: sends sample scenes to the images topic (raw bytes, key = id). */
@Command(name = "produce", mixinStandardHelpOptions = true, description = "Send sample scenes to the images topic.")
final class Produce implements Callable<Integer> {
    @Option(names = "--bootstrap", description = "Kafka bootstrap servers (default: kafka.bootstrap-servers of the configuration).")
    String bootstrap;
    @Option(names = "--topic", defaultValue = "images") String topic;
    @Option(names = "--count", defaultValue = "20") int count;
    @Option(names = "--first", defaultValue = "0", description = "Index of the first scene (ids scene-<index>).") int first;
    @Option(names = "--seed", defaultValue = "2024") long seed;
    @Mixin KafkaOptions kafka;

    @Override
    public Integer call() {
        SceneGenerator scenes = new SceneGenerator(seed);
        GlimpseConfig c = kafka.load();
        String servers = bootstrap != null ? bootstrap : c.get(GlimpseOptions.BOOTSTRAP_SERVERS);
        try (KafkaProducer<byte[], byte[]> producer = KafkaClients.imageProducer(servers, c.kafkaProperties())) {
            for (int i = first; i < first + count; i++) {
                SceneSample s = scenes.sample(i);
                producer.send(new ProducerRecord<>(topic, ("scene-" + i).getBytes(StandardCharsets.UTF_8), s.encoded()));
            }
        }
        System.out.println("sent " + count + " scenes (scene-" + first + " .. scene-" + (first + count - 1) + ") to " + topic);
        return 0;
    }
}
