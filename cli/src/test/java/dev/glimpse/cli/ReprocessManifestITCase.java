package dev.glimpse.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code glimpse reprocess --from manifest:FILE --to jsonl:DIR/}: manifest lines with relative paths,
 * absolute URIs, their own prompt and metadata, a bad line and a blank one, into Flink's part files.
 */
class ReprocessManifestITCase {

    @Test
    void shouldCaptionEveryManifestLineIntoPartFilesWithOneOutcomeEach(@TempDir Path work) throws Exception {
        Path images = work.resolve("archive/images");
        Map<String, String> truth = ReprocessRuns.scenes(images, 109, 0, 24);
        List<String> lines = new ArrayList<>();
        int i = 0;
        for (String file : truth.keySet()) {
            String id = "img-" + i;
            lines.add(switch (i % 3) {
                case 0 -> "{\"id\":\"" + id + "\",\"path\":\"images/" + file + "\"}";
                case 1 -> "{\"id\":\"" + id + "\",\"uri\":\"" + images.toRealPath().resolve(file).toUri()
                        + "\",\"metadata\":{\"batch\":7}}";
                default -> "{\"id\":\"" + id + "\",\"path\":\"images/" + file + "\",\"prompt\":\"what is this?\",\"max_new_tokens\":40}";
            });
            i++;
        }
        lines.add(3, "");
        lines.add(5, "this line is not JSON");
        Path manifest = work.resolve("archive/manifest.jsonl");
        Files.write(manifest, lines);
        Path out = work.resolve("out");

        ReprocessRuns.Result r = ReprocessRuns.reprocess("--from", "manifest:" + manifest, "--to", "jsonl:" + out + "/",
                "--prompt", "describe the image");

        assertThat(r.exitCode()).as(r.stdout()).isZero();
        List<JsonNode> captions = partLines(out.resolve("captions"));
        List<JsonNode> dead = partLines(out.resolve("dead-letters"));
        Map<String, JsonNode> byId = new HashMap<>();
        captions.forEach(n -> assertThat(byId.put(n.path("id").asText(), n)).as("once").isNull());
        assertThat(byId).hasSize(24);
        assertThat(byId.get("img-1").path("metadata").path("batch").asInt()).isEqualTo(7);
        assertThat(byId.get("img-2").path("prompt").asText()).isEqualTo("what is this?");
        assertThat(byId.get("img-0").path("prompt").asText()).isEqualTo("describe the image");
        assertThat(byId.get("img-0").path("source").path("uri").asText()).isEqualTo(manifest.toRealPath().toUri().toString());
        assertThat(byId.get("img-0").path("source").path("line").asLong()).isZero();
        assertThat(dead).hasSize(1);
        assertThat(dead.get(0).path("error").path("code").asText()).isEqualTo("BAD_ENVELOPE");
        assertThat(dead.get(0).path("id").asText()).isEqualTo(manifest.toRealPath().toUri() + "#line=5");

        ReprocessRuns.Result again = ReprocessRuns.reprocess("--from", "manifest:" + manifest, "--to", "jsonl:" + out + "/",
                "--skip-existing");
        assertThat(again.exitCode()).as(again.stdout()).isZero();
        assertThat(again.stdout()).contains("images        0").contains("skipped       25");
        assertThat(partLines(out.resolve("captions"))).hasSize(24);
    }

    /** The committed part files' lines (in-progress files are hidden and not outcomes). */
    private static List<JsonNode> partLines(Path dir) throws Exception {
        List<JsonNode> out = new ArrayList<>();
        try (Stream<Path> files = Files.walk(dir)) {
            for (Path f : files.filter(Files::isRegularFile).filter(f -> !f.getFileName().toString().startsWith(".")).toList()) {
                assertThat(f.getFileName().toString()).startsWith("part-").endsWith(".jsonl");
                for (JsonNode n : ReprocessRuns.lines(f)) {
                    out.add(n);
                }
            }
        }
        return out;
    }
}
