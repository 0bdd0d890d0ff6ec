package dev.glimpse.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * SmolVLM rows of different tile counts (hence image-token counts) and prompt lengths share one
 * batched forward: left padding, per-row positions and key masks make each row decode exactly as
 * it does alone, and the KV cache equals recomputing the whole sequence at every step.
 */
class SmolVlmBatchingTest {
    static final int STEPS = 8;

    /** A gradient with a few rectangles, so that every tile differs. */
    static RgbImage drawn(int w, int h, long seed) {
        Random rnd = new Random(seed);
        byte[] rgb = new byte[3 * w * h];
        int[][] boxes = new int[3][];
        for (int i = 0; i < boxes.length; i++) {
            boxes[i] = new int[] {rnd.nextInt(w), rnd.nextInt(h), 1 + rnd.nextInt(w / 2 + 1), 1 + rnd.nextInt(h / 2 + 1),
                rnd.nextInt(256), rnd.nextInt(256), rnd.nextInt(256)};
        }
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                int[] c = {255 * x / w, 255 * y / h, (x * y) % 256};
                for (int[] b : boxes) {
                    if (x >= b[0] && x < b[0] + b[2] && y >= b[1] && y < b[1] + b[3]) {
                        c = new int[] {b[4], b[5], b[6]};
                    }
                }
                for (int ch = 0; ch < 3; ch++) {
                    rgb[3 * (y * w + x) + ch] = (byte) c[ch];
                }
            }
        }
        return new RgbImage(w, h, rgb);
    }

    record Row(Idefics3ImageProcessor.Tiles tiles, long[] ids) {}

    static List<Row> rows(VisionLanguageModel model, List<RgbImage> images, List<String> prompts) {
        Idefics3ImageProcessor processor = new Idefics3ImageProcessor(model.config().idefics3);
        Idefics3Prompt prompt = new Idefics3Prompt(model.config().idefics3);
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < images.size(); i++) {
            Idefics3ImageProcessor.Tiles t = processor.process(images.get(i));
            String text = prompt.text(new int[][] {{t.rows(), t.cols()}}, prompts.get(i));
            rows.add(new Row(t, model.tokenizer().encodeAsProcessor(text)));
        }
        return rows;
    }

    static List<CaptionGenerator.Result> generate(VisionLanguageModel model, List<Row> rows, int[] caps,
                                                  CaptionGenerator.Options opt) {
        int s = model.config().vitImgSize;
        int total = rows.stream().mapToInt(r -> r.tiles().count()).sum();
        float[] flat = new float[total * 3 * s * s];
        int at = 0;
        int[] tiles = new int[rows.size()];
        List<long[]> ids = new ArrayList<>();
        for (int i = 0; i < rows.size(); i++) {
            float[] px = rows.get(i).tiles().pixels();
            System.arraycopy(px, 0, flat, at, px.length);
            at += px.length;
            tiles[i] = rows.get(i).tiles().count();
            ids.add(rows.get(i).ids());
        }
        try (NDScope ignored = new NDScope()) {
            NDArray patches = model.patchEmbedding().embed(model.manager().create(flat, new Shape(total, 3, s, s)));
            return new CaptionGenerator(model).generateMerged(patches, tiles, ids, caps, opt);
        }
    }

    static void assertSameLogits(List<float[]> got, List<float[]> want) {
        assertThat(got).hasSameSizeAs(want);
        for (int k = 0; k < want.size(); k++) {
            for (int v = 0; v < want.get(k).length; v++) {
                assertThat(got.get(k)[v]).as("step %d id %d", k, v).isCloseTo(want.get(k)[v], within(1e-4f));
            }
        }
    }

    @Test
    void shouldDecodeEachRowOfAMixedBatchExactlyAsAlone() throws Exception {
        try (VisionLanguageModel model = VisionLanguageModel.load(SmolVlmReferenceParityTest.golden())) {
            // Wide (2 x 3 tiles + global), square (3 x 3 + global), tall (3 x 1 + global); prompts of different lengths.
            List<RgbImage> images = List.of(drawn(64, 40, 1), drawn(40, 40, 2), drawn(30, 90, 3));
            List<Row> rows = rows(model, images, List.of("Can you describe this image?", "What is it?",
                    "Look at the picture. What colors are there, and which shape is the widest?"));
            assertThat(rows).extracting(r -> r.tiles().count()).containsExactly(7, 10, 4);
            assertThat(rows.stream().map(r -> r.ids().length).distinct()).hasSize(3);
            CaptionGenerator.Options keep = new CaptionGenerator.Options(true, false, true);
            int[] caps = {STEPS, STEPS, STEPS};
            List<CaptionGenerator.Result> batched = generate(model, rows, caps, keep);
            List<CaptionGenerator.Result> recomputed = generate(model, rows, caps, new CaptionGenerator.Options(false, false, true));
            for (int r = 0; r < rows.size(); r++) {
                CaptionGenerator.Result alone = generate(model, List.of(rows.get(r)), new int[] {STEPS}, keep).get(0);
                assertThat(batched.get(r).tokens()).as("row %d", r).hasSize(STEPS).containsExactly(alone.tokens());
                assertSameLogits(batched.get(r).stepLogits(), alone.stepLogits());
                assertThat(recomputed.get(r).tokens()).as("row %d without cache", r).containsExactly(alone.tokens());
                assertSameLogits(recomputed.get(r).stepLogits(), batched.get(r).stepLogits());
            }
        }
    }

    @Test
    void shouldTakeImageTokensFromEachImagesOwnArrayAFewTilesAtATimeAsFromAllTilesAtOnce() throws Exception {
        try (VisionLanguageModel model = VisionLanguageModel.load(SmolVlmReferenceParityTest.golden())) {
            ModelConfig c = model.config();
            int perTile = c.numPatches() * c.vitHiddenDim;
            List<RgbImage> images = List.of(drawn(64, 40, 1), drawn(40, 40, 2), drawn(30, 90, 3));
            List<Row> rows = rows(model, images, List.of("a", "b", "c"));
            Captioner captioner = new Captioner(model);
            List<float[]> patches = rows.stream().map(r -> captioner.patchEmbed(r.tiles().pixels())).toList();
            float[] flat = new float[patches.stream().mapToInt(p -> p.length).sum()];
            List<java.nio.FloatBuffer> buffers = new ArrayList<>();
            int at = 0;
            for (float[] p : patches) {
                System.arraycopy(p, 0, flat, at, p.length);
                // Each image read in place from an array holding more than it (one tile of another before it).
                float[] record = new float[perTile + p.length];
                System.arraycopy(p, 0, record, perTile, p.length);
                buffers.add(java.nio.FloatBuffer.wrap(record, perTile, p.length));
                at += p.length;
            }
            try (NDScope ignored = new NDScope()) {
                // 7 + 10 + 4 tiles: chunks of 4 cross the images' boundaries.
                float[] want = model.imageTokensInChunks(model.manager().create(flat,
                        new Shape(21, c.numPatches(), c.vitHiddenDim))).toFloatArray();
                NDArray got = model.imageTokensOfTiles(buffers);
                assertThat(got.getShape()).isEqualTo(new Shape(21, c.imageTokens(), c.lmHiddenDim));
                float[] g = got.toFloatArray();
                for (int i = 0; i < want.length; i++) {
                    assertThat(g[i]).as("value %d", i).isCloseTo(want[i], within(1e-5f));
                }
            }
            assertThat(buffers).as("the buffers are left unread").allSatisfy(b -> assertThat(b.position()).isEqualTo(perTile));
            int[][] grids = rows.stream().map(r -> new int[] {r.tiles().rows(), r.tiles().cols()}).toArray(int[][]::new);
            int[] caps = {STEPS, STEPS, STEPS};
            List<String> prompts = List.of("Describe it.", "What is it?", "Which shape is the widest?");
            try (NDScope ignored = new NDScope()) {
                List<Captioner.Caption> fromBuffers = captioner.captionTileBuffers(buffers, grids, prompts, caps);
                List<Captioner.Caption> fromPatches = captioner.captionTilePatches(model.manager().create(flat,
                        new Shape(21, c.numPatches(), c.vitHiddenDim)), grids, prompts, caps);
                assertThat(fromBuffers).isEqualTo(fromPatches);
            }
            assertThatThrownBy(() -> model.imageTokensOfTiles(List.of(java.nio.FloatBuffer.wrap(new float[perTile + 1]))))
                    .hasMessageContaining("not a whole number of");
        }
    }

    @Test
    void shouldStopAtEndOfUtterance() throws Exception {
        long[] free;
        try (VisionLanguageModel model = VisionLanguageModel.load(SmolVlmReferenceParityTest.golden())) {
            List<Row> rows = rows(model, List.of(drawn(64, 40, 1)), List.of("Can you describe this image?"));
            free = generate(model, rows, new int[] {STEPS}, new CaptionGenerator.Options(true, false, false)).get(0).tokens();
        }
        // A fresh copy to change: a model that has decoded holds its decoder's matrices as the kernel's
        // views, made in inference mode, which take no in-place update.
        try (VisionLanguageModel model = VisionLanguageModel.load(SmolVlmReferenceParityTest.golden())) {
            int eos = model.config().lmEosTokenId;
            assertThat(eos).isEqualTo(119);
            List<Row> rows = rows(model, List.of(drawn(64, 40, 1)), List.of("Can you describe this image?"));
            // Make <end_of_utterance> the model's choice wherever the fourth free-running token would be.
            NDArray head = model.weights().get("decoder.head.weight");
            head.set(new NDIndex(eos), head.get(new NDIndex(free[3])).mul(4));
            long[] unstopped = generate(model, rows, new int[] {STEPS}, new CaptionGenerator.Options(true, false, false)).get(0).tokens();
            int first = 0;
            while (first < unstopped.length && unstopped[first] != eos) {
                first++;
            }
            assertThat(first).as("<end_of_utterance> is chosen within the cap").isLessThan(STEPS);
            long[] stopped = generate(model, rows, new int[] {STEPS}, CaptionGenerator.Options.DEFAULT).get(0).tokens();
            assertThat(stopped).containsExactly(java.util.Arrays.copyOf(unstopped, first));
        }
    }
}
