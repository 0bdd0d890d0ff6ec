package dev.glimpse.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.glimpse.job.KafkaPipelineHarness;
import dev.glimpse.kafka.EmbeddedKafka;
import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 26, point 7: two {@code reprocess} runs at once into one Kafka topic, with the same
 * configuration (so the same {@code kafka.transactional-id-prefix}). Each writes with transactional
 * ids of its own run: both finish without a single failover, and every image of both has exactly one
 * outcome. With ids fixed per topic the second run's start fenced the first one's producer, and their
 * restarts fenced each other again.
 */
class ReprocessTwoRunsOneTopicITCase {
    static final int IMAGES_PER_RUN = 80;

    @Test
    void shouldLetTwoRunsIntoOneTopicBothFinishWithoutFailoverAndEveryImageExactlyOnce(@TempDir Path work) throws Exception {
        try (EmbeddedKafka kafka = EmbeddedKafka.start(work.resolve("kafka"))) {
            String bootstrap = kafka.bootstrapServers();
            Map<String, String> truth = new HashMap<>(ReprocessRuns.scenes(work.resolve("a"), 301, 0, IMAGES_PER_RUN));
            truth.putAll(ReprocessRuns.scenes(work.resolve("b"), 302, IMAGES_PER_RUN, 2 * IMAGES_PER_RUN));
            assertThat(truth).hasSize(2 * IMAGES_PER_RUN);

            PrintStream stdout = System.out;
            ByteArrayOutputStream printedByA = new ByteArrayOutputStream();
            ByteArrayOutputStream printedByB = new ByteArrayOutputStream();
            Map<Thread, ByteArrayOutputStream> printed = new ConcurrentHashMap<>();
            // Both commands print their summaries on System.out at once: each thread's lines to its own buffer.
            System.setOut(new PrintStream(new OutputStream() {
                @Override
                public void write(int b) {
                    ByteArrayOutputStream own = printed.get(Thread.currentThread());
                    if (own != null) {
                        own.write(b);
                    } else {
                        stdout.write(b);
                    }
                }
            }, true, StandardCharsets.UTF_8));
            List<Integer> exitCodes;
            try {
                CompletableFuture<Integer> a = CompletableFuture.supplyAsync(() -> run(work.resolve("a"), bootstrap, printed, printedByA));
                CompletableFuture<Integer> b = CompletableFuture.supplyAsync(() -> run(work.resolve("b"), bootstrap, printed, printedByB));
                exitCodes = List.of(a.get(), b.get());
            } finally {
                System.setOut(stdout);
            }
            for (ByteArrayOutputStream summary : List.of(printedByA, printedByB)) {
                String text = summary.toString(StandardCharsets.UTF_8);
                stdout.print(text);
                assertThat(text).contains("images        " + IMAGES_PER_RUN).doesNotContain("restarts");
            }
            assertThat(exitCodes).containsExactly(0, 0);

            List<KafkaPipelineHarness.Output> out = KafkaPipelineHarness.readCommitted(bootstrap,
                    List.of("shared", "shared-dlq"), 2 * IMAGES_PER_RUN, Duration.ofMinutes(1));
            Map<String, Long> perId = new HashMap<>();
            out.forEach(o -> perId.merge(o.json().path("id").asText(), 1L, Long::sum));
            Set<String> expected = new TreeSet<>(truth.keySet());
            assertThat(new TreeSet<>(perId.keySet())).as("every image of both runs").isEqualTo(expected);
            assertThat(perId).allSatisfy((id, n) -> assertThat(n).as(id).isEqualTo(1));
        }
    }

    private static int run(Path folder, String bootstrap, Map<Thread, ByteArrayOutputStream> printed,
                           ByteArrayOutputStream own) {
        printed.put(Thread.currentThread(), own);
        try {
            return Cli.commandLine().execute("reprocess", "--model", ReprocessRuns.MODEL.toString(), "--quiet",
                    "--from", folder.toString(), "--to", "kafka:shared@" + bootstrap, "--timeout", "PT4M",
                    "--set", "kafka.create-topics=true", "--set", "kafka.topic-partitions=1",
                    "--set", "parallelism.decode=1", "--set", "parallelism.inference=1", "--set", "checkpoint.interval=1s");
        } finally {
            printed.remove(Thread.currentThread());
        }
    }
}
