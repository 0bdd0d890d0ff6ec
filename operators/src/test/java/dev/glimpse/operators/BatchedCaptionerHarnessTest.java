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
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

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

    static List<String> captionedIds(OneInputStreamOperatorTestHarness<EmbeddedImage, CaptionRecord> h) {
        return h.extractOutputValues().stream().map(c -> c.request.id).toList();
    }

    @Test
    void shouldFlushAFullBatchAtOnce() throws Exception {
        try (var h = harness(new BatchedCaptioner(modelDir.toString(), new BatchingSettings(3, Duration.ofHours(1))))) {
            h.processElement(new StreamRecord<>(image("a")));
            h.processElement(new StreamRecord<>(image("b")));
            assertThat(h.extractOutputValues()).isEmpty();
            h.processElement(new StreamRecord<>(image("c")));
            assertThat(captionedIds(h)).containsExactly("a", "b", "c");
            assertThat(h.extractOutputValues()).allSatisfy(c -> {
                assertThat(c.batchSize).isEqualTo(3);
                assertThat(c.tokens).isBetween(0, 4);
                assertThat(c.model).isEqualTo("tiny-random");
            });
        }
    }

    @Test
    void shouldFlushPartialBatchOnTimer() throws Exception {
        try (var h = harness(new BatchedCaptioner(modelDir.toString(), new BatchingSettings(8, Duration.ofMillis(50))))) {
            h.setProcessingTime(1_000);
            h.processElement(new StreamRecord<>(image("a")));
            h.setProcessingTime(1_020);
            h.processElement(new StreamRecord<>(image("b")));
            h.setProcessingTime(1_049);
            assertThat(h.extractOutputValues()).isEmpty();
            h.setProcessingTime(1_050);
            assertThat(captionedIds(h)).containsExactly("a", "b");
            assertThat(h.extractOutputValues().get(0).queueMs).isEqualTo(50);
        }
    }

    @Test
    void shouldFlushBeforeCheckpointBarrierSoNothingIsHeldOutsideState() throws Exception {
        try (var h = harness(new BatchedCaptioner(modelDir.toString(), new BatchingSettings(8, Duration.ofHours(1))))) {
            h.processElement(new StreamRecord<>(image("a")));
            h.processElement(new StreamRecord<>(image("b")));
            h.prepareSnapshotPreBarrier(1L);
            assertThat(captionedIds(h)).containsExactly("a", "b");
            h.snapshot(1L, 2L);
            assertThat(((BatchedCaptioner) h.getOperator()).buffered()).isZero();
        }
    }

    @Test
    void shouldFlushAtEndOfInput() throws Exception {
        try (var h = harness(new BatchedCaptioner(modelDir.toString(), new BatchingSettings(8, Duration.ofHours(1))))) {
            h.processElement(new StreamRecord<>(image("a")));
            h.endInput();
            assertThat(captionedIds(h)).containsExactly("a");
        }
    }

    @Test
    void shouldIsolateAPoisonousRecordAndCaptionItsBatchMates() throws Exception {
        BatchedCaptioner op = new BatchedCaptioner(modelDir.toString(), new BatchingSettings(4, Duration.ofHours(1))) {
            @Override
            protected List<CaptionRecord> caption(List<Pending> batch) {
                if (batch.stream().anyMatch(p -> p.image().request.id.equals("poison"))) {
                    throw new IllegalStateException("simulated out of memory");
                }
                return super.caption(batch);
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
