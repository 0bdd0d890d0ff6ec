package dev.glimpse.model;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * transformers' Qwen2-VL code (v4.47.1) produced the reference on a tiny random configuration; this
 * implementation must match it stage by stage, from the PNG files and prompt.txt to the greedy ids.
 */
class Qwen2VlReferenceParityTest {
    @Test
    void shouldMatchTransformersQwen2VlAtEveryStage() throws Exception {
        Path dir = Qwen2VlPromptTest.golden();
        try (Qwen2VlModel model = Qwen2VlModel.load(dir)) {
            List<ReferenceVerifier.Stage> stages = Qwen2VlVerifier.verify(model, dir.resolve("expected.safetensors"));
            System.out.print(ReferenceVerifier.table(stages));
            assertThat(stages).extracting(ReferenceVerifier.Stage::name).containsExactly(
                    "pixel_values", "image_grid_thw", "input_ids", "vision_patch_embed", "vision_rotary_pos_ids",
                    "vision_rotary_freqs", "vision_block_outputs", "vision_out", "inputs_embeds", "position_ids",
                    "rope_deltas", "mrope_cos", "mrope_sin", "text_hidden_states", "prefill_logits", "greedy_ids",
                    "greedy_step_logits", "decode_position_ids", "image0.rgb", "image0.resized",
                    "image0.image_grid_thw", "image1.rgb", "image1.resized", "image1.image_grid_thw");
            assertThat(stages).allSatisfy(s -> assertThat(s.pass()).as(s.name()).isTrue());
        }
    }
}
