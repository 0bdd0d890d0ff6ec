package dev.glimpse.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.glimpse.connectors.reprocess.JsonLinesFileSink;
import dev.glimpse.job.Installation;
import dev.glimpse.model.scenes.SceneGenerator;
import dev.glimpse.model.scenes.SceneSample;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Runs {@code glimpse reprocess} in this JVM and reads what it wrote, for the reprocessing ITCases. */
final class ReprocessRuns {
    static final Path MODEL = Path.of("..", Installation.BUILT_IN_MODEL).toAbsolutePath().normalize();
    private static final ObjectMapper JSON = new ObjectMapper();

    private ReprocessRuns() {}

    /** The exit code and what the command printed on standard output (the summary). */
    record Result(int exitCode, String stdout) {}

    /** The command with the test's model, parallelism 2 for both stages and short checkpoints. */
    static Result reprocess(String... args) {
        List<String> all = new ArrayList<>(List.of("reprocess", "--model", MODEL.toString(), "--quiet",
                "--set", "parallelism.decode=2", "--set", "parallelism.inference=2",
                "--set", "checkpoint.interval=1s"));
        all.addAll(List.of(args));
        PrintStream original = System.out;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        int rc;
        try (PrintStream out = new PrintStream(captured, true, StandardCharsets.UTF_8)) {
            System.setOut(out);
            rc = Cli.commandLine().execute(all.toArray(String[]::new));
        } finally {
            System.setOut(original);
        }
        String stdout = captured.toString(StandardCharsets.UTF_8);
        original.print(stdout);
        return new Result(rc, stdout);
    }

    /** Writes scenes {@code from}..{@code to}-1 of {@code seed} into {@code dir}; their true captions by file name. */
    static Map<String, String> scenes(Path dir, long seed, int from, int to) throws IOException {
        Files.createDirectories(dir);
        SceneGenerator gen = new SceneGenerator(seed);
        Map<String, String> truth = new LinkedHashMap<>();
        for (int i = from; i < to; i++) {
            SceneSample s = gen.sample(i);
            Files.write(dir.resolve(s.fileName()), s.encoded());
            truth.put(s.fileName(), s.caption());
        }
        return truth;
    }

    /** The JSON lines of {@code file}; fails on a line that does not parse (a partial line). */
    static List<JsonNode> lines(Path file) throws IOException {
        List<JsonNode> out = new ArrayList<>();
        if (!Files.exists(file)) {
            return out;
        }
        byte[] bytes = Files.readAllBytes(file);
        if (bytes.length > 0 && bytes[bytes.length - 1] != '\n') {
            throw new AssertionError(file + " ends with a partial line");
        }
        for (String line : new String(bytes, StandardCharsets.UTF_8).split("\n")) {
            if (!line.isEmpty()) {
                out.add(JSON.readTree(line));
            }
        }
        return out;
    }

    static List<JsonNode> deadLetters(Path captionsFile) throws IOException {
        return lines(JsonLinesFileSink.deadLettersFile(captionsFile));
    }
}
