package dev.glimpse.operators;

import static org.assertj.core.api.Assertions.assertThat;

import dev.glimpse.model.ModelConfig;
import dev.glimpse.model.TestModels;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ConcurrentLinkedQueue;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.OneInputStreamOperatorTestHarness;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** The batching rules, under continuous and static batching alike; each runs the harness's mailbox as a task would. */
class BatchedCaptionerHarnessTest {
    @TempDir
    static Path modelDir;

    @BeforeAll
    static void model() {
        TestModels.writeTinyScenesModel(modelDir);
    }

    static EmbeddedImage image(String id) {
        ModelConfig c = TestModels.tinyScenesConfig();
        float[] patches = new float[c.numPatches() * c.vitHiddenDim];
        Random rnd = new Random(id.hashCode());
        for (int i = 0; i < patches.length; i++) {
            patches[i] = (float) rnd.nextGaussian();
        }
        ImageRequest r = new ImageRequest();
        r.id = id;
        r.maxNewTokens = 4;
        r.source = new SourceRef("images", 0, id.hashCode() & 0xFFFF, 0);
        return new EmbeddedImage(r, patches);
    }

    static OneInputStreamOperatorTestHarness<EmbeddedImage, CaptionRecord> harness(BatchedCaptioner op) throws Exception {
        OneInputStreamOperatorTestHarness<EmbeddedImage, CaptionRecord> h = new OneInputStreamOperatorTestHarness<>(op);
        h.open();
        return h;
    }

    /** The captions emitted, once the mailbox has run the decoding steps it holds. */
    static List<String> captionedIds(OneInputStreamOperatorTestHarness<EmbeddedImage, CaptionRecord> h) throws Exception {
        HarnessMailbox.runAll(h);
        return h.extractOutputValues().stream().map(c -> c.request.id).toList();
    }

    static BatchingSettings settings(BatchingSettings.Mode mode, int size, Duration delay) {
        return new BatchingSettings(size, delay).withMode(mode);
    }

    @ParameterizedTest
    @EnumSource(BatchingSettings.Mode.class)
    void shouldFlushAFullBatchAtOnce(BatchingSettings.Mode mode) throws Exception {
        try (var h = harness(new BatchedCaptioner(modelDir.toString(), settings(mode, 3, Duration.ofHours(1))))) {
            h.processElement(new StreamRecord<>(image("a")));
            h.processElement(new StreamRecord<>(image("b")));
            assertThat(captionedIds(h)).isEmpty();
            h.processElement(new StreamRecord<>(image("c")));
            assertThat(captionedIds(h)).containsExactlyInAnyOrder("a", "b", "c");
            assertThat(h.extractOutputValues()).allSatisfy(c -> {
                assertThat(c.batchSize).isEqualTo(3);
                assertThat(c.tokens).isBetween(0, 4);
                assertThat(c.model).isEqualTo("tiny-random");
            });
        }
    }

    @ParameterizedTest
    @EnumSource(BatchingSettings.Mode.class)
    void shouldFlushPartialBatchOnTimer(BatchingSettings.Mode mode) throws Exception {
        try (var h = harness(new BatchedCaptioner(modelDir.toString(), settings(mode, 8, Duration.ofMillis(50))))) {
            h.setProcessingTime(1_000);
            h.processElement(new StreamRecord<>(image("a")));
            h.setProcessingTime(1_020);
            h.processElement(new StreamRecord<>(image("b")));
            h.setProcessingTime(1_049);
            assertThat(captionedIds(h)).isEmpty();
            h.setProcessingTime(1_050);
            assertThat(captionedIds(h)).containsExactlyInAnyOrder("a", "b");
            assertThat(h.extractOutputValues().get(0).queueMs).isEqualTo(50);
        }
    }

    @ParameterizedTest
    @EnumSource(BatchingSettings.Mode.class)
    void shouldFlushBeforeCheckpointBarrierSoNothingIsHeldOutsideState(BatchingSettings.Mode mode) throws Exception {
        try (var h = harness(new BatchedCaptioner(modelDir.toString(), settings(mode, 8, Duration.ofHours(1))))) {
            h.processElement(new StreamRecord<>(image("a")));
            h.processElement(new StreamRecord<>(image("b")));
            h.prepareSnapshotPreBarrier(1L);
            assertThat(h.extractOutputValues()).extracting(c -> c.request.id).containsExactlyInAnyOrder("a", "b");
            h.snapshot(1L, 2L);
            assertThat(((BatchedCaptioner) h.getOperator()).buffered()).isZero();
        }
    }

    @ParameterizedTest
    @EnumSource(BatchingSettings.Mode.class)
    void shouldFlushAtEndOfInput(BatchingSettings.Mode mode) throws Exception {
        try (var h = harness(new BatchedCaptioner(modelDir.toString(), settings(mode, 8, Duration.ofHours(1))))) {
            h.processElement(new StreamRecord<>(image("a")));
            h.endInput();
            assertThat(h.extractOutputValues()).extracting(c -> c.request.id).containsExactly("a");
        }
    }

    @ParameterizedTest
    @EnumSource(BatchingSettings.Mode.class)
    void shouldIsolateAPoisonousRecordAndCaptionItsBatchMates(BatchingSettings.Mode mode) throws Exception {
        BatchedCaptioner op = new BatchedCaptioner(modelDir.toString(), settings(mode, 4, Duration.ofHours(1))) {
            @Override
            protected List<CaptionRecord> caption(List<Pending> batch) {
                if (batch.stream().anyMatch(p -> p.image().request.id.equals("poison"))) {
                    throw new IllegalStateException("simulated out of memory");
                }
                return super.caption(batch);
            }

            @Override
            protected List<ContinuousBatch.Finished> step(ContinuousBatch batch, List<ContinuousBatch.Look> joining) {
                if (joining.stream().anyMatch(l -> l.pending.image().request.id.equals("poison"))) {
                    throw new IllegalStateException("simulated out of memory");
                }
                return super.step(batch, joining);
            }
        };
        try (var h = harness(op)) {
            for (String id : new String[] {"a", "poison", "b", "c"}) {
                h.processElement(new StreamRecord<>(image(id)));
            }
            assertThat(captionedIds(h)).containsExactlyInAnyOrder("a", "b", "c");
            ConcurrentLinkedQueue<StreamRecord<DeadLetter>> dead = h.getSideOutput(DeadLetters.TAG);
            assertThat(dead).hasSize(1);
            DeadLetter d = dead.peek().getValue();
            assertThat(d.id).isEqualTo("poison");
            assertThat(d.code).isEqualTo(ErrorCode.INFERENCE_FAILED);
            assertThat(d.message).contains("simulated out of memory");
        }
    }
}
