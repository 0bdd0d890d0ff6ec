package dev.glimpse.model;

import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Qwen2-VL's prompt as {@code Qwen2VLProcessor} builds it: the folder's chat template rendered over
 * one user message of the images then the text, with the generation prompt (the template adds its
 * default system turn); then the i-th {@code <|image_pad|>} expanded into as many copies as image i
 * has merged patches, between the {@code <|vision_start|>} and {@code <|vision_end|>} the template wrote.
 */
public final class Qwen2VlPrompt {
    private static final int CACHED = 256;

    private final String template;
    private final Jinjava jinja;
    private final Map<String, String> rendered = new LinkedHashMap<>(16, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, String> eldest) {
            return size() > CACHED;
        }
    };

    public Qwen2VlPrompt(String chatTemplate) {
        this.template = chatTemplate;
        this.jinja = new Jinjava(JinjavaConfig.newBuilder().withTrimBlocks(true).withLstripBlocks(true).build());
    }

    /** The chat template applied to one user turn of {@code images} images then {@code text}, ready for the answer. */
    public String chat(int images, String text) {
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

    /** {@code text} with its {@code <|image_pad|>} markers, in order, repeated {@code tokens[i]} times. */
    public static String expand(String text, int[] tokens) {
        String[] parts = text.split(Pattern.quote(Qwen2VlConfig.IMAGE_PAD), -1);
        if (parts.length - 1 != tokens.length) {
            throw new IllegalArgumentException("prompt has " + (parts.length - 1) + " " + Qwen2VlConfig.IMAGE_PAD
                    + " marker(s) for " + tokens.length + " image(s)");
        }
        StringBuilder sb = new StringBuilder(parts[0]);
        for (int i = 0; i < tokens.length; i++) {
            sb.append(Qwen2VlConfig.IMAGE_PAD.repeat(tokens[i])).append(parts[i + 1]);
        }
        return sb.toString();
    }

    /** The whole text the tokenizer reads for images of {@code tokens[i]} merged patches and {@code text}. */
    public String text(int[] tokens, String text) {
        return expand(chat(tokens.length, text), tokens);
    }
}
