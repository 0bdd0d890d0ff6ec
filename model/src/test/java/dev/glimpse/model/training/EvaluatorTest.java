package dev.glimpse.model.training;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.glimpse.model.ModelConfig;
import dev.glimpse.model.TestModels;
import dev.glimpse.model.VisionLanguageModel;
import dev.glimpse.model.scenes.RenderOptions;
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
        // The tiny architecture at the built-in model's input size, so that the scenes spread over the side groups.
        ModelConfig config = TestModels.tinyScenesConfig();
        config.vitImgSize = 96;
        try (VisionLanguageModel m = VisionLanguageModel.load(ScenesModel.writeRandom(dir.resolve("model"), config, 11))) {
            Evaluator.Report fromGenerator = Evaluator.evaluate(m, 77, 12, 5, true);
            Evaluator.Report fromManifest = Evaluator.evaluate(m, scenes.resolve(SceneWriter.MANIFEST), 5, true);

            assertThat(fromManifest.total()).isEqualTo(12);
            assertThat(fromManifest.exact()).isEqualTo(fromGenerator.exact());
            assertThat(fromManifest.confusions()).isEqualTo(fromGenerator.confusions());
            // An untrained model gets scenes wrong, so the scoring has work to do.
            assertThat(fromManifest.wrong()).isNotEmpty();
            assertThat(fromManifest.wrong().get(0)[0]).contains(" background");
            // Both sources group alike (the image groups come from the bytes alone), and every
            // scene falls in exactly one group of each grouping.
            assertThat(counts(fromManifest)).isEqualTo(counts(fromGenerator));
            assertThat(fromManifest.groups().keySet()).containsExactlyElementsOf(Evaluator.GROUPINGS);
            for (Map<String, int[]> byGroup : fromManifest.groups().values()) {
                assertThat(byGroup.values().stream().mapToInt(c -> c[1]).sum()).isEqualTo(12);
                assertThat(byGroup.values().stream().mapToInt(c -> c[0]).sum()).isEqualTo(fromManifest.exact());
            }
            // The image groups follow what the generator drew: the side, and the JPEG quality read
            // back from the quantisation tables.
            Map<String, Integer> expected = new TreeMap<>();
            SceneGenerator scenesAgain = new SceneGenerator(77);
            for (int i = 0; i < 12; i++) {
                RenderOptions o = scenesAgain.sample(i).options();
                int side = o.canvas();
                expected.merge(side < 96 ? "side < 96" : side < 192 ? "side 96-191" : "side >= 192", 1, Integer::sum);
                int q = Math.round(100 * o.jpegQuality());
                String format = RenderOptions.PNG.equals(o.format()) ? "png"
                        : q >= 80 ? "jpeg q >= 80" : q >= 65 ? "jpeg q 65-79" : "jpeg q < 65";
                expected.merge(format, 1, Integer::sum);
            }
            Map<String, Integer> imageGroups = new TreeMap<>();
            for (String grouping : List.of("image side", "image format")) {
                fromManifest.groups().get(grouping).forEach((g, c) -> {
                    if (c[1] > 0) {
                        imageGroups.put(g, c[1]);
                    }
                });
            }
            assertThat(imageGroups).isEqualTo(expected);
            assertThat(expected).containsKeys("png").hasSizeGreaterThan(3);
            assertThat(fromManifest.table()).contains("exact match by small objects", "exact match by image format");
        }
    }

    @Test
    void shouldNameTheLineOfABrokenManifest(@TempDir Path dir) throws Exception {
        Path manifest = Files.writeString(dir.resolve("manifest.jsonl"), "{\"file\": \"a.png\"}\n");
        try (VisionLanguageModel m = VisionLanguageModel.load(TestModels.writeTinyScenesModel(dir.resolve("model")))) {
            assertThatThrownBy(() -> Evaluator.evaluate(m, manifest, 4, true))
                    .hasMessageContaining("line 1").hasMessageContaining("caption");
        }
    }

    private static Map<String, List<Integer>> counts(Evaluator.Report r) {
        Map<String, List<Integer>> out = new TreeMap<>();
        r.groups().forEach((grouping, byGroup) -> byGroup.forEach((g, c) -> out.put(grouping + ": " + g, List.of(c[0], c[1]))));
        return out;
    }
}
