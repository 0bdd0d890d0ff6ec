package dev.glimpse.model;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/** nanoVLM's own code produced the reference; this implementation must match it stage by stage. */
class ReferenceParityTest {
    static Path golden() throws URISyntaxException {
        return Path.of(ReferenceParityTest.class.getResource("/golden/nanovlm-tiny/config.json").toURI()).getParent();
    }

    @Test
    void shouldMatchNanoVlmReferenceAtEveryStage() throws Exception {
        Path dir = golden();
        try (VisionLanguageModel model = VisionLanguageModel.load(dir)) {
            List<ReferenceVerifier.Stage> stages = ReferenceVerifier.verify(model, dir.resolve("expected.safetensors"));
            System.out.print(ReferenceVerifier.table(stages));
            assertThat(stages).extracting(ReferenceVerifier.Stage::name).containsExactly(
                    "patch_embeddings", "vision_out", "projected", "prefill_logits", "greedy_ids");
            assertThat(stages).allSatisfy(s -> assertThat(s.pass()).as(s.name()).isTrue());
        }
    }
}
