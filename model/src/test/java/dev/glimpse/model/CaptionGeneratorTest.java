package dev.glimpse.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.Shape;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Generation on nanoVLM's tiny reference model, whose random weights give clear greedy margins. */
class CaptionGeneratorTest {
    static VisionLanguageModel model;

    @BeforeAll
    static void load() throws Exception {
        model = VisionLanguageModel.load(ReferenceParityTest.golden());
    }

    @AfterAll
    static void close() {
        model.close();
    }

    static float[] randomPixels(Random rnd, int n) {
        float[] p = new float[n];
        for (int i = 0; i < n; i++) {
            p[i] = rnd.nextFloat();
        }
        return p;
    }

    static long[] randomPrompt(Random rnd, int length) {
        long[] ids = new long[length];
        for (int i = 0; i < length; i++) {
            ids[i] = 1 + rnd.nextInt(96);
        }
        return ids;
    }

    List<CaptionGenerator.Result> run(List<float[]> images, List<long[]> prompts, int[] caps, CaptionGenerator.Options opt) {
        return runViews(images, 1, prompts, caps, opt);
    }

    /** Decodes {@code images.size() / views} images, each from its {@code views} consecutive entries of {@code images}. */
    List<CaptionGenerator.Result> runViews(List<float[]> images, int views, List<long[]> prompts, int[] caps,
                                           CaptionGenerator.Options opt) {
        ModelConfig c = model.config();
        int s = c.vitImgSize;
        float[] flat = new float[images.size() * 3 * s * s];
        for (int i = 0; i < images.size(); i++) {
            System.arraycopy(images.get(i), 0, flat, i * 3 * s * s, 3 * s * s);
        }
        try (NDScope ignored = new NDScope()) {
            NDArray pixels = model.manager().create(flat, new Shape(images.size(), 3, s, s));
            return new CaptionGenerator(model).generate(model.patchEmbedding().embed(pixels), views, prompts, caps, opt);
        }
    }

    static float[] logSoftmax(float[] logits) {
        double max = Double.NEGATIVE_INFINITY;
        for (float l : logits) {
            max = Math.max(max, l);
        }
        double sum = 0;
        for (float l : logits) {
            sum += Math.exp(l - max);
        }
        float[] out = new float[logits.length];
        for (int i = 0; i < logits.length; i++) {
            out[i] = (float) (logits[i] - max - Math.log(sum));
        }
        return out;
    }

    @Test
    void shouldDecodeTwoIdenticalViewsOfEachImageAsTheImageAlone() {
        Random rnd = new Random(4);
        int[] lengths = {2, 9, 5};
        int[] caps = {10, 3, 0};
        List<float[]> images = new ArrayList<>();
        List<float[]> doubled = new ArrayList<>();
        List<long[]> prompts = new ArrayList<>();
        for (int len : lengths) {
            float[] image = randomPixels(rnd, 3 * 32 * 32);
            images.add(image);
            doubled.add(image);
            doubled.add(image);
            prompts.add(randomPrompt(rnd, len));
        }
        var opt = new CaptionGenerator.Options(true, true, true);
        var one = run(images, prompts, caps, opt);
        var two = runViews(doubled, 2, prompts, caps, opt);
        for (int r = 0; r < lengths.length; r++) {
            assertThat(two.get(r).tokens()).as("image %d", r).containsExactly(one.get(r).tokens());
            assertThat(two.get(r).stepLogits()).hasSameSizeAs(one.get(r).stepLogits());
            for (int step = 0; step < one.get(r).stepLogits().size(); step++) {
                // The mean of two equal log-probability rows is that row.
                float[] want = logSoftmax(one.get(r).stepLogits().get(step));
                float[] got = two.get(r).stepLogits().get(step);
                for (int v = 0; v < want.length; v++) {
                    assertThat(got[v]).isCloseTo(want[v], within(1e-4f));
                }
            }
        }
        assertThat(two.get(2).tokens()).isEmpty();
        for (int r = 0; r < 2; r++) {
            // Confidence: the least probable chosen token, read off the kept logits.
            double least = 1;
            for (float[] l : one.get(r).stepLogits()) {
                float[] lp = logSoftmax(l);
                float best = Float.NEGATIVE_INFINITY;
                for (float v : lp) {
                    best = Math.max(best, v);
                }
                least = Math.min(least, Math.exp(best));
            }
            assertThat(one.get(r).confidence()).isCloseTo(least, within(1e-5)).isLessThan(1.0);
            assertThat(two.get(r).confidence()).isCloseTo(least, within(1e-4));
        }
        assertThat(two.get(2).confidence()).as("no token, nothing to doubt").isEqualTo(1.0);
    }

