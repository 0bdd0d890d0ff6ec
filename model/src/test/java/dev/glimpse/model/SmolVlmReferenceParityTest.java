package dev.glimpse.model;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * transformers' Idefics3 code (v4.47.1) produced the reference on a tiny random SmolVLM; this
 * implementation must match it stage by stage, from the PNG files and prompt.txt to the greedy ids.
 */
class SmolVlmReferenceParityTest {
    static Path golden() throws URISyntaxException {
        return Path.of(SmolVlmReferenceParityTest.class.getResource("/golden/smolvlm-tiny/config.json").toURI()).getParent();
    }

    @Test
    void shouldMatchTransformersIdefics3AtEveryStage() throws Exception {
        Path dir = golden();
        try (VisionLanguageModel model = VisionLanguageModel.load(dir)) {
            assertThat(model.config().format()).isEqualTo(ModelConfig.Format.IDEFICS3);
            List<ReferenceVerifier.Stage> stages = ReferenceVerifier.verify(model, dir.resolve("expected.safetensors"));
            System.out.print(ReferenceVerifier.table(stages));
            assertThat(stages).extracting(ReferenceVerifier.Stage::name).containsExactly(
                    "pixel_values", "pixel_attention_mask", "rows", "cols", "input_ids", "vision_out",
                    "connector_out", "inputs_embeds", "prefill_logits", "greedy_ids", "greedy_step_logits",
                    "image0.pixel_values", "image0.pixel_attention_mask", "image0.rows", "image0.cols",
                    "image1.pixel_values", "image1.pixel_attention_mask", "image1.rows", "image1.cols");
            assertThat(stages).allSatisfy(s -> assertThat(s.pass()).as(s.name()).isTrue());
        }
    }

    @Test
    void shouldTokenizeWithTheTokenizersOwnSpecialTokensAsTheProcessorDoes(@org.junit.jupiter.api.io.TempDir Path dir)
            throws Exception {
        // transformers tokenizes with add_special_tokens=True: a post-processor's BOS is added, none otherwise.
        com.fasterxml.jackson.databind.ObjectMapper json = new com.fasterxml.jackson.databind.ObjectMapper();
        var tok = (com.fasterxml.jackson.databind.node.ObjectNode) json.readTree(golden().resolve("tokenizer.json").toFile());
        tok.set("post_processor", json.readTree("{\"type\":\"TemplateProcessing\",\"single\":[{\"SpecialToken\":"
                + "{\"id\":\"<|im_start|>\",\"type_id\":0}},{\"Sequence\":{\"id\":\"A\",\"type_id\":0}}],\"pair\":"
                + "[{\"Sequence\":{\"id\":\"A\",\"type_id\":0}}],\"special_tokens\":{\"<|im_start|>\":{\"id\":"
                + "\"<|im_start|>\",\"ids\":[1],\"tokens\":[\"<|im_start|>\"]}}}"));
        Files.write(dir.resolve("tokenizer.json"), json.writeValueAsBytes(tok));
        ModelConfig cfg = ModelConfig.read(golden().resolve("config.json"));
        try (CaptionTokenizer withBos = CaptionTokenizer.load(dir.resolve("tokenizer.json"), cfg);
             CaptionTokenizer plain = CaptionTokenizer.load(golden().resolve("tokenizer.json"), cfg)) {
            assertThat(withBos.encodeAsProcessor("Can you")).containsExactly(1, 14, 15);
            assertThat(plain.encodeAsProcessor("Can you")).containsExactly(14, 15);
        }
    }

    @Test
    void shouldRenderTheFolderChatTemplateAndExpandImagesAsTheProcessorDoes() throws Exception {
        Path dir = golden();
        ModelConfig cfg = ModelConfig.read(dir.resolve("config.json"));
        Idefics3Prompt prompt = new Idefics3Prompt(cfg.idefics3);
        String chat = prompt.chat(1, "Can you describe this image?");
        assertThat(chat).isEqualTo(Files.readString(dir.resolve("prompt.txt")));
        assertThat(prompt.expand(chat, new int[][] {{2, 3}})).isEqualTo(Files.readString(dir.resolve("prompt_expanded.txt")));
        assertThat(prompt.imageString(0, 0)).isEqualTo("<fake_token_around_image><global-img>"
                + "<image>".repeat(4) + "<fake_token_around_image>");
    }
}
