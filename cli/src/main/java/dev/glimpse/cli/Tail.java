package dev.glimpse.cli;

import dev.glimpse.connectors.KafkaClients;
import dev.glimpse.job.GlimpseConfig;
import dev.glimpse.job.GlimpseOptions;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.Callable;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code glimpse tail}: prints committed captions and dead letters as JSON lines (read_committed). */
@Command(name = "tail", mixinStandardHelpOptions = true,
        description = "Print committed records of the output topics as JSON lines (isolation.level=read_committed).")
final class Tail implements Callable<Integer> {
    @Option(names = "--bootstrap", description = "Kafka bootstrap servers (default: kafka.bootstrap-servers of the configuration).")
    String bootstrap;
    @Option(names = "--topics", defaultValue = "captions,captions-dlq", split = ",") List<String> topics;
    @Option(names = "--from-beginning") boolean fromBeginning;
    @Option(names = "--idle-exit", description = "Exit after this long without a record (ISO-8601), e.g. PT10S.") Duration idleExit;
    @Mixin KafkaOptions kafka;

    @Override
    public Integer call() {
        long last = System.currentTimeMillis();
        GlimpseConfig conf = kafka.load();
        String servers = bootstrap != null ? bootstrap : conf.get(GlimpseOptions.BOOTSTRAP_SERVERS);
        try (KafkaConsumer<String, String> c = KafkaClients.committedReader(servers, conf.kafkaProperties(),
                "glimpse-tail-" + UUID.randomUUID(), fromBeginning)) {
            c.subscribe(topics);
            while (idleExit == null || System.currentTimeMillis() - last < idleExit.toMillis()) {
                for (ConsumerRecord<String, String> r : c.poll(Duration.ofMillis(500))) {
                    System.out.println(r.value());
                    last = System.currentTimeMillis();
                }
            }
        }
        return 0;
    }
}
