package dev.glimpse.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.glimpse.kafka.EmbeddedKafka;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * Issue 26, point 3, as a user meets it: {@code bin/glimpse run} and {@code reprocess} against a broker
 * that lacks a topic end at once with exit code 2 and a message naming the topic, the broker and the
 * fix, where {@code run} used to fail over again and again until something created the topic.
 */
class MissingTopicITCase {
    record Outcome(int exitCode, String err, double seconds) {}

    private static Outcome glimpse(List<String> args) throws Exception {
        StringWriter err = new StringWriter();
        CommandLine cli = Cli.commandLine();
        cli.setErr(new PrintWriter(err, true));
        long started = System.nanoTime();
        // A run that is not refused runs until stopped: the future's timeout is the test's failure.
        int rc = CompletableFuture.supplyAsync(() -> cli.execute(args.toArray(String[]::new))).get(2, TimeUnit.MINUTES);
        return new Outcome(rc, err.toString(), (System.nanoTime() - started) / 1e9);
    }

    @Test
    void shouldEndRunAndReprocessAtOnceNamingTheMissingTopicTheBrokerAndTheFix(@TempDir Path work) throws Exception {
        try (EmbeddedKafka kafka = EmbeddedKafka.start(work.resolve("kafka"))) {
            String bootstrap = kafka.bootstrapServers();
            kafka.createTopic("mt-captions", 1);
            kafka.createTopic("mt-dlq", 1);
            Outcome run = glimpse(new ArrayList<>(List.of("run", "--model", ReprocessRuns.MODEL.toString(),
                    "--bootstrap", bootstrap, "--images-topic", "mt-images", "--captions-topic", "mt-captions",
                    "--dead-letter-topic", "mt-dlq", "--checkpoint-dir", work.resolve("checkpoints").toString(),
                    "--rest-port", "0")));
            assertThat(run.exitCode()).as(run.err()).isEqualTo(2);
            assertThat(run.err()).contains("glimpse: Kafka topic 'mt-images' does not exist on the Kafka cluster at " + bootstrap)
                    .contains("--create --topic mt-images").contains("--set kafka.create-topics=true");
            assertThat(run.seconds()).as("seconds to the refusal").isLessThan(30);

            Outcome reprocess = glimpse(List.of("reprocess", "--model", ReprocessRuns.MODEL.toString(), "--quiet",
                    "--from", "kafka:mt-archive@" + bootstrap, "--to", "kafka:mt-out@" + bootstrap,
                    "--set", "kafka.create-topics=true"));
            assertThat(reprocess.exitCode()).as(reprocess.err()).isEqualTo(2);
            assertThat(reprocess.err()).contains("Kafka topic 'mt-archive' to read does not exist on the Kafka cluster at "
                    + bootstrap);
            assertThat(reprocess.seconds()).as("seconds to the refusal").isLessThan(30);
        }
    }
}
