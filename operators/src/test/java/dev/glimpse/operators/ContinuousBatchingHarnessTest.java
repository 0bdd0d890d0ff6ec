package dev.glimpse.operators;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.Shape;
import dev.glimpse.model.Captioner;
import dev.glimpse.model.ModelConfig;
import dev.glimpse.model.TestModels;
import dev.glimpse.model.VisionLanguageModel;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.stream.Collectors;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.OneInputStreamOperatorTestHarness;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Continuous batching in the operator: rows that finish leave the batch at their step, waiting
 * records take their rows at the next, and no caption depends on when or beside whom it decoded.
 */
class ContinuousBatchingHarnessTest {
    @TempDir
    static Path modelDir;

    @BeforeAll
    static void model() {
        TestModels.writeTinyScenesModel(modelDir);
    }

    static final String[] PROMPTS = {null, "what is in this picture ?", "caption"};

    static EmbeddedImage image(String id, int maxNewTokens) {
        ModelConfig c = TestModels.tinyScenesConfig();
        float[] patches = new float[c.numPatches() * c.vitHiddenDim];
        Random rnd = new Random(id.hashCode());
        for (int i = 0; i < patches.length; i++) {
            patches[i] = (float) rnd.nextGaussian();
        }
        ImageRequest r = new ImageRequest();
        r.id = id;
        r.prompt = PROMPTS[Math.floorMod(id.hashCode(), PROMPTS.length)];
        r.maxNewTokens = maxNewTokens;
        r.source = new SourceRef("images", 0, id.hashCode() & 0xFFFF, 0);
        return new EmbeddedImage(r, patches);
    }

    /** A real captioner that notes, at each step, the records decoding, those joining and those finishing. */
    static final class RecordingCaptioner extends BatchedCaptioner {
        final List<Set<String>> decoding = new ArrayList<>();
        final List<Set<String>> joined = new ArrayList<>();
        final List<Set<String>> finished = new ArrayList<>();

        RecordingCaptioner(BatchingSettings batching) {
            super(modelDir.toString(), batching);
        }

        @Override
        protected List<ContinuousBatch.Finished> step(ContinuousBatch batch, List<ContinuousBatch.Look> joining) {
            decoding.add(batch.inFlight().stream().map(p -> p.image().request.id).collect(Collectors.toSet()));
            joined.add(joining.stream().map(l -> l.pending.image().request.id).collect(Collectors.toSet()));
            List<ContinuousBatch.Finished> done = super.step(batch, joining);
            finished.add(done.stream().map(f -> f.row().look.pending.image().request.id).collect(Collectors.toSet()));
            return done;
        }
    }

    static Map<String, CaptionRecord> byId(OneInputStreamOperatorTestHarness<EmbeddedImage, CaptionRecord> h) {
        return h.extractOutputValues().stream().collect(Collectors.toMap(c -> c.request.id, c -> c));
    }

    /** One caption for each record of {@code in} and no other, each its caption alone. */
    static void assertEveryRecordCaptionedAsAlone(OneInputStreamOperatorTestHarness<EmbeddedImage, CaptionRecord> h,
                                                  Map<String, EmbeddedImage> in) {
        Map<String, CaptionRecord> out = byId(h);
        assertThat(out).containsOnlyKeys(in.keySet());
        assertEachAsAlone(out, in);
    }

    /** Each record's caption alone, through the model's own API. */
    static void assertEachAsAlone(Map<String, CaptionRecord> out, Map<String, EmbeddedImage> in) {
        try (VisionLanguageModel m = VisionLanguageModel.load(modelDir)) {
            Captioner captioner = new Captioner(m);
            ModelConfig c = m.config();
            for (EmbeddedImage e : in.values()) {
                Captioner.Caption alone;
                try (NDScope ignored = new NDScope()) {
                    List<String> prompt = new ArrayList<>();
                    prompt.add(e.request.prompt);
                    alone = captioner.captionPatches(m.manager().create(e.patches, new Shape(1, c.numPatches(), c.vitHiddenDim)),
                            prompt, new int[] {e.request.maxNewTokens}).get(0);
                }
                CaptionRecord got = out.get(e.request.id);
                assertThat(got.caption).as("caption of %s (cap %d)", e.request.id, e.request.maxNewTokens)
                        .isEqualTo(alone.text());
                assertThat(got.tokens).as("tokens of %s", e.request.id).isEqualTo(alone.tokens())
                        .isLessThanOrEqualTo(e.request.maxNewTokens);
            }
        }
    }

