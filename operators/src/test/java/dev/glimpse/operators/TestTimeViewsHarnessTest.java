package dev.glimpse.operators;

import static org.assertj.core.api.Assertions.assertThat;

import dev.glimpse.model.Captioner;
import dev.glimpse.model.ImagePreprocessor;
import dev.glimpse.model.RgbImage;
import dev.glimpse.model.TestModels;
import dev.glimpse.model.ViewPlan;
import dev.glimpse.model.VisionLanguageModel;
import dev.glimpse.model.scenes.SceneGenerator;
import dev.glimpse.model.scenes.SceneSample;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.apache.flink.streaming.api.operators.ProcessOperator;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.OneInputStreamOperatorTestHarness;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A model whose config.json lists test-time views: the patch embedding embeds each view, the
 * batched captioner decodes them together, and both give what the offline {@link Captioner} gives.
 */
class TestTimeViewsHarnessTest {
    @TempDir
    Path modelDir;

    static DecodedImage decoded(String id, SceneSample s) throws Exception {
        RgbImage rgb = ImagePreprocessor.decodeRgb(s.encoded(), ImagePreprocessor.Limits.DEFAULT, 32);
        ImageRequest r = new ImageRequest();
        r.id = id;
        r.maxNewTokens = 24;
        r.source = new SourceRef("images", 0, id.hashCode() & 0xFFFF, 0);
        return new DecodedImage(r, rgb.width(), rgb.height(), rgb.rgb());
    }

    List<EmbeddedImage> embed(boolean views, List<DecodedImage> images) throws Exception {
        try (var h = new OneInputStreamOperatorTestHarness<>(new ProcessOperator<>(
                new PatchEmbedder(modelDir.toString(), views)))) {
            h.open();
            for (DecodedImage d : images) {
                h.processElement(new StreamRecord<>(d));
            }
            return h.extractOutputValues();
        }
    }

    @Test
    void shouldEmbedEveryViewAndCaptionFromAllOfThemAsTheOfflineCaptionerDoes() throws Exception {
        TestModels.writeTinyScenesModel(modelDir);
        SceneGenerator scenes = new SceneGenerator(5);
        List<DecodedImage> images = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            images.add(decoded("s" + i, scenes.sample(i)));
        }
        List<EmbeddedImage> multi = embed(true, images);
        List<EmbeddedImage> single = embed(false, images);

        try (VisionLanguageModel m = VisionLanguageModel.load(modelDir)) {
            // The tiny scenes model keeps the built-in model's views: the unmoved image, then two shifted
            // views for the captions it leaves unsure (with random weights, all of them).
            assertThat(m.config().views()).hasNumberOfRows(3);
            assertThat(ViewPlan.of(m.config()).adaptive()).isTrue();
            int perView = m.config().numPatches() * m.config().vitHiddenDim;
            Captioner captioner = new Captioner(m);
            ImagePreprocessor pre = new ImagePreprocessor(m.config());
            ImagePreprocessor plain = new ImagePreprocessor(m.config().singleView());
            List<float[]> views = new ArrayList<>();
            List<float[]> pixels = new ArrayList<>();
            for (int i = 0; i < images.size(); i++) {
                DecodedImage d = images.get(i);
                RgbImage rgb = new RgbImage(d.width, d.height, d.rgb);
                views.add(pre.toViews(rgb));
                pixels.add(plain.toPixels(rgb));
                assertThat(multi.get(i).plan()).isEqualTo(pre.plan());
                assertThat(multi.get(i).patches).hasSize(3 * perView).containsExactly(captioner.patchEmbed(views.get(i)));
                assertThat(single.get(i).views).isEqualTo(1);
                assertThat(single.get(i).patches).hasSize(perView).containsExactly(captioner.patchEmbed(pixels.get(i)));
            }
            List<String> prompts = new ArrayList<>(Collections.nCopies(images.size(), null));
            int[] caps = {24, 24, 24};
            List<String> offlineViews = captioner.caption(views, pre.plan(), prompts, caps).stream().map(Captioner.Caption::text).toList();
            List<String> offlineSingle = captioner.caption(pixels, prompts, caps).stream().map(Captioner.Caption::text).toList();

            // One buffer holding both kinds: each kind is decoded in its own forward, nothing is dropped.
            try (var h = new OneInputStreamOperatorTestHarness<>(
                    new BatchedCaptioner(modelDir.toString(), new BatchingSettings(6, Duration.ofHours(1))))) {
                h.open();
                for (int i = 0; i < images.size(); i++) {
                    h.processElement(new StreamRecord<>(multi.get(i)));
                    h.processElement(new StreamRecord<>(single.get(i)));
                }
                List<CaptionRecord> out = h.extractOutputValues();
                assertThat(h.getSideOutput(DeadLetters.TAG)).isNullOrEmpty();
                assertThat(out).hasSize(6);
                for (int i = 0; i < images.size(); i++) {
                    assertThat(out.get(i).caption).as("views of s%d", i).isEqualTo(offlineViews.get(i));
                    assertThat(out.get(i).batchSize).isEqualTo(3);
                    assertThat(out.get(3 + i).caption).as("single view of s%d", i).isEqualTo(offlineSingle.get(i));
                }
            }
        }
    }
}
