package dev.glimpse.model;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * Text to ids and back with the model's {@code tokenizer.json} (Hugging Face tokenizers, through
 * DJL), and the model's prompt template: a request's prompt becomes
 * {@code prompt_template.replace("{prompt}", prompt)}.
 */
public final class CaptionTokenizer implements AutoCloseable {
    private final HuggingFaceTokenizer tokenizer;
    private final byte[] json;
    private final ModelConfig cfg;

    private CaptionTokenizer(HuggingFaceTokenizer tokenizer, byte[] json, ModelConfig cfg) {
        this.tokenizer = tokenizer;
        this.json = json;
        this.cfg = cfg;
    }

    public static CaptionTokenizer load(Path tokenizerJson, ModelConfig cfg) {
        try {
            byte[] json = Files.readAllBytes(tokenizerJson);
            HuggingFaceTokenizer t = HuggingFaceTokenizer.newInstance(tokenizerJson,
                    Map.of("addSpecialTokens", "false", "padding", "false", "truncation", "false"));
            return new CaptionTokenizer(t, json, cfg);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read tokenizer " + tokenizerJson + ": " + e.getMessage(), e);
        }
    }

    /** The prompt text the decoder reads for {@code prompt} (null or blank: the model's default). */
    public String promptText(String prompt) {
        String p = prompt == null || prompt.isBlank() ? cfg.defaultPrompt : prompt;
        return cfg.promptTemplate.replace("{prompt}", p);
    }

    public long[] encodePrompt(String prompt) {
        return encode(promptText(prompt));
    }

    public long[] encode(String text) {
        Encoding e = tokenizer.encode(text, false, false);
        return e.getIds();
    }

    /**
     * Ids of {@code text} with whatever the tokenizer's post-processor adds around them (a BOS, for
     * tokenizers that declare one): transformers' {@code add_special_tokens=True}, as
     * {@code Idefics3Processor} tokenizes its prompts.
     */
    public long[] encodeAsProcessor(String text) {
        return tokenizer.encode(text, true, false).getIds();
    }

    public String decode(long[] ids) {
        return tokenizer.decode(ids, true).trim();
    }

    public void save(Path file) throws IOException {
        Files.write(file, json);
    }

    @Override
    public void close() {
        tokenizer.close();
    }
}
