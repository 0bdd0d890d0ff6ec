package dev.glimpse.cli.gallery;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.glimpse.model.scenes.SceneGenerator;
import dev.glimpse.model.scenes.SceneSample;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A folder of scene images and a JSONL file of captions (docs/contracts.md) and dead letters
 * for them, with hostile strings where producers control them (ids) and where a model could put them.
 */
final class GalleryFixture {
    static final String HOSTILE_ID = "<img src=x onerror=\"document.title='pwned'\">";
    static final String HOSTILE_CAPTION = "<script>document.title='pwned'</script> a caption with markup & \"quotes\"";
    static final String HOSTILE_MESSAGE = "bytes were <b>not</b> an image: <script>alert(1)</script>";

    final Path images;
    final Path jsonl;
    final List<String> captions = new ArrayList<>();
    final int deadLetters = 3;

    private GalleryFixture(Path images, Path jsonl) {
        this.images = images;
        this.jsonl = jsonl;
    }

    /** {@code count} captioned scenes plus one caption with markup, and three dead letters. */
    static GalleryFixture write(Path dir, int count) throws IOException {
        ObjectMapper json = new ObjectMapper();
        GalleryFixture f = new GalleryFixture(Files.createDirectories(dir.resolve("images")), dir.resolve("outcomes.jsonl"));
        SceneGenerator scenes = new SceneGenerator(31);
        List<String> lines = new ArrayList<>();
        long t0 = 1_764_000_000_000L;
        for (int i = 0; i < count; i++) {
            SceneSample s = scenes.sample(i);
            String id = "scene-" + i;
            Files.write(f.images.resolve(id + (s.fileName().endsWith(".png") ? ".png" : ".jpg")), s.encoded());
            double confidence = i % 5 == 4 ? 0.62 : 0.999;
            lines.add(caption(json, id, s.caption(), confidence, i % 5 == 4 ? 2 : 1, t0 + 250L * i).toString());
            f.captions.add(s.caption());
        }
        Files.write(f.images.resolve("hostile.png"), scenes.sample(count).encoded());
        lines.add(caption(json, HOSTILE_ID, HOSTILE_CAPTION, 0.3, 1, t0 + 250L * count).toString());
        f.captions.add(HOSTILE_CAPTION);
        lines.add(dead(json, "bad-1", "UNSUPPORTED_FORMAT", HOSTILE_MESSAGE, "ImageDecoder").toString());
        lines.add(dead(json, "bad-2", "UNSUPPORTED_FORMAT", "no known image signature", "ImageDecoder").toString());
        lines.add(dead(json, HOSTILE_ID + "-dead", "BAD_ENVELOPE", "envelope is not JSON", "ImageDecoder").toString());
        Files.write(f.jsonl, lines, StandardCharsets.UTF_8);
        return f;
    }

    private static ObjectNode caption(ObjectMapper json, String id, String caption, double confidence, int views, long ts) {
        ObjectNode n = json.createObjectNode().put("id", id).put("caption", caption).put("model", "glimpse-scenes")
                .put("prompt", "describe the image").put("tokens", 12).put("confidence", confidence).put("views", views);
        n.putObject("source").put("topic", "images").put("partition", 0).put("offset", 0).put("timestamp", ts);
        n.putObject("timings_ms").put("decode", 2).put("embed", 3).put("queue", 20).put("inference", 300)
                .put("total", 1200).put("batch_size", 8);
        return n;
    }

    private static ObjectNode dead(ObjectMapper json, String id, String code, String message, String stage) {
        ObjectNode n = json.createObjectNode().put("id", id);
        n.putObject("error").put("code", code).put("message", message).put("stage", stage);
        n.putObject("source").put("topic", "images").put("partition", 1).put("offset", 7);
        n.put("payload_bytes", 12).put("payload_head_base64", "bm90IGFuIGltYWdl");
        return n;
    }
}
