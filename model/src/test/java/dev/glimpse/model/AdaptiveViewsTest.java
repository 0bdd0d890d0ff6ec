package dev.glimpse.model;

import static org.assertj.core.api.Assertions.assertThat;

import dev.glimpse.model.scenes.SceneGenerator;
import dev.glimpse.model.scenes.SceneSample;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Adaptive test-time views on the shipped model and real scenes: a caption its unmoved view is sure
 * of is that view's caption; any other is the caption of the shifted views, decoded together.
 */
class AdaptiveViewsTest {
    static final Path BUILT_IN = Path.of("..", "models", "glimpse-scenes");

    @Test
    void shouldKeepTheSureCaptionsOfTheUnmovedViewAndDecodeTheOthersFromTheShiftedViews() throws Exception {
        int n = 48;
        try (VisionLanguageModel m = VisionLanguageModel.load(BUILT_IN)) {
            ModelConfig cfg = m.config();
            assertThat(cfg.viewShifts).isNotNull();
            SceneGenerator scenes = new SceneGenerator(2026);
            List<RgbImage> images = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                SceneSample s = scenes.sample(i);
                images.add(ImagePreprocessor.decodeRgb(s.encoded(), ImagePreprocessor.Limits.DEFAULT, cfg.vitImgSize));
            }
            List<String> prompts = new ArrayList<>(Collections.nCopies(n, null));
            int[] caps = new int[n];
            Arrays.fill(caps, cfg.lmMaxLength);
            Captioner captioner = new Captioner(m);

            ModelConfig single = cfg.singleView();
            ImagePreprocessor plain = new ImagePreprocessor(single);
            List<Captioner.Caption> alone = captioner.caption(images.stream().map(plain::toPixels).toList(),
                    ViewPlan.SINGLE, prompts, caps);
            ModelConfig always = cfg.copy();
            always.viewConfidence = null;
            ImagePreprocessor shifted = new ImagePreprocessor(always);
            List<Captioner.Caption> both = captioner.caption(images.stream().map(shifted::toViews).toList(),
                    shifted.plan(), prompts, caps);

            // A threshold at the median confidence leaves some images unsure and some sure, whatever the model.
            double[] confidences = alone.stream().mapToDouble(Captioner.Caption::confidence).sorted().toArray();
            ModelConfig adaptive = cfg.copy();
            adaptive.viewConfidence = (confidences[n / 2 - 1] + confidences[n / 2]) / 2;
            ImagePreprocessor pre = new ImagePreprocessor(adaptive);
            assertThat(pre.plan()).isEqualTo(new ViewPlan(cfg.viewShifts.length + 1, adaptive.viewConfidence));
            List<Captioner.Caption> mixed = captioner.caption(images.stream().map(pre::toViews).toList(),
                    pre.plan(), prompts, caps);

            int again = 0;
            for (int i = 0; i < n; i++) {
                boolean unsure = alone.get(i).confidence() < adaptive.viewConfidence;
                Captioner.Caption want = unsure ? both.get(i) : alone.get(i);
                assertThat(mixed.get(i).text()).as("image %d", i).isEqualTo(want.text());
                assertThat(mixed.get(i).views()).isEqualTo(unsure ? cfg.viewShifts.length : 1);
                assertThat(mixed.get(i).confidence()).isCloseTo(want.confidence(), org.assertj.core.api.Assertions.within(1e-4));
                again += unsure ? 1 : 0;
            }
            assertThat(again).as("images decoded again").isBetween(1, n - 1);
        }
    }
}
