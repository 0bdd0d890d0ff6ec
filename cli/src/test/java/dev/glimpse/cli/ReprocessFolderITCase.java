package dev.glimpse.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.glimpse.connectors.reprocess.JsonLinesFileSink;
import dev.glimpse.model.scenes.SceneGenerator;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code glimpse reprocess} from a folder tree into {@code jsonl:FILE}: a real local Flink cluster
 * (the command's own), the built-in model, parallelism 2 at both stages.
 */
class ReprocessFolderITCase {
    @Test
    void shouldCaptionEveryImageOfAFolderTreeExactlyOnceAtTheModelsAccuracy(@TempDir Path work) throws Exception {
        Map<String, String> truth = new HashMap<>();
        ReprocessRuns.scenes(work.resolve("in/a"), 101, 0, 250).forEach((f, c) -> truth.put("a/" + f, c));
        ReprocessRuns.scenes(work.resolve("in/b/c"), 102, 0, 250).forEach((f, c) -> truth.put("b/c/" + f, c));
        Path out = work.resolve("out/captions.jsonl");

        ReprocessRuns.Result r = ReprocessRuns.reprocess("--from", work.resolve("in").toString(), "--to", "jsonl:" + out);

        assertThat(r.exitCode()).as(r.stdout()).isZero();
        List<JsonNode> captions = ReprocessRuns.lines(out);
        Map<String, Long> perId = captions.stream().collect(Collectors.groupingBy(n -> n.path("id").asText(), Collectors.counting()));
        assertThat(perId).as("one caption per image").hasSize(500).allSatisfy((id, n) -> assertThat(n).isEqualTo(1));
        assertThat(perId.keySet()).isEqualTo(truth.keySet());
        assertThat(ReprocessRuns.deadLetters(out)).isEmpty();
        long right = captions.stream().filter(n -> n.path("caption").asText().equals(truth.get(n.path("id").asText()))).count();
        System.out.printf("reprocess of 500 scenes: %d/500 captions exactly right%n", right);
        // The model's exact match is 99.4-99.7 % on fresh scenes (models/glimpse-scenes/README.md).
        assertThat(right).as("exact matches of 500 scenes").isGreaterThanOrEqualTo(490);
        JsonNode first = captions.get(0);
        assertThat(first.path("source").path("uri").asText()).startsWith("file:/").endsWith(first.path("id").asText());
        assertThat(first.path("model").asText()).isEqualTo("glimpse-scenes");
        assertThat(r.stdout()).contains("images        500").contains("captions      500").contains("dead letters  0");
    }

    @Test
    void shouldEndAsSoonAsEveryImageHasItsOutcomeRatherThanAtTheNextPeriodicCheckpoint(@TempDir Path work) throws Exception {
        Path in = work.resolve("in");
        Map<String, String> truth = ReprocessRuns.scenes(in, 107, 0, 12);
        Path out = work.resolve("captions.jsonl");

        // A bounded job commits its last captions with a checkpoint taken after its tasks finished. With
        // an hour between periodic ones the run must still end, every caption committed, long before
        // --timeout (exit 3); the command asks for that checkpoint as soon as every image has its outcome.
        ReprocessRuns.Result r = ReprocessRuns.reprocess("--from", in.toString(), "--to", "jsonl:" + out,
                "--set", "checkpoint.interval=1h", "--timeout", "PT4M");

        assertThat(r.exitCode()).as(r.stdout()).isZero();
        assertThat(r.stdout()).contains("captions      12").containsPattern("first outcome \\d+\\.\\d s  \\(\\d+ by then\\)");
        assertThat(ReprocessRuns.lines(out)).as("committed captions").hasSize(12);
        assertThat(ReprocessRuns.lines(out)).extracting(n -> n.path("id").asText())
                .containsExactlyInAnyOrderElementsOf(truth.keySet());
    }

    @Test
    void shouldWriteCorruptAndEmptyFilesAsDeadLettersWithTheirCodes(@TempDir Path work) throws Exception {
        Path in = work.resolve("in");
        Map<String, String> truth = ReprocessRuns.scenes(in, 103, 0, 20);
        byte[] jpeg = new SceneGenerator(104).sample(1).encoded();
        Files.write(in.resolve("empty.jpg"), new byte[0]);
        Files.write(in.resolve("truncated.jpg"), Arrays.copyOf(jpeg, jpeg.length / 2));
        byte[] noise = new byte[500];
        new Random(7).nextBytes(noise);
        Files.createDirectories(in.resolve("sub"));
        Files.write(in.resolve("sub/noise.png"), noise);
        Files.writeString(in.resolve("notes.txt"), "not an image name: not read");
        Files.write(in.resolve(".hidden.jpg"), jpeg);
        Path out = work.resolve("captions.jsonl");

        ReprocessRuns.Result r = ReprocessRuns.reprocess("--from", in.toUri().toString(), "--to", "jsonl:" + out);

        assertThat(r.exitCode()).as(r.stdout()).isZero();
        Map<String, String> codes = new LinkedHashMap<>();
        for (JsonNode d : ReprocessRuns.deadLetters(out)) {
            assertThat(codes.put(d.path("id").asText(), d.path("error").path("code").asText())).isNull();
        }
        assertThat(codes).containsOnly(Map.entry("empty.jpg", "EMPTY_PAYLOAD"),
                Map.entry("truncated.jpg", "IMAGE_DECODE_FAILED"), Map.entry("sub/noise.png", "UNSUPPORTED_FORMAT"));
        assertThat(ReprocessRuns.lines(out)).extracting(n -> n.path("id").asText())
                .containsExactlyInAnyOrderElementsOf(truth.keySet());
        assertThat(r.stdout()).contains("images        23").contains("captions      20")
                .contains("dead letters  3  (EMPTY_PAYLOAD 1, IMAGE_DECODE_FAILED 1, UNSUPPORTED_FORMAT 1)");
    }

    @Test
    void shouldAddNothingOnARerunWithSkipExistingAndExactlyTheNewImagesAfterMoreArrive(@TempDir Path work) throws Exception {
        Path in = work.resolve("in");
        Map<String, String> truth = new LinkedHashMap<>(ReprocessRuns.scenes(in, 105, 0, 30));
        Files.write(in.resolve("broken.jpg"), new byte[] {(byte) 0xFF, (byte) 0xD8, (byte) 0xFF, 1, 2, 3});
        Path out = work.resolve("captions.jsonl");
        String[] args = {"--from", in.toString(), "--to", "jsonl:" + out, "--skip-existing"};

        assertThat(ReprocessRuns.reprocess(args).exitCode()).isZero();
        byte[] captionsAfterFirst = Files.readAllBytes(out);
        byte[] deadAfterFirst = Files.readAllBytes(dev.glimpse.connectors.reprocess.JsonLinesFileSink.deadLettersFile(out));
        assertThat(ReprocessRuns.lines(out)).hasSize(30);
        assertThat(ReprocessRuns.deadLetters(out)).hasSize(1);

        ReprocessRuns.Result again = ReprocessRuns.reprocess(args);
        assertThat(again.exitCode()).as(again.stdout()).isZero();
        assertThat(again.stdout()).contains("images        0").contains("skipped       31");
        assertThat(Files.readAllBytes(out)).as("a rerun adds nothing").isEqualTo(captionsAfterFirst);
        assertThat(Files.readAllBytes(dev.glimpse.connectors.reprocess.JsonLinesFileSink.deadLettersFile(out))).isEqualTo(deadAfterFirst);

        truth.putAll(ReprocessRuns.scenes(in.resolve("later"), 106, 0, 12).entrySet().stream()
                .collect(Collectors.toMap(e -> "later/" + e.getKey(), Map.Entry::getValue)));
        Files.write(in.resolve("later/empty.png"), new byte[0]);
        ReprocessRuns.Result more = ReprocessRuns.reprocess(args);
        assertThat(more.exitCode()).as(more.stdout()).isZero();
        assertThat(more.stdout()).contains("images        13").contains("skipped       31");
        assertThat(ReprocessRuns.lines(out)).extracting(n -> n.path("id").asText())
                .as("each image exactly once").containsExactlyInAnyOrderElementsOf(truth.keySet());
        assertThat(ReprocessRuns.deadLetters(out)).extracting(n -> n.path("id").asText())
                .containsExactlyInAnyOrder("broken.jpg", "later/empty.png");
    }
}
