package dev.glimpse.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A model folder's chat template as transformers applies it for captioning: one user message of the
 * images then the text, with the generation prompt, rendered by Jinjava with transformers'
 * {@code trim_blocks} and {@code lstrip_blocks}. The SmolVLM and Qwen2-VL prompts expand its image
 * markers their own way. Renderings are cached by (images, text): the job asks for the same few again
 * and again. Thread-safe.
 */
public final class ChatTemplate {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int CACHED = 256;

    private final String template;
    private final Jinjava jinja;
    private final Map<String, String> rendered = new LinkedHashMap<>(16, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, String> eldest) {
            return size() > CACHED;
        }
    };

    public ChatTemplate(String template) {
        this.template = template;
        this.jinja = new Jinjava(JinjavaConfig.newBuilder().withTrimBlocks(true).withLstripBlocks(true).build());
    }

    /**
     * The template of a {@code family} folder: {@code chat_template.json} (newer saves), else
     * {@code tokenizer_config.json}'s {@code chat_template}.
     */
    public static String read(Path dir, String family) throws IOException {
        for (String file : new String[] {"chat_template.json", "tokenizer_config.json"}) {
            Path p = dir.resolve(file);
            if (Files.isRegularFile(p)) {
                JsonNode t = JSON.readTree(p.toFile()).path("chat_template");
                if (t.isTextual()) {
                    return t.asText();
                }
            }
        }
        throw new IllegalArgumentException(family + " folder " + dir
                + " has no chat template (chat_template.json or tokenizer_config.json with chat_template)");
    }

    /** The template applied to one user turn of {@code images} images then {@code text}, ready for the answer. */
    public String userTurn(int images, String text) {
        String key = images + "\u0000" + text;
        synchronized (rendered) {
            String hit = rendered.get(key);
            if (hit != null) {
                return hit;
            }
        }
        List<Map<String, Object>> content = new ArrayList<>();
        for (int i = 0; i < images; i++) {
            content.add(Map.of("type", "image"));
        }
        content.add(Map.of("type", "text", "text", text));
        String out = jinja.render(template, Map.of(
                "messages", List.of(Map.of("role", "user", "content", content)),
                "add_generation_prompt", true));
        synchronized (rendered) {
            rendered.put(key, out);
        }
        return out;
    }
}
