package dev.glimpse.model.scenes;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SceneWriterTest {

    private static final int COUNT = 12;

    @TempDir
    Path tmp;

    @Test
    void shouldWriteOneImageAndOneManifestLinePerSample() throws IOException {
        SceneGenerator gen = new SceneGenerator(21);
        Path outDir = tmp.resolve("scenes");

        Path manifest = SceneWriter.write(gen, COUNT, outDir);

        assertThat(manifest).isEqualTo(outDir.resolve("manifest.jsonl"));
        try (Stream<Path> files = Files.list(outDir)) {
            assertThat(files.filter(f -> f.toString().matches(".*\\.(png|jpg)$"))).hasSize(COUNT);
        }
        List<String> lines = Files.readAllLines(manifest);
        assertThat(lines).hasSize(COUNT);
        ObjectMapper json = new ObjectMapper();
        for (int index = 0; index < COUNT; index++) {
            JsonNode line = json.readTree(lines.get(index));
            SceneSample sample = gen.sample(index);
            assertThat(line.get("id").asText()).isEqualTo(sample.id());
            assertThat(line.get("file").asText()).isEqualTo(sample.fileName());
            assertThat(line.get("caption").asText()).isEqualTo(sample.caption());
            assertThat(outDir.resolve(sample.fileName())).hasBinaryContent(sample.encoded());
        }
    }
}
