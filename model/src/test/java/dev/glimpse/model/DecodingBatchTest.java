package dev.glimpse.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.jni.JniUtils;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Continuous batching on nanoVLM's tiny reference model: rows join a running batch and leave it. */
class DecodingBatchTest {
    static VisionLanguageModel model;
    static final CaptionGenerator.Options KEEP_LOGITS = new CaptionGenerator.Options(true, true, true);

    @BeforeAll
    static void load() throws Exception {
        model = VisionLanguageModel.load(ReferenceParityTest.golden());
    }

    @AfterAll
    static void close() {
        model.close();
    }

    /** Patch embeddings of {@code images} ({@code [n, N, D_vit]}) on {@code m}. */
    static NDArray patches(NDManager m, List<float[]> images) {
        int s = model.config().vitImgSize;
        float[] flat = new float[images.size() * 3 * s * s];
        for (int i = 0; i < images.size(); i++) {
            System.arraycopy(images.get(i), 0, flat, i * 3 * s * s, 3 * s * s);
        }
        return model.patchEmbedding().embed(m.create(flat, new Shape(images.size(), 3, s, s)));
    }

    /** One image decoded alone, in a batch of its own. */
    static CaptionGenerator.Result alone(float[] image, long[] prompt, int cap) {
        try (NDManager m = model.manager().newSubManager()) {
            return new CaptionGenerator(model).generate(patches(m, List.of(image)), List.of(prompt), new int[] {cap},
                    KEEP_LOGITS).get(0);
        }
    }