    @Test
    void shouldTakeNoMoreInputThanABatchAndItsRefillWhenStepsFallBehindArrivals() throws Exception {
        Map<String, EmbeddedImage> in = new java.util.LinkedHashMap<>();
        for (int i = 0; i < 12; i++) {
            in.put("b" + i, image("b" + i, 24));
        }
        RecordingCaptioner op = new RecordingCaptioner(new BatchingSettings(3, Duration.ZERO));
        try (var h = new OneInputStreamOperatorTestHarness<>(op)) {
            h.open();
            int most = 0;
            // Records arrive back to back, no mailbox step between them: each arrival beyond a full
            // batch and a full refill must decode here until one joins.
            for (EmbeddedImage e : in.values()) {
                h.processElement(new StreamRecord<>(e));
                most = Math.max(most, op.buffered());
                // A full batch of 3, and fewer than 3 waiting to refill it.
                assertThat(op.buffered()).as("records held after %s", e.request.id).isLessThanOrEqualTo(3 + 2);
            }
            assertThat(most).as("the bound was reached, so it was tested").isEqualTo(3 + 2);
            assertThat(op.decoding).as("steps decoded while records were taken in").isNotEmpty();
            h.endInput();
            assertEveryRecordCaptionedAsAlone(h, in);
        }
    }

    @Test
    void shouldDecodeRowsThatJoinMidBatchExactlyAsEachAlone() throws Exception {
        int[] caps = {2, 12, 5, 9, 3, 7, 24, 4, 16, 1};
        Map<String, EmbeddedImage> in = new java.util.LinkedHashMap<>();
        for (int i = 0; i < caps.length; i++) {
            in.put("r" + i, image("r" + i, caps[i]));
        }
        List<EmbeddedImage> records = new ArrayList<>(in.values());
        // No delay: each record joins at the first step after it arrived that has a free row for it.
        RecordingCaptioner op = new RecordingCaptioner(new BatchingSettings(3, Duration.ZERO));
        try (var h = new OneInputStreamOperatorTestHarness<>(op)) {
            h.open();
            // Three fill the batch; the others arrive while it decodes, between its steps.
            for (int i = 0; i < 3; i++) {
                h.processElement(new StreamRecord<>(records.get(i)));
            }
            HarnessMailbox.runOne(h);
            HarnessMailbox.runOne(h);
            for (int i = 3; i < 7; i++) {
                h.processElement(new StreamRecord<>(records.get(i)));
                HarnessMailbox.runOne(h);
            }
            for (int i = 7; i < records.size(); i++) {
                h.processElement(new StreamRecord<>(records.get(i)));
            }
            // A full batch and a full refill waiting: an arrival decodes steps itself (backpressure).
            int allArrived = op.decoding.size();
            HarnessMailbox.runAll(h);

            assertThat(h.getSideOutput(DeadLetters.TAG)).isNullOrEmpty();
            assertThat(op.buffered()).isZero();
            Map<String, CaptionRecord> out = byId(h);
            assertThat(out.keySet()).isEqualTo(in.keySet());
            assertThat(h.extractOutputValues()).as("one caption per record").hasSize(records.size());
            assertEachAsAlone(out, in);

            int steps = op.decoding.size();
            Set<String> joinedSoFar = new HashSet<>();
            boolean joinedMidBatch = false;
            for (int s = 0; s < steps; s++) {
                assertThat(op.decoding.get(s).size() + op.joined.get(s).size()).as("images at step %d", s)
                        .isLessThanOrEqualTo(3);
                joinedMidBatch |= !op.joined.get(s).isEmpty() && !op.decoding.get(s).isEmpty();
                joinedSoFar.addAll(op.joined.get(s));
                // A freed row is refilled at the very next step while records wait (once all ten have arrived).
                if (s >= allArrived && s + 1 < steps && !op.finished.get(s).isEmpty() && joinedSoFar.size() < records.size()) {
                    assertThat(op.joined.get(s + 1)).as("joining at step %d", s + 1)
                            .hasSize(Math.min(op.finished.get(s).size(), records.size() - joinedSoFar.size()));
                }
            }
            assertThat(joinedMidBatch).as("a record joined while others were decoding").isTrue();
            assertThat(out.values()).allSatisfy(c -> assertThat(c.batchSize).isBetween(1, 3));
        }
    }

