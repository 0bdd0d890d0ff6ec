package dev.glimpse.model;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Rows whose images differ in size (so in image tokens and M-RoPE positions) and whose prompts differ
 * in length share one batched forward, statically or joining a running batch, and each row's caption
 * is the one it gets alone; the KV cache gives the logits a full recomputation gives.
 */
class Qwen2VlBatchingTest {
    private static Qwen2VlModel model;
    private static List<Qwen2VlModel.Prepared> rows;
    private static final int CAP = 12;

    @BeforeAll
    static void load() throws Exception {
        model = Qwen2VlModel.load(Qwen2VlPromptTest.golden());
        rows = List.of(
                model.prepare(image(160, 96, 1), "Describe this image."), // wide: 8 image tokens
                model.prepare(image(45, 70, 2), "What is in the picture, in a few words?"), // tall: 4
                model.prepare(image(100, 100, 3), null)); // square, scaled down to max_pixels: 9
    }

    @AfterAll
    static void close() {
        model.close();
    }

    /** A picture with a gradient and noise, so that each image's tokens differ. */
    static RgbImage image(int width, int height, long seed) {
        Random rnd = new Random(seed);
        byte[] rgb = new byte[3 * width * height];
        for (int y = 0; y < height; y++) {
            for (int x = 0; x < width; x++) {
                int i = 3 * (y * width + x);
                rgb[i] = (byte) (255 * x / width);
                rgb[i + 1] = (byte) (255 * y / height);
                rgb[i + 2] = (byte) rnd.nextInt(256);
            }
        }
        return new RgbImage(width, height, rgb);
    }

    @Test
    void shouldGiveEachRowOfThreeAspectRatiosInOneBatchItsCaptionAlone() {
        assertThat(rows).extracting(r -> r.images().get(0).mergedTokens(2)).containsExactly(8, 4, 9);
        assertThat(rows).extracting(r -> r.ids().length).doesNotHaveDuplicates();
        List<Qwen2VlModel.Result> together = model.generate(rows, new int[] {CAP, CAP, CAP}, true);
        for (int r = 0; r < rows.size(); r++) {
            Qwen2VlModel.Result alone = model.generate(List.of(rows.get(r)), new int[] {CAP}, true).get(0);
            assertThat(together.get(r).tokens()).as("row " + r).containsExactly(alone.tokens());
            assertThat(maxDiff(together.get(r).stepLogits(), alone.stepLogits())).as("row " + r).isLessThan(1e-4);
        }
        assertThat(together).extracting(t -> t.tokens().length).anySatisfy(n -> assertThat(n).isGreaterThanOrEqualTo(5));
    }

    @Test
    void shouldGiveEachRowItsCaptionAloneWhenRowsJoinAndLeaveARunningBatch() {
        List<Qwen2VlModel.Result> alone = new ArrayList<>();
        for (Qwen2VlModel.Prepared row : rows) {
            alone.add(model.generate(List.of(row), new int[] {CAP}, true).get(0));
        }
        Qwen2VlModel.Result[] got = new Qwen2VlModel.Result[3];
        try (Qwen2VlDecodingBatch<Integer> batch = new Qwen2VlDecodingBatch<>(model, true)) {
            batch.join(List.of(0), List.of(rows.get(0)), new int[] {CAP});
            for (int s = 0; s < 3; s++) {
                collect(batch.step(), got);
            }
            batch.join(List.of(1, 2), rows.subList(1, 3), new int[] {CAP, 3}); // row 2 leaves after 3 tokens
            while (!batch.isEmpty()) {
                collect(batch.step(), got);
            }
        }
        for (int r = 0; r < 2; r++) {
            assertThat(got[r].tokens()).as("row " + r).containsExactly(alone.get(r).tokens());
            assertThat(maxDiff(got[r].stepLogits(), alone.get(r).stepLogits())).as("row " + r).isLessThan(1e-4);
        }
        long[] first3 = java.util.Arrays.copyOf(alone.get(2).tokens(), Math.min(3, alone.get(2).tokens().length));
        assertThat(got[2].tokens()).containsExactly(first3);
    }

    @Test
    void shouldGiveWithTheKvCacheTheLogitsOfAFullRecomputation() {
        for (Qwen2VlModel.Prepared row : rows) {
            Qwen2VlModel.Result cached = model.generate(List.of(row), new int[] {CAP}, true).get(0);
            for (int k = 0; k < cached.stepLogits().size(); k++) {
                long[] ids = java.util.Arrays.copyOf(row.ids(), row.ids().length + k);
                System.arraycopy(cached.tokens(), 0, ids, row.ids().length, k);
                float[] recomputed = lastLogitsWithoutCache(new Qwen2VlModel.Prepared(row.images(), ids));
                assertThat(maxDiff(List.of(cached.stepLogits().get(k)), List.of(recomputed))).as("step " + k).isLessThan(1e-4);
            }
        }
    }

    private static float[] lastLogitsWithoutCache(Qwen2VlModel.Prepared row) {
        return lastLogitsWithoutCache(model, row);
    }

    /** The last position's logits of {@code row} by one forward without a cache, as the reference decodes. */
    static float[] lastLogitsWithoutCache(Qwen2VlModel model, Qwen2VlModel.Prepared row) {
        try (NDManager m = model.manager().newSubManager()) {
            MRopePositions positions = MRopePositions.of(row.ids(), row.grids(), model.config().imageTokenId(), 2);
            NDArray embeds = model.inputsEmbeds(m, List.of(row), model.imageTokens(m, List.of(row)));
            NDArray hidden = model.decoder().forward(embeds, model.decoder().rotary(m, new long[][][] {positions.ids()}),
                    TextDecoder.causalMask(m, row.ids().length), null, null);
            return model.decoder().logits(hidden.get(new NDIndex(":, -1, :"))).toFloatArray();
        }
    }

    private static void collect(List<Qwen2VlDecodingBatch.Done<Integer>> done, Qwen2VlModel.Result[] into) {
        done.forEach(d -> into[d.tag()] = d.result());
    }

    static double maxDiff(List<float[]> a, List<float[]> b) {
        assertThat(a).hasSameSizeAs(b);
        double max = 0;
        for (int i = 0; i < a.size(); i++) {
            for (int j = 0; j < a.get(i).length; j++) {
                max = Math.max(max, Math.abs(a.get(i)[j] - b.get(i)[j]));
            }
        }
        return max;
    }
}
