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
import java.util.Map;
import java.util.stream.Collectors;
import org.apache.flink.streaming.api.operators.ProcessOperator;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.OneInputStreamOperatorTestHarness;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

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

    @ParameterizedTest
    @EnumSource(BatchingSettings.Mode.class)
    void shouldEmbedEveryViewAndCaptionFromAllOfThemAsTheOfflineCaptionerDoes(BatchingSettings.Mode mode) throws Exception {
        TestModels.writeTinyScenesModel(modelDir);
        SceneGenerator scenes = new SceneGenerator(5);
        List<DecodedImage> images = new ArrayList<>();
        List<DecodedImage> plainImages = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            images.add(decoded("s" + i, scenes.sample(i)));
            plainImages.add(decoded("p" + i, scenes.sample(i)));
        }
        List<EmbeddedImage> multi = embed(true, images);
        List<EmbeddedImage> single = embed(false, plainImages);

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
            List<Captioner.Caption> offlineViews = captioner.caption(views, pre.plan(), prompts, caps);
            List<String> offlineSingle = captioner.caption(pixels, prompts, caps).stream().map(Captioner.Caption::text).toList();
            int unsure = (int) offlineViews.stream().filter(c -> c.views() > 1).count();
            assertThat(unsure).as("random weights leave first looks unsure").isPositive();

            // One buffer holding both kinds: static batches decode each kind in its own forward, a
            // continuous batch decodes both together; nothing is dropped.
            BatchedCaptioner op = new BatchedCaptioner(modelDir.toString(),
                    new BatchingSettings(6, Duration.ofHours(1)).withMode(mode));
            try (var h = new OneInputStreamOperatorTestHarness<>(op)) {
                h.open();
                for (int i = 0; i < images.size(); i++) {
                    h.processElement(new StreamRecord<>(multi.get(i)));
                    h.processElement(new StreamRecord<>(single.get(i)));
                }
                if (mode == BatchingSettings.Mode.STATIC) {
                    // The full batch ran its first looks; the unsure images wait for one shared second look.
                    assertThat(h.extractOutputValues()).hasSize(6 - unsure);
                    assertThat(op.buffered()).isEqualTo(unsure);
                } else {
                    assertThat(HarnessMailbox.runAll(h)).as("decoding steps").isPositive();
                }
                h.prepareSnapshotPreBarrier(1);
                assertThat(op.buffered()).as("nothing held across a barrier").isZero();
                List<CaptionRecord> out = h.extractOutputValues();
                assertThat(h.getSideOutput(DeadLetters.TAG)).isNullOrEmpty();
                assertThat(out).hasSize(6);
                Map<String, CaptionRecord> byId = out.stream().collect(Collectors.toMap(c -> c.request.id, c -> c));
                for (int i = 0; i < images.size(); i++) {
                    CaptionRecord fromViews = byId.get("s" + i);
                    CaptionRecord fromOne = byId.get("p" + i);
                    assertThat(fromViews.caption).as("views of s%d", i).isEqualTo(offlineViews.get(i).text());
                    assertThat(fromViews.views).isEqualTo(offlineViews.get(i).views());
                    if (mode == BatchingSettings.Mode.STATIC) {
                        assertThat(fromViews.batchSize).isEqualTo(offlineViews.get(i).views() > 1 ? unsure : 3);
                    }
                    assertThat(fromOne.caption).as("single view of s%d", i).isEqualTo(offlineSingle.get(i));
                    assertThat(fromOne.views).isEqualTo(1);
                }
            }
        }
    }

    @ParameterizedTest
    @EnumSource(BatchingSettings.Mode.class)
    void shouldGiveUnsureImagesTheirSecondLookWhenEnoughWaitOrTheirDelayRunsOut(BatchingSettings.Mode mode) throws Exception {
        TestModels.writeTinyScenesModel(modelDir);
        SceneGenerator scenes = new SceneGenerator(6);
        List<DecodedImage> images = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            images.add(decoded("u" + i, scenes.sample(i)));
        }
        List<EmbeddedImage> embedded = embed(true, images);
        BatchedCaptioner op = new BatchedCaptioner(modelDir.toString(),
                new BatchingSettings(3, Duration.ofMillis(10), Duration.ofMillis(100), mode));
        try (var h = new OneInputStreamOperatorTestHarness<>(op)) {
            h.open();
            h.setProcessingTime(1_000);
            h.processElement(new StreamRecord<>(embedded.get(0)));
            h.setProcessingTime(1_010);
            HarnessMailbox.runAll(h);
            assertThat(h.extractOutputValues()).as("its first look left it unsure (random weights)").isEmpty();
            assertThat(op.buffered()).isEqualTo(1);
            h.setProcessingTime(1_099);
            HarnessMailbox.runAll(h);
            assertThat(op.buffered()).isEqualTo(1);
            h.setProcessingTime(1_100);
            HarnessMailbox.runAll(h);
            assertThat(op.buffered()).as("second look when maxUnsureDelay ran out").isZero();
            assertThat(h.extractOutputValues()).hasSize(1);

            // A full batch of first looks leaves three unsure images: a full batch of second looks, at once.
            h.setProcessingTime(2_000);
            for (int i = 1; i < 4; i++) {
                h.processElement(new StreamRecord<>(embedded.get(i)));
            }
            HarnessMailbox.runAll(h);
            assertThat(op.buffered()).isZero();
            assertThat(h.extractOutputValues()).hasSize(4).allSatisfy(c -> assertThat(c.views).isEqualTo(2));
            assertThat(h.getSideOutput(DeadLetters.TAG)).isNullOrEmpty();
        }
    }
}