    @Test
    void shouldDecodeRowsThatJoinMidBatchExactlyAsEachAlone() {
        Random rnd = new Random(11);
        int n = 7;
        int[] caps = {9, 2, 6, 4, 1, 8, 3};
        List<float[]> images = new ArrayList<>();
        List<long[]> prompts = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            images.add(CaptionGeneratorTest.randomPixels(rnd, 3 * 32 * 32));
            prompts.add(CaptionGeneratorTest.randomPrompt(rnd, 1 + rnd.nextInt(9)));
        }
        Map<Integer, CaptionGenerator.Result> results = new HashMap<>();
        List<Integer> joinedWhileOthersDecoded = new ArrayList<>();
        // Three slots for seven images: each freed slot is taken at the next step by the next image.
        try (NDManager m = model.manager().newSubManager();
             DecodingBatch<Integer> batch = new DecodingBatch<>(model, 3,
                     DecodingBatch.columnsFor(model.config(), 9, 9), KEEP_LOGITS)) {
            int next = 0;
            while (next < n || !batch.isEmpty()) {
                while (next < n && batch.freeRows() > 0) {
                    if (batch.counts().steps() > 0 && batch.decodingImages() > 0) {
                        joinedWhileOthersDecoded.add(next);
                    }
                    batch.join(List.of(next), patches(m, List.of(images.get(next))), 1, List.of(prompts.get(next)),
                            new int[] {caps[next]});
                    next++;
                }
                for (DecodingBatch.Done<Integer> d : batch.step()) {
                    results.put(d.tag(), d.result());
                }
            }
        }
        assertThat(joinedWhileOthersDecoded).hasSizeGreaterThanOrEqualTo(4);
        for (int i = 0; i < n; i++) {
            CaptionGenerator.Result a = alone(images.get(i), prompts.get(i), caps[i]);
            CaptionGenerator.Result b = results.get(i);
            assertThat(b.tokens()).as("image %d", i).containsExactly(a.tokens());
            assertThat(b.tokens().length).isLessThanOrEqualTo(caps[i]);
            assertThat(b.confidence()).isCloseTo(a.confidence(), org.assertj.core.api.Assertions.within(1e-4));
            for (int t = 0; t < a.stepLogits().size(); t++) {
                float[] x = a.stepLogits().get(t);
                float[] y = b.stepLogits().get(t);
                for (int k = 0; k < x.length; k++) {
                    assertThat(y[k]).isCloseTo(x[k], org.assertj.core.api.Assertions.within(1e-3f));
                }
            }
        }
    }

    @Test
    void shouldFreeEveryStepsTemporariesAtTheStepAndLeaveNothingBehind() {
        Random rnd = new Random(3);
        List<float[]> images = List.of(CaptionGeneratorTest.randomPixels(rnd, 3 * 32 * 32),
                CaptionGeneratorTest.randomPixels(rnd, 3 * 32 * 32));
        List<long[]> prompts = List.of(CaptionGeneratorTest.randomPrompt(rnd, 4), CaptionGeneratorTest.randomPrompt(rnd, 6));
        int before = model.manager().getManagedArrays().size();
        List<Integer> liveDuringDecoding = new ArrayList<>();
        try (NDManager m = model.manager().newSubManager()) {
            NDArray p = patches(m, images);
            int withInputs = model.manager().getManagedArrays().size();
            assertThat(withInputs).isGreaterThan(before); // the count reaches into sub-managers
            try (DecodingBatch<Integer> batch = new DecodingBatch<>(model, 2,
                    DecodingBatch.columnsFor(model.config(), 6, 12), new CaptionGenerator.Options(true, false, false))) {
                batch.join(List.of(0, 1), p, 1, prompts, new int[] {12, 12});
                while (!batch.isEmpty()) {
                    batch.step();
                    liveDuringDecoding.add(model.manager().getManagedArrays().size());
                }
                assertThat(batch.counts().tokens()).isEqualTo(24);
                assertThat(batch.counts().hostTransfers() / (double) batch.counts().steps()).isLessThan(3);
            }
            assertThat(model.manager().getManagedArrays().size()).isEqualTo(withInputs);
            // No step's arrays outlive it: between steps the count stays the same (the layout's few arrays
            // are rebuilt only when rows leave, here at the last step).
            assertThat(liveDuringDecoding.subList(0, liveDuringDecoding.size() - 1)).containsOnly(liveDuringDecoding.get(0));
        }
        assertThat(model.manager().getManagedArrays().size()).isEqualTo(before);
        // Inference records no autograd graph: grad mode is off and no weight asks for gradients.
        assertThat(JniUtils.isGradMode()).isFalse();
        assertThat(model.weights().all().values()).noneMatch(NDArray::hasGradient);
    }

    @Test
    void shouldPrefillALargeJoinInGroupsExactlyAsInOneForward() {
        Random rnd = new Random(17);
        int n = 5;
        List<float[]> images = new ArrayList<>();
        List<long[]> prompts = new ArrayList<>();
        int[] caps = new int[n];
        for (int i = 0; i < n; i++) {
            images.add(CaptionGeneratorTest.randomPixels(rnd, 3 * 32 * 32));
            prompts.add(CaptionGeneratorTest.randomPrompt(rnd, 1 + rnd.nextInt(7)));
            caps[i] = 2 + rnd.nextInt(5);
        }
        ModelConfig c = model.config();
        int prefill = c.imageTokens() + 7;
        long perImage = (long) c.lmNHeads * prefill * prefill * Float.BYTES;
        List<Integer> tags = List.of(0, 1, 2, 3, 4);
        // One image's scores per forward (five groups), two images' (three groups), all five at once.
        CaptionGenerator.Options noStop = new CaptionGenerator.Options(true, false, true);
        List<Map<Integer, CaptionGenerator.Result>> runs = new ArrayList<>();
        List<Long> transfers = new ArrayList<>();
        for (long budget : new long[] {perImage, 2 * perImage + 1, Long.MAX_VALUE}) {
            Map<Integer, CaptionGenerator.Result> results = new HashMap<>();
            try (NDManager m = model.manager().newSubManager();
                 DecodingBatch<Integer> batch = new DecodingBatch<>(model, n, DecodingBatch.columnsFor(c, 7, 6),
                         noStop, budget)) {
                batch.join(tags, patches(m, images), 1, prompts, caps);
                while (!batch.isEmpty()) {
                    for (DecodingBatch.Done<Integer> d : batch.step()) {
                        results.put(d.tag(), d.result());
                    }
                }
                transfers.add(batch.counts().hostTransfers());
            }
            runs.add(results);
        }
        // Each group sends its slots, positions and causal mask: 4 and 2 groups more than one forward.
        assertThat(transfers.get(0) - transfers.get(2)).isEqualTo(12);
        assertThat(transfers.get(1) - transfers.get(2)).isEqualTo(6);
        for (int i = 0; i < n; i++) {
            CaptionGenerator.Result whole = runs.get(2).get(i);
            assertThat(whole.tokens()).hasSize(caps[i]);
            for (Map<Integer, CaptionGenerator.Result> grouped : runs.subList(0, 2)) {
                assertThat(grouped.get(i).tokens()).as("image %d", i).containsExactly(whole.tokens());
                for (int t = 0; t < whole.stepLogits().size(); t++) {
                    float[] x = whole.stepLogits().get(t);
                    float[] y = grouped.get(i).stepLogits().get(t);
                    for (int k = 0; k < x.length; k++) {
                        assertThat(y[k]).isCloseTo(x[k], org.assertj.core.api.Assertions.within(1e-4f));
                    }
                }
            }
        }
    }

    @Test
    void shouldRefuseImagesThatDoNotFitTheFreeSlots() {
        Random rnd = new Random(5);
        try (NDManager m = model.manager().newSubManager();
             DecodingBatch<Integer> batch = new DecodingBatch<>(model, 1,
                     DecodingBatch.columnsFor(model.config(), 4, 4), KEEP_LOGITS)) {
            List<float[]> two = List.of(CaptionGeneratorTest.randomPixels(rnd, 3 * 32 * 32),
                    CaptionGeneratorTest.randomPixels(rnd, 3 * 32 * 32));
            assertThatThrownBy(() -> batch.join(List.of(0, 1), patches(m, two), 1,
                    List.of(new long[] {1}, new long[] {2}), new int[] {3, 3}))
                    .isInstanceOf(IllegalStateException.class).hasMessageContaining("do not fit");
            assertThat(batch.fits(1, 1, 4, 5)).isFalse();
            assertThat(batch.fits(1, 1, 4, 4)).isTrue();
        }
    }
}