    @Test
    void shouldChooseEachTokenByTheMeanLogProbabilityOfTheViews() {
        Random rnd = new Random(5);
        float[] a = randomPixels(rnd, 3 * 32 * 32);
        float[] b = randomPixels(rnd, 3 * 32 * 32);
        long[] prompt = randomPrompt(rnd, 6);
        var opt = new CaptionGenerator.Options(true, false, true);
        float[] alone = run(List.of(a), List.of(prompt), new int[] {1}, opt).get(0).stepLogits().get(0);
        float[] other = run(List.of(b), List.of(prompt), new int[] {1}, opt).get(0).stepLogits().get(0);
        var both = runViews(List.of(a, b), 2, List.of(prompt), new int[] {8}, opt).get(0);
        float[] la = logSoftmax(alone);
        float[] lb = logSoftmax(other);
        float[] first = both.stepLogits().get(0);
        int best = 0;
        for (int v = 0; v < la.length; v++) {
            assertThat(first[v]).isCloseTo((la[v] + lb[v]) / 2, within(1e-4f));
            best = first[v] > first[best] ? v : best;
        }
        assertThat(both.tokens()).hasSize(8);
        assertThat(both.tokens()[0]).isEqualTo(best);
        // Every view reads the chosen tokens: with the cache or recomputing everything, the same steps.
        var full = runViews(List.of(a, b), 2, List.of(prompt), new int[] {8}, new CaptionGenerator.Options(false, false, true)).get(0);
        assertThat(full.tokens()).containsExactly(both.tokens());
        for (int step = 0; step < 8; step++) {
            for (int v = 0; v < la.length; v++) {
                assertThat(full.stepLogits().get(step)[v]).isCloseTo(both.stepLogits().get(step)[v], within(1e-4f));
            }
        }
    }

