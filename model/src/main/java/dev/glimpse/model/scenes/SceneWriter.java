package dev.glimpse.model.scenes;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/** Writes generated samples to a directory as image files plus a JSON-lines manifest. */
public final class SceneWriter {

    public static final String MANIFEST = "manifest.jsonl";

    private static final ObjectMapper JSON = new ObjectMapper();

    private SceneWriter() {}

    /**
     * Writes samples 0 to count-1 as {@code <id>.png} or {@code <id>.jpg} and one manifest line
     * {@code {"id", "file", "caption"}} for each; returns the manifest's path.
     */
    public static Path write(SceneGenerator gen, long count, Path outDir) throws IOException {
        Files.createDirectories(outDir);
        Path manifest = outDir.resolve(MANIFEST);
        try (BufferedWriter lines = Files.newBufferedWriter(manifest, StandardCharsets.UTF_8)) {
            for (long index = 0; index < count; index++) {
                SceneSample sample = gen.sample(index);
                Files.write(outDir.resolve(sample.fileName()), sample.encoded());
                ObjectNode line = JSON.createObjectNode()
                        .put("id", sample.id())
                        .put("file", sample.fileName())
                        .put("caption", sample.caption());
                lines.write(JSON.writeValueAsString(line));
                lines.write('\n');
            }
        }
        return manifest;
    }
}
