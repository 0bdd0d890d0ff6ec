package dev.glimpse.model.training;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.glimpse.model.TestModels;
import dev.glimpse.model.VisionLanguageModel;
import dev.glimpse.model.scenes.SceneGenerator;
import dev.glimpse.model.scenes.SceneWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class EvaluatorTest {

    @Test
    void shouldScoreAManifestFolderExactlyAsTheGeneratedScenesItHolds(@TempDir Path dir) throws Exception {
        Path scenes = dir.resolve("scenes");
        SceneWriter.write(new SceneGenerator(77), 12, scenes);
        try (VisionLanguageModel m = VisionLanguageModel.load(TestModels.writeTinyScenesModel(dir.resolve("model")))) {
            Evaluator.Report fromGenerator = Evaluator.evaluate(m, 77, 12, 5);
            Evaluator.Report fromManifest = Evaluator.evaluate(m, scenes.resolve(SceneWriter.MANIFEST), 5);

            assertThat(fromManifest.total()).isEqualTo(12);
            assertThat(fromManifest.exact()).isEqualTo(fromGenerator.exact());
            assertThat(fromManifest.confusions()).isEqualTo(fromGenerator.confusions());
            // An untrained model gets scenes wrong, so the scoring has work to do.
            assertThat(fromManifest.wrong()).isNotEmpty();
            assertThat(fromManifest.wrong().get(0)[0]).contains(" background");
        }
    }

    @Test
    void shouldNameTheLineOfABrokenManifest(@TempDir Path dir) throws Exception {
        Path manifest = Files.writeString(dir.resolve("manifest.jsonl"), "{\"file\": \"a.png\"}\n");
        try (VisionLanguageModel m = VisionLanguageModel.load(TestModels.writeTinyScenesModel(dir.resolve("model")))) {
            assertThatThrownBy(() -> Evaluator.evaluate(m, manifest, 4))
                    .hasMessageContaining("line 1").hasMessageContaining("caption");
        }
    }
}
