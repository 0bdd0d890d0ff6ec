package dev.glimpse.operators;

import static org.assertj.core.api.Assertions.assertThat;

import dev.glimpse.operators.BatchedCaptioner.Pending;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class StaticBatchingTest {
    static final BatchingSettings SETTINGS =
            new BatchingSettings(3, Duration.ofMillis(50), Duration.ofMillis(200), BatchingSettings.Mode.STATIC);

    static Pending arrivedAt(long ms) {
        return new Pending(new EmbeddedImage(), ms);
    }

    @Test
    void shouldFlushWhenBatchIsFull() {
        StaticBatching batching = new StaticBatching(SETTINGS);
        assertThat(batching.add(arrivedAt(0))).isFalse();
        assertThat(batching.add(arrivedAt(1))).isFalse();
        assertThat(batching.add(arrivedAt(2))).as("the third of max-batch-size 3").isTrue();
        assertThat(batching.size()).isEqualTo(3);
    }

    @Test
    void shouldSetOneTimerPerBatchMaxBatchDelayAfterItsFirstRecord() {
        StaticBatching batching = new StaticBatching(SETTINGS);
        batching.add(arrivedAt(100));
        assertThat(batching.schedule(100)).isEqualTo(150);
        batching.add(arrivedAt(120));
        assertThat(batching.schedule(120)).as("the batch's timer is set").isEqualTo(-1);
        assertThat(batching.isCurrent(150)).isTrue();
    }

    @Test
    void shouldIgnoreTheTimerOfABatchAlreadyTaken() {
        StaticBatching batching = new StaticBatching(SETTINGS);
        batching.add(arrivedAt(100));
        long first = batching.schedule(100);
        batching.takeAll();
        assertThat(batching.isCurrent(first)).as("a timer of a batch flushed by size or a barrier").isFalse();

        batching.add(arrivedAt(130));
        assertThat(batching.schedule(130)).as("the next batch's own delay").isEqualTo(180);
        assertThat(batching.isCurrent(first)).isFalse();
        assertThat(batching.isCurrent(180)).isTrue();
    }

    @Test
    void shouldTakeTheBatchInArrivalOrderAndStartTheNextEmpty() {
        StaticBatching batching = new StaticBatching(SETTINGS);
        Pending a = arrivedAt(0);
        Pending b = arrivedAt(1);
        batching.add(a);
        batching.add(b);
        assertThat(batching.takeAll()).containsExactly(a, b);
        assertThat(batching.size()).isZero();
        assertThat(batching.takeAll()).isEmpty();
        assertThat(batching.add(arrivedAt(2))).as("the next batch counts from one").isFalse();
    }
}