    @Test
    void shouldDrainTheRowsInFlightBeforeABarrierAndKeepNoState() throws Exception {
        Map<String, EmbeddedImage> in = new java.util.LinkedHashMap<>();
        int[] caps = {24, 6, 18, 3, 24};
        for (int i = 0; i < caps.length; i++) {
            in.put("d" + i, image("d" + i, caps[i]));
        }
        BatchedCaptioner op = new BatchedCaptioner(modelDir.toString(), new BatchingSettings(2, Duration.ofHours(1)));
        try (var h = new OneInputStreamOperatorTestHarness<>(op)) {
            h.open();
            for (EmbeddedImage e : in.values()) {
                h.processElement(new StreamRecord<>(e));
            }
            assertThat(HarnessMailbox.runOne(h)).as("the first step").isTrue();
            // Five arrived back to back: beyond a full batch and its refill (two each) arrivals decoded steps themselves.
            assertThat(op.buffered()).as("decoding or waiting after one step").isBetween(2, 4);
            assertThat(op.rowsActive()).isBetween(1, 2);

            h.prepareSnapshotPreBarrier(1);
            assertThat(op.buffered()).as("nothing held across the barrier").isZero();
            assertThat(op.rowsActive()).isZero();
            assertThat(byId(h).keySet()).isEqualTo(in.keySet());
            OperatorSubtaskState state = h.snapshot(1, 2);
            assertThat(state.getManagedOperatorState()).as("no record in operator state").isEmpty();
            assertThat(state.getRawOperatorState()).isEmpty();

            // The step that was queued before the barrier finds nothing to do: no caption twice.
            HarnessMailbox.runAll(h);
            assertThat(h.extractOutputValues()).hasSize(in.size());
            assertEachAsAlone(byId(h), in);

            // The operator goes on after the drain.
            h.processElement(new StreamRecord<>(image("after", 5)));
            h.endInput();
            assertThat(byId(h)).containsKey("after").hasSize(in.size() + 1);
        }
    }

    @Test
    void shouldStartAnIdleBatchWhenFullOrLateAndLetArrivalsJoinARunningOneTogether() throws Exception {
        RecordingCaptioner op = new RecordingCaptioner(new BatchingSettings(4, Duration.ofMillis(30)));
        try (var h = new OneInputStreamOperatorTestHarness<>(op)) {
            h.open();
            h.setProcessingTime(100);
            h.processElement(new StreamRecord<>(image("a", 24)));
            h.setProcessingTime(120);
            h.processElement(new StreamRecord<>(image("b", 24)));
            assertThat(HarnessMailbox.runAll(h)).as("no step before the delay").isZero();
            h.setProcessingTime(130);
            assertThat(HarnessMailbox.runOne(h)).as("the first step when a's delay ran out").isTrue();
            // While the batch decodes, c waits to share its prefill: with d, which fills the free rows
            // with it, or until its own delay runs out, whichever comes first.
            h.processElement(new StreamRecord<>(image("c", 2)));
            assertThat(HarnessMailbox.runOne(h)).isTrue();
            h.processElement(new StreamRecord<>(image("d", 3)));
            HarnessMailbox.runAll(h);
            Map<String, CaptionRecord> out = byId(h);
            assertThat(out.keySet()).containsExactlyInAnyOrder("a", "b", "c", "d");
            assertThat(out.get("a").queueMs).isEqualTo(30);
            assertThat(out.get("b").queueMs).isEqualTo(10);
            assertThat(out.get("a").tokens).as("a still decoded at the second step").isGreaterThan(1);
            assertThat(op.joined.get(0)).containsExactlyInAnyOrder("a", "b");
            assertThat(op.joined.get(1)).as("c alone does not join").isEmpty();
            assertThat(op.joined).as("c and d join in one prefill").contains(Set.of("c", "d"));
        }
    }

    @Test
    void shouldRefillOneFreedRowOfAFullBatchOnlyAfterTheDelayNotByAPrefillOfOneAtTheNextStep() throws Exception {
        // One prompt for all, so that any of them fit one prefill; a, the shortest, joins with b, c and d.
        Map<String, EmbeddedImage> in = new java.util.LinkedHashMap<>();
        for (String id : List.of("b", "c", "d", "a", "e", "f")) {
            in.put(id, image(id, id.equals("a") ? 2 : 24));
            in.get(id).request.prompt = null;
        }
        RecordingCaptioner op = new RecordingCaptioner(new BatchingSettings(4, Duration.ofMillis(30)));
        try (var h = new OneInputStreamOperatorTestHarness<>(op)) {
            h.open();
            h.setProcessingTime(100);
            for (EmbeddedImage e : in.values()) {
                h.processElement(new StreamRecord<>(e));
            }
            // b, c, d and a fill the batch; e and f wait. a ends after its 2 tokens, leaving 1 row of 4 free.
            assertThat(op.joined.get(0)).containsExactlyInAnyOrder("a", "b", "c", "d");
            while (op.finished.stream().noneMatch(f -> f.contains("a"))) {
                assertThat(HarnessMailbox.runOne(h)).as("steps until a finishes").isTrue();
            }
            int freedAt = op.joined.size();
            for (int i = 0; i < 3; i++) {
                assertThat(HarnessMailbox.runOne(h)).isTrue();
            }
            assertThat(op.joined.subList(freedAt, op.joined.size())).as("no prefill of one while the clock stands")
                    .allMatch(Set::isEmpty);
            h.setProcessingTime(130);
            assertThat(HarnessMailbox.runOne(h)).isTrue();
            assertThat(op.joined.get(op.joined.size() - 1)).as("the delay since the row was freed ran out").containsExactly("e");
            HarnessMailbox.runAll(h);
            h.endInput();
            assertEveryRecordCaptionedAsAlone(h, in);
        }
    }

