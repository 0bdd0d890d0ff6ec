package dev.glimpse.model;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** Qwen2-VL's prompt: the folder's chat template as transformers renders it, image pads expanded per image. */
class Qwen2VlPromptTest {
    static Path golden() throws URISyntaxException {
        return Path.of(Qwen2VlPromptTest.class.getResource("/golden/qwen2vl-tiny/config.json").toURI()).getParent();
    }

    @Test
    void shouldRenderTheFolderChatTemplateAndExpandEachImageToItsMergedPatches() throws Exception {
        Qwen2VlConfig cfg = Qwen2VlConfig.read(golden());
        Qwen2VlPrompt prompt = new Qwen2VlPrompt(cfg.chatTemplate());
        String chat = prompt.chat(2, "Describe these two pictures.");
        assertThat(chat).isEqualTo(Files.readString(golden().resolve("prompt.txt")));
        assertThat(Qwen2VlPrompt.expand(chat, new int[] {8, 4}))
                .isEqualTo(Files.readString(golden().resolve("prompt_expanded.txt")));
    }
}
