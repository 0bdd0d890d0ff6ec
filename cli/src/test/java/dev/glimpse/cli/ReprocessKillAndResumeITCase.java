package dev.glimpse.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.glimpse.connectors.reprocess.JsonLinesFileSink;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Point 3 of reprocessing: {@code glimpse reprocess} as its own JVM, killed with SIGKILL once some
 * captions are committed, then the same command with {@code --skip-existing}: every image ends with
 * exactly one line, no caption written before the kill is lost, and no partial line remains.
 */
class ReprocessKillAndResumeITCase {
    static final int IMAGES = 300;
    static final int KILL_AFTER_LINES = 40;

    @Test
    void shouldFinishWithExactlyOneLinePerImageAfterKillMinus9AndARerunWithSkipExisting(@TempDir Path work) throws Exception {
        Path in = work.resolve("in");
        Map<String, String> truth = ReprocessRuns.scenes(in, 107, 0, IMAGES - 1);
        Files.write(in.resolve("zero.jpg"), new byte[0]);
        Path out = work.resolve("out/captions.jsonl");
        Path deadOut = JsonLinesFileSink.deadLettersFile(out);
        String[] args = {"--from", in.toString(), "--to", "jsonl:" + out, "--skip-existing"};

        Process child = startChild(work, args);
        long deadline = System.currentTimeMillis() + TimeUnit.MINUTES.toMillis(5);
        try {
            while (completeLines(out) < KILL_AFTER_LINES) {
                assertThat(child.isAlive()).as("the child ended before the kill; see %s", work.resolve("child.log")).isTrue();
                assertThat(System.currentTimeMillis()).as("lines in time").isLessThan(deadline);
                Thread.sleep(100);
            }
        } finally {
            child.destroyForcibly();
            child.waitFor(1, TimeUnit.MINUTES);
        }
        byte[] beforeResume = Files.readAllBytes(out);
        int cut = lastNewline(beforeResume);
        byte[] completeBefore = Arrays.copyOf(beforeResume, cut);
        int linesBefore = completeLines(out);
        System.out.printf("killed after %d committed lines (%d partial bytes at the end)%n", linesBefore,
                beforeResume.length - cut);
        assertThat(linesBefore).isLessThan(IMAGES);

        ReprocessRuns.Result resumed = ReprocessRuns.reprocess(args);

        assertThat(resumed.exitCode()).as(resumed.stdout()).isZero();
        byte[] after = Files.readAllBytes(out);
        assertThat(Arrays.copyOf(after, completeBefore.length)).as("every line committed before the kill is kept")
                .isEqualTo(completeBefore);
        List<JsonNode> captions = ReprocessRuns.lines(out);
        List<JsonNode> dead = ReprocessRuns.lines(deadOut);
        Map<String, Long> perId = new HashMap<>();
        captions.forEach(n -> perId.merge(n.path("id").asText(), 1L, Long::sum));
        dead.forEach(n -> perId.merge(n.path("id").asText(), 1L, Long::sum));
        assertThat(perId).as("one line per image").hasSize(IMAGES).allSatisfy((id, n) -> assertThat(n).as(id).isEqualTo(1));
        assertThat(dead).extracting(n -> n.path("error").path("code").asText()).containsExactly("EMPTY_PAYLOAD");
        assertThat(captions.stream().map(n -> n.path("id").asText()).collect(Collectors.toSet())).isEqualTo(truth.keySet());
        assertThat(resumed.stdout()).contains("skipped       ");
    }

    private static Process startChild(Path work, String[] args) throws Exception {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        // The JVM flags of this test JVM: Flink's --add-opens, the memory cap, DJL's settings.
        cmd.addAll(ManagementFactory.getRuntimeMXBean().getInputArguments().stream()
                .filter(a -> a.startsWith("--add-") || a.startsWith("-Xmx") || a.startsWith("-Dai.djl")).toList());
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), Cli.class.getName(), "reprocess",
                "--model", ReprocessRuns.MODEL.toString(), "--quiet",
                "--set", "parallelism.decode=2", "--set", "parallelism.inference=1", "--set", "checkpoint.interval=1s"));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(work.resolve("child.log").toFile());
        pb.environment().put("DJL_OFFLINE", "true");
        return pb.start();
    }

    private static int completeLines(Path file) throws Exception {
        if (!Files.exists(file)) {
            return 0;
        }
        byte[] bytes = Files.readAllBytes(file);
        int n = 0;
        for (byte b : bytes) {
            n += b == '\n' ? 1 : 0;
        }
        return n;
    }

    private static int lastNewline(byte[] bytes) {
        for (int i = bytes.length - 1; i >= 0; i--) {
            if (bytes[i] == '\n') {
                return i + 1;
            }
        }
        return 0;
    }
}
