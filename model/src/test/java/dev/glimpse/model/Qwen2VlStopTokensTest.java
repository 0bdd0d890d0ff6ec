package dev.glimpse.model;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDManager;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A caption ends at a stop token (generation_config.json's eos ids, with {@code <|im_end|>} and
 * {@code <|endoftext|>}), which it does not include, or at its cap; the reference prompt's greedy
 * continuation is {@code [295, 323, 249, 180, 55, ...]}.
 */
class Qwen2VlStopTokensTest {
    static List<Qwen2VlModel.Prepared> goldenRow(Qwen2VlModel model) throws Exception {
        Path golden = Qwen2VlPromptTest.golden();
        try (NDManager m = NDManager.newBaseManager()) {
            var expected = Safetensors.read(m, golden.resolve("expected.safetensors"));
            List<RgbImage> images = List.of(Qwen2VlVerifier.rgb(golden.resolve("image_0.png"), model.config()),
                    Qwen2VlVerifier.rgb(golden.resolve("image_1.png"), model.config()));
            Qwen2VlModel.Prepared row = model.prepare(images, "Describe these two pictures.");
            assertThat(row.ids()).containsExactly(expected.get("input_ids").toLongArray());
            return List.of(row);
        }
    }

    @Test
    void shouldStopAtTheCapOrAtAStopTokenWithoutIncludingIt(@TempDir Path dir) throws Exception {
        try (Qwen2VlModel model = Qwen2VlModel.load(Qwen2VlPromptTest.golden())) {
            List<Qwen2VlModel.Prepared> row = goldenRow(model);
            assertThat(model.generate(row, new int[] {3}, false).get(0).tokens()).containsExactly(295, 323, 249);
            assertThat(model.generate(row, new int[] {0}, false).get(0).tokens()).isEmpty();
        }
        Qwen2VlLoadingTest.copyFolder(dir);
        Files.copy(Qwen2VlPromptTest.golden().resolve("model.safetensors"), dir.resolve("model.safetensors"));
        Files.writeString(dir.resolve("generation_config.json"), "{\"eos_token_id\": [330, 249], \"pad_token_id\": 328}");
        try (Qwen2VlModel model = Qwen2VlModel.load(dir)) {
            assertThat(model.config().stopTokenIds()).contains(249, 330, 328);
            Qwen2VlModel.Result r = model.generate(goldenRow(model), new int[] {10}, true).get(0);
            assertThat(r.tokens()).containsExactly(295, 323);
            assertThat(r.stepLogits()).hasSize(3); // the stop token was picked from the third step's logits
            assertThat(r.confidence()).isBetween(0.0, 1.0);
        }
    }
}
