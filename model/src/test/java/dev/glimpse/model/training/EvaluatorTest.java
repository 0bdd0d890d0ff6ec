package dev.glimpse.model.training;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.glimpse.model.TestModels;
import dev.glimpse.model.VisionLanguageModel;
import dev.glimpse.model.scenes.SceneGenerator;
import dev.glimpse.model.scenes.SceneWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
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
            // Every scene falls in one object-count group and one small-object group.
            assertThat(counts(fromManifest)).isEqualTo(counts(fromGenerator));
            int byCount = 0, bySmall = 0, rightByCount = 0;
            for (var g : fromManifest.groups().entrySet()) {
                if (g.getKey().contains("object")) {
                    byCount += g.getValue()[1];
                    rightByCount += g.getValue()[0];
                } else {
                    bySmall += g.getValue()[1];
                }
            }
            assertThat(byCount).isEqualTo(12);
            assertThat(bySmall).isEqualTo(12);
            assertThat(rightByCount).isEqualTo(fromManifest.exact());
            assertThat(fromManifest.table()).contains("exact match by scene");
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

    private static Map<String, List<Integer>> counts(Evaluator.Report r) {
        Map<String, List<Integer>> out = new TreeMap<>();
        r.groups().forEach((g, c) -> out.put(g, List.of(c[0], c[1])));
        return out;
    }
}
