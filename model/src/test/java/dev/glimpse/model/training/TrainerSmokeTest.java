package dev.glimpse.model.training;

import static org.assertj.core.api.Assertions.assertThat;

import dev.glimpse.model.ModelConfig;
import dev.glimpse.model.VisionLanguageModel;
import java.io.PrintStream;
import java.io.ByteArrayOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TrainerSmokeTest {
    static ModelConfig tiny() {
        return dev.glimpse.model.TestModels.tinyScenesConfig();
    }

    @Test
    void shouldReduceLossWithinAFewStepsAndResume(@TempDir Path dir) throws Exception {
        ByteArrayOutputStream logBytes = new ByteArrayOutputStream();
        PrintStream log = new PrintStream(logBytes, true);
        TrainerOptions opt = new TrainerOptions(30, 16, 3e-3, 3e-4, 3, 0.01, 1.0, 7L, dir, false, 15, 5, 1);
        List<Double> losses = Trainer.train(opt, tiny(), log);
        System.out.print(logBytes);
        assertThat(losses).hasSize(6);
        assertThat(losses.get(losses.size() - 1)).isLessThan(losses.get(0) * 0.7);
        assertThat(dir.resolve(VisionLanguageModel.WEIGHTS)).exists();
        assertThat(Files.readString(dir.resolve(Trainer.TRAINER_STATE))).contains("\"step\" : 30");

        TrainerOptions more = new TrainerOptions(35, 16, 3e-3, 3e-4, 3, 0.01, 1.0, 7L, dir, true, 15, 5, 1);
        List<Double> resumed = Trainer.train(more, tiny(), log);
        assertThat(logBytes.toString()).contains("resumed from step 30");
        assertThat(resumed).hasSize(1);
        assertThat(resumed.get(0)).isLessThan(losses.get(0));
    }

    @Test
    void shouldWarmStartADeeperDecoderThatFirstComputesWhatTheSourceDid(@TempDir Path dir) throws Exception {
        Path source = dir.resolve("source");
        ScenesModel.writeRandom(source, tiny(), 11L);
        int blocks;
        try (VisionLanguageModel m = VisionLanguageModel.load(source);
             VisionLanguageModel g = grow(m, source, m.config().lmNBlocks + 2, 0, 0)) {
            blocks = g.config().lmNBlocks;
            assertThat(blocks).isEqualTo(m.config().lmNBlocks + 2);
            assertThat(g.weights().parameterCount()).isGreaterThan(m.weights().parameterCount());
            assertSameLogits(m, g);
        }

        Path out = dir.resolve("grown");
        TrainerOptions opt = new TrainerOptions(20, 16, 3e-3, 3e-4, 3, 0.01, 1.0, 7L, out, false, 20, 5, 1,
                source, blocks, new double[] {1, 2, 3}, 0.5, 0, 0);
        assertThat(trainAndCheckLossFalls(opt)).contains("warm start from");
        try (VisionLanguageModel trained = VisionLanguageModel.load(out)) {
            assertThat(trained.config().lmNBlocks).isEqualTo(blocks);
            // The appended blocks have left the identity: their output projections trained.
            assertThat(trained.weights().get("decoder.blocks." + (blocks - 1) + ".attn.out_proj.weight")
                    .abs().sum().getFloat()).isGreaterThan(0f);
        }
    }

    @Test
    void shouldWarmStartADeeperVisionEncoderThatFirstComputesWhatTheSourceDidAndTrainIt(@TempDir Path dir)
            throws Exception {
        Path source = dir.resolve("source");
        ScenesModel.writeRandom(source, tiny(), 11L);
        int vitBlocks;
        try (VisionLanguageModel m = VisionLanguageModel.load(source);
             VisionLanguageModel g = grow(m, source, 0, m.config().vitNBlocks + 2, 0)) {
            vitBlocks = g.config().vitNBlocks;
            assertThat(vitBlocks).isEqualTo(m.config().vitNBlocks + 2);
            assertThat(g.config().lmNBlocks).isEqualTo(m.config().lmNBlocks);
            // Every source tensor is copied as it was; the new blocks' LayerNorm and input weights are not zero.
            for (String name : m.weights().all().keySet()) {
                assertThat(g.weights().get(name).toFloatArray()).as(name).containsExactly(m.weights().get(name).toFloatArray());
            }
            assertThat(g.weights().get("vision_encoder.blocks." + (vitBlocks - 1) + ".attn.qkv_proj.weight")
                    .abs().sum().getFloat()).isGreaterThan(0f);
            assertSameLogits(m, g);
        }

        Path out = dir.resolve("deeper-vision");
        TrainerOptions opt = new TrainerOptions(20, 16, 3e-3, 3e-4, 3, 0.01, 1.0, 7L, out, false, 20, 5, 1,
                source, 0, null, 0, 0, vitBlocks);
        assertThat(trainAndCheckLossFalls(opt)).contains("1 vision blocks, now 3");
        try (VisionLanguageModel trained = VisionLanguageModel.load(out)) {
            assertThat(trained.config().vitNBlocks).isEqualTo(vitBlocks);
            assertThat(trained.weights().get("vision_encoder.blocks." + (vitBlocks - 1) + ".mlp.fc2.weight")
                    .abs().sum().getFloat()).isGreaterThan(0f);
        }
    }

    @Test
    void shouldWarmStartALargerInputWithInterpolatedPositionsAndTrainIt(@TempDir Path dir) throws Exception {
        Path source = dir.resolve("source");
        ScenesModel.writeRandom(source, tiny(), 11L);
        try (VisionLanguageModel m = VisionLanguageModel.load(source);
             VisionLanguageModel g = grow(m, source, 0, 0, 48)) {
            assertThat(g.config().vitImgSize).isEqualTo(48);
            assertThat(g.config().imageTokens()).isEqualTo(9); // 6 x 6 patches, pixel shuffle 2
            for (String name : m.weights().all().keySet()) {
                if (name.equals(dev.glimpse.model.Weights.POSITION_EMBEDDING)) {
                    assertThat(g.weights().get(name).getShape()).isEqualTo(new ai.djl.ndarray.types.Shape(1, 36, 32));
                } else {
                    assertThat(g.weights().get(name).toFloatArray()).as(name).containsExactly(m.weights().get(name).toFloatArray());
                }
            }
            // The corners of the new grid take the corners of the old one (edges clamp).
            float[] before = m.weights().get(dev.glimpse.model.Weights.POSITION_EMBEDDING).toFloatArray();
            float[] after = g.weights().get(dev.glimpse.model.Weights.POSITION_EMBEDDING).toFloatArray();
            assertThat(java.util.Arrays.copyOfRange(after, 0, 32)).containsExactly(java.util.Arrays.copyOfRange(before, 0, 32));
            assertThat(java.util.Arrays.copyOfRange(after, 35 * 32, 36 * 32))
                    .containsExactly(java.util.Arrays.copyOfRange(before, 15 * 32, 16 * 32));
            assertThat(logits(g)).hasSize(2 * 3 * m.config().lmVocabSize);
        }

        Path out = dir.resolve("larger");
        TrainerOptions opt = new TrainerOptions(20, 16, 3e-3, 3e-4, 3, 0.01, 1.0, 7L, out, false, 20, 5, 1,
                source, 0, null, 0, 48, 0);
        assertThat(trainAndCheckLossFalls(opt)).contains("32 px input, now 48");
        try (VisionLanguageModel trained = VisionLanguageModel.load(out)) {
            assertThat(trained.config().vitImgSize).isEqualTo(48);
        }
    }

    @Test
    void shouldResizePositionsBilinearlyWithCentresAlignedAndKeepThemAtTheSameSize() {
        int g = 4;
        int dim = 2;
        float[] ramp = new float[g * g * dim];
        for (int r = 0; r < g; r++) {
            for (int c = 0; c < g; c++) {
                ramp[(r * g + c) * dim] = r;
                ramp[(r * g + c) * dim + 1] = 10 * c;
            }
        }
        assertThat(ScenesModel.resizePositions(ramp, g, g, dim)).containsExactly(ramp);
        int n = 6;
        float[] up = ScenesModel.resizePositions(ramp, g, n, dim);
        for (int r = 0; r < n; r++) {
            for (int c = 0; c < n; c++) {
                // A linear field stays linear; source coordinates (i + 0.5) * g / n - 0.5, clamped to the grid.
                double y = Math.min(Math.max((r + 0.5) * g / n - 0.5, 0), g - 1);
                double x = Math.min(Math.max((c + 0.5) * g / n - 0.5, 0), g - 1);
                assertThat(up[(r * n + c) * dim]).isCloseTo((float) y, org.assertj.core.data.Offset.offset(1e-5f));
                assertThat(up[(r * n + c) * dim + 1]).isCloseTo((float) (10 * x), org.assertj.core.data.Offset.offset(1e-4f));
            }
        }
    }

    /** {@link ScenesModel#grown} of {@code m}, loaded from {@code source}, with that folder's tokenizer. */
    private static VisionLanguageModel grow(VisionLanguageModel m, Path source, int lmBlocks, int vitBlocks,
                                            int imageSize) throws java.io.IOException {
        return ScenesModel.grown(m, dev.glimpse.model.CaptionTokenizer.load(
                source.resolve(VisionLanguageModel.TOKENIZER), m.config()), lmBlocks, vitBlocks, imageSize, 5L);
    }

    /** The grown model {@code g} computes what its source {@code m} does, to within 1e-5 per logit. */
    private static void assertSameLogits(VisionLanguageModel m, VisionLanguageModel g) {
        float[] before = logits(m);
        float[] after = logits(g);
        assertThat(after).hasSameSizeAs(before);
        for (int i = 0; i < before.length; i++) {
            assertThat(after[i]).isCloseTo(before[i], org.assertj.core.data.Offset.offset(1e-5f));
        }
    }

    /** Trains with {@code opt}, requires the last logged loss below the first, and returns the log. */
    private static String trainAndCheckLossFalls(TrainerOptions opt) throws Exception {
        ByteArrayOutputStream logBytes = new ByteArrayOutputStream();
        List<Double> losses = Trainer.train(opt, tiny(), new PrintStream(logBytes, true));
        assertThat(losses.get(losses.size() - 1)).isLessThan(losses.get(0));
        return logBytes.toString();
    }

    private static float[] logits(VisionLanguageModel m) {
        int s = m.config().vitImgSize;
        ai.djl.ndarray.NDManager nd = m.manager();
        java.util.Random rnd = new java.util.Random(3);
        float[] px = new float[2 * 3 * s * s];
        for (int i = 0; i < px.length; i++) {
            px[i] = (float) rnd.nextGaussian();
        }
        try (ai.djl.ndarray.NDManager scope = nd.newSubManager()) {
            ai.djl.ndarray.NDArray pixels = scope.create(px, new ai.djl.ndarray.types.Shape(2, 3, s, s));
            ai.djl.ndarray.NDArray ids = scope.create(new long[] {4, 5, 6, 7, 8, 9}, new ai.djl.ndarray.types.Shape(2, 3));
            return m.textLogits(pixels, ids).toFloatArray();
        }
    }
}
