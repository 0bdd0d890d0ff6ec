package dev.glimpse.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.glimpse.job.KafkaPipelineHarness;
import dev.glimpse.kafka.EmbeddedKafka;
import dev.glimpse.model.scenes.SceneGenerator;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The streaming SQL pipeline of {@link SqlScriptITCase} (Kafka through ML_PREDICT into Kafka, exactly
 * once) as its own JVM, killed with SIGKILL once some captions are committed, then the same script
 * restarted from its latest checkpoint ({@code --resume}) in a JVM of its own: every image ends with
 * exactly one committed row. The source is unbounded: a bounded Kafka source restored from a checkpoint
 * never ends (FLINK-31006, open in flink-connector-kafka 5.0.0).
 */
class SqlKillAndRestartITCase {
    static final int IMAGES = 400;
    static final int KILL_AFTER_ROWS = 40;

    @Test
    void shouldCommitExactlyOneRowPerImageAfterKillMinus9AndARestartFromTheCheckpoint(@TempDir Path work) throws Exception {
        try (EmbeddedKafka kafka = EmbeddedKafka.start(work.resolve("kafka"))) {
            String bootstrap = kafka.bootstrapServers();
            kafka.createTopic("photos", 2);
            kafka.createTopic("photo-captions", 1);
            SceneGenerator scenes = new SceneGenerator(1618);
            try (KafkaProducer<byte[], byte[]> p = KafkaPipelineHarness.producer(bootstrap)) {
                for (int i = 0; i < IMAGES - 1; i++) {
                    KafkaPipelineHarness.send(p, "photos", "photo-" + i, scenes.sample(i).encoded());
                }
                KafkaPipelineHarness.send(p, "photos", "broken", "not an image".getBytes(StandardCharsets.UTF_8));
            }
            Path script = work.resolve("captions.sql");
            Files.writeString(script, SqlScriptITCase.script(bootstrap, false));
            List<String> args = List.of("sql", "-f", script.toString(), "--set", "checkpoint.dir=" + work.resolve("checkpoints"),
                    "--set", "checkpoint.interval=1s");

            Process child = startChild(work, "first", args);
            int before;
            try {
                before = KafkaPipelineHarness.readCommitted(bootstrap, List.of("photo-captions"), KILL_AFTER_ROWS,
                        Duration.ofMinutes(5)).size();
                assertThat(child.isAlive()).as("the child ended before the kill; see %s", work.resolve("first.log")).isTrue();
            } finally {
                child.destroyForcibly();
                child.waitFor(1, TimeUnit.MINUTES);
            }
            System.out.printf("killed after %d committed rows%n", before);
            assertThat(before).isBetween(KILL_AFTER_ROWS, IMAGES - 1);

            List<String> resume = new ArrayList<>(args);
            resume.add("--resume");
            Process restarted = startChild(work, "restarted", resume);
            Map<String, Integer> perId = new HashMap<>();
            try {
                for (KafkaPipelineHarness.Output o : KafkaPipelineHarness.readCommitted(bootstrap, List.of("photo-captions"),
                        IMAGES, Duration.ofMinutes(5))) {
                    perId.merge(o.key(), 1, Integer::sum);
                }
                assertThat(Files.readString(work.resolve("restarted.log"))).contains("restoring from ");
            } finally {
                restarted.destroyForcibly();
                restarted.waitFor(1, TimeUnit.MINUTES);
            }
            assertThat(perId).as("one committed row per image").hasSize(IMAGES)
                    .allSatisfy((id, n) -> assertThat(n).as(id).isEqualTo(1));
        }
    }

    private static Process startChild(Path work, String name, List<String> args) throws Exception {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        // The JVM flags of this test JVM: Flink's --add-opens, the memory cap, DJL's settings.
        cmd.addAll(ManagementFactory.getRuntimeMXBean().getInputArguments().stream()
                .filter(a -> a.startsWith("--add-") || a.startsWith("-Xmx") || a.startsWith("-Dai.djl")).toList());
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), Cli.class.getName()));
        cmd.addAll(args);
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(work.resolve(name + ".log").toFile());
        pb.environment().put("DJL_OFFLINE", "true");
        return pb.start();
    }
}