    @Test
    void shouldRefuseRowsThatAreNotAWholeNumberOfViewsPerImage() {
        Random rnd = new Random(6);
        List<float[]> three = List.of(randomPixels(rnd, 3 * 32 * 32), randomPixels(rnd, 3 * 32 * 32),
                randomPixels(rnd, 3 * 32 * 32));
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> runViews(three, 2,
                        List.of(randomPrompt(rnd, 2), randomPrompt(rnd, 2)), new int[] {4, 4}, CaptionGenerator.Options.DEFAULT))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("2 view(s) each");
    }

    @Test
    void shouldDecodeWithKvCacheExactlyAsFullRecomputation() {
        Random rnd = new Random(1);
        List<float[]> images = List.of(randomPixels(rnd, 3 * 32 * 32), randomPixels(rnd, 3 * 32 * 32));
        List<long[]> prompts = List.of(randomPrompt(rnd, 5), randomPrompt(rnd, 5));
        int[] caps = {12, 12};
        var cached = run(images, prompts, caps, new CaptionGenerator.Options(true, false, true));
        var full = run(images, prompts, caps, new CaptionGenerator.Options(false, false, true));
        for (int r = 0; r < 2; r++) {
            assertThat(cached.get(r).tokens()).hasSize(12).containsExactly(full.get(r).tokens());
            for (int step = 0; step < 12; step++) {
                float[] a = cached.get(r).stepLogits().get(step);
                float[] b = full.get(r).stepLogits().get(step);
                for (int v = 0; v < a.length; v++) {
                    assertThat(a[v]).isCloseTo(b[v], within(1e-4f));
                }
            }
        }
    }

    @Test
    void shouldCaptionEachRowOfAMixedBatchAsItWouldAlone() {
        Random rnd = new Random(2);
        List<float[]> images = new ArrayList<>();
        List<long[]> prompts = new ArrayList<>();
        int[] lengths = {1, 7, 3, 12, 5};
        int[] caps = {10, 4, 10, 7, 0};
        for (int len : lengths) {
            images.add(randomPixels(rnd, 3 * 32 * 32));
            prompts.add(randomPrompt(rnd, len));
        }
        var batched = run(images, prompts, caps, new CaptionGenerator.Options(true, true, true));
        for (int r = 0; r < lengths.length; r++) {
            var alone = run(List.of(images.get(r)), List.of(prompts.get(r)), new int[] {caps[r]},
                    new CaptionGenerator.Options(true, true, true));
            assertThat(batched.get(r).tokens()).as("row %d", r).containsExactly(alone.get(0).tokens());
            assertThat(batched.get(r).tokens().length).isLessThanOrEqualTo(caps[r]);
            for (int step = 0; step < alone.get(0).stepLogits().size(); step++) {
                float[] a = batched.get(r).stepLogits().get(step);
                float[] b = alone.get(0).stepLogits().get(step);
                for (int v = 0; v < a.length; v++) {
                    assertThat(a[v]).isCloseTo(b[v], within(1e-4f));
                }
            }
        }
        assertThat(batched.get(4).tokens()).isEmpty();
    }

    @Test
    void shouldStopAtTheStopTokenAndHonourTheCap() {
        Random rnd = new Random(3);
        List<float[]> images = List.of(randomPixels(rnd, 3 * 32 * 32));
        List<long[]> prompts = List.of(randomPrompt(rnd, 4));
        var free = run(images, prompts, new int[] {40}, new CaptionGenerator.Options(true, false, false));
        int eos = model.config().lmEosTokenId;
        int firstEos = -1;
        long[] t = free.get(0).tokens();
        for (int i = 0; i < t.length; i++) {
            if (t[i] == eos) {
                firstEos = i;
                break;
            }
        }
        var stopping = run(images, prompts, new int[] {40}, CaptionGenerator.Options.DEFAULT);
        if (firstEos >= 0) {
            assertThat(stopping.get(0).tokens()).hasSize(firstEos);
        } else {
            assertThat(stopping.get(0).tokens()).hasSize(40);
        }
        var capped = run(images, prompts, new int[] {3}, new CaptionGenerator.Options(true, false, false));
        assertThat(capped.get(0).tokens()).hasSize(3).containsExactly(java.util.Arrays.copyOf(t, 3));
    }

    @Test
    void shouldGiveIdenticalOutputsAfterSaveAndLoad(@TempDir Path dir) throws Exception {
        model.save(dir);
        Random rnd = new Random(4);
        List<float[]> images = List.of(randomPixels(rnd, 3 * 32 * 32));
        List<long[]> prompts = List.of(randomPrompt(rnd, 6));
        var before = run(images, prompts, new int[] {8}, new CaptionGenerator.Options(true, false, true));
        VisionLanguageModel original = model;
        try (VisionLanguageModel reloaded = VisionLanguageModel.load(dir)) {
            model = reloaded;
            var after = run(images, prompts, new int[] {8}, new CaptionGenerator.Options(true, false, true));
            assertThat(after.get(0).tokens()).containsExactly(before.get(0).tokens());
            for (int step = 0; step < 8; step++) {
                assertThat(after.get(0).stepLogits().get(step)).containsExactly(before.get(0).stepLogits().get(step));
            }
        } finally {
            model = original;
        }
    }
}
