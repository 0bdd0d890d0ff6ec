package dev.glimpse.model;

import java.util.regex.Pattern;

/**
 * Qwen2-VL's prompt as {@code Qwen2VLProcessor} builds it: the folder's chat template rendered over
 * one user message of the images then the text, with the generation prompt (the template adds its
 * default system turn); then the i-th {@code <|image_pad|>} expanded into as many copies as image i
 * has merged patches, between the {@code <|vision_start|>} and {@code <|vision_end|>} the template wrote.
 */
public final class Qwen2VlPrompt {
    private final ChatTemplate template;

    public Qwen2VlPrompt(String chatTemplate) {
        this.template = new ChatTemplate(chatTemplate);
    }

    /** The chat template applied to one user turn of {@code images} images then {@code text}, ready for the answer. */
    public String chat(int images, String text) {
        return template.userTurn(images, text);
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