    @Test
    void shouldNotJoinLooksWhoseSharedPrefillAndLargestCapOverflowTheBatchsColumns() throws Exception {
        // The batch is made for a: its longest prompt and a cap of 2. b and c, short prompts and caps
        // of 24, fit its columns each alone; beside a, padded to a's prompt, they would not.
        Map<String, EmbeddedImage> in = new java.util.LinkedHashMap<>();
        in.put("a", image("a", 2));
        in.get("a").request.prompt = "what is in this picture ?";
        for (String id : List.of("b", "c")) {
            in.put(id, image(id, 24));
            in.get(id).request.prompt = null;
        }
        RecordingCaptioner op = new RecordingCaptioner(new BatchingSettings(4, Duration.ZERO));
        try (var h = new OneInputStreamOperatorTestHarness<>(op)) {
            h.open();
            for (EmbeddedImage e : in.values()) {
                h.processElement(new StreamRecord<>(e));
            }
            HarnessMailbox.runAll(h);
            h.endInput();
            assertEveryRecordCaptionedAsAlone(h, in);
            // A join that did not fit would fail its step: the batch's records then go to static batches.
            assertThat(op.finished).as("every step that started ended").hasSameSizeAs(op.joined);
            assertThat(op.joined).noneMatch(j -> j.contains("a") && j.size() > 1);
        }
    }

    @Test
    void shouldCaptionTheBatchMatesOfARowThatFailsMidBatchAndDeadLetterIt() throws Exception {
        Map<String, EmbeddedImage> in = new java.util.LinkedHashMap<>();
        int[] caps = {24, 12, 24, 6};
        for (int i = 0; i < caps.length; i++) {
            in.put("m" + i, image("m" + i, caps[i]));
        }
        int[] poisonSteps = {0};
        BatchedCaptioner op = new BatchedCaptioner(modelDir.toString(), new BatchingSettings(4, Duration.ofHours(1))) {
            @Override
            protected List<ContinuousBatch.Finished> step(ContinuousBatch batch, List<ContinuousBatch.Look> joining) {
                // The poisonous record fails the batch at its third step, with its batch-mates decoding beside it.
                if (batch.inFlight().stream().anyMatch(p -> p.image().request.id.equals("poison")) && ++poisonSteps[0] == 2) {
                    throw new IllegalStateException("simulated native failure");
                }
                return super.step(batch, joining);
            }

            @Override
            protected List<CaptionRecord> caption(List<Pending> batch) {
                if (batch.stream().anyMatch(p -> p.image().request.id.equals("poison"))) {
                    throw new IllegalStateException("simulated native failure");
                }
                return super.caption(batch);
            }
        };
        try (var h = new OneInputStreamOperatorTestHarness<>(op)) {
            h.open();
            List<EmbeddedImage> records = new ArrayList<>(in.values());
            h.processElement(new StreamRecord<>(records.get(0)));
            h.processElement(new StreamRecord<>(image("poison", 24)));
            h.processElement(new StreamRecord<>(records.get(1)));
            h.processElement(new StreamRecord<>(records.get(2)));
            HarnessMailbox.runOne(h);
            HarnessMailbox.runOne(h);
            HarnessMailbox.runOne(h);
            assertThat(poisonSteps[0]).as("the batch failed mid-decoding").isEqualTo(2);
            // After the failure a new continuous batch takes the next record.
            h.processElement(new StreamRecord<>(records.get(3)));
            h.endInput();

            assertThat(h.getSideOutput(DeadLetters.TAG)).singleElement().satisfies(d -> {
                assertThat(d.getValue().id).isEqualTo("poison");
                assertThat(d.getValue().code).isEqualTo(ErrorCode.INFERENCE_FAILED);
                assertThat(d.getValue().message).contains("simulated native failure");
            });
            assertThat(h.extractOutputValues()).hasSize(in.size());
            assertThat(byId(h).keySet()).isEqualTo(in.keySet());
            assertEachAsAlone(byId(h), in);
            assertThat(op.buffered()).isZero();
        }
    }
}
