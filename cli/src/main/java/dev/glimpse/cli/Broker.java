package dev.glimpse.cli;

import dev.glimpse.kafka.EmbeddedKafka;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code glimpse broker}: a local single-node Kafka (KRaft) to try {@code run} against; runs until Ctrl-C. */
@Command(name = "broker", mixinStandardHelpOptions = true,
        description = "Start a local Kafka broker (KRaft, one node) with the job's topics; runs until stopped.")
final class Broker implements Callable<Integer> {
    @Option(names = "--port", defaultValue = "9092") int port;
    @Option(names = "--data", defaultValue = "work/kafka", description = "Data directory (kept across restarts).") Path data;
    @Option(names = "--topics", defaultValue = "images,captions,captions-dlq", split = ",") List<String> topics;
    @Option(names = "--partitions", defaultValue = "2") int partitions;

    @Override
    public Integer call() throws InterruptedException {
        EmbeddedKafka kafka = EmbeddedKafka.start(data.toAbsolutePath(), port);
        for (String t : topics) {
            kafka.createTopic(t, partitions);
        }
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            kafka.close();
            stopped.countDown();
        }));
        System.out.println("Kafka broker on " + kafka.bootstrapServers() + ", data in " + data + ", topics " + topics
                + " (Ctrl-C stops it)");
        stopped.await();
        return 0;
    }
}
