package dev.glimpse.operators;

import static dev.glimpse.operators.StaticBatchingTest.arrivedAt;
import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The rules of continuous batching that need no model: when steps start, refill and backpressure. */
class ContinuousBatchingTest {
    /** Batches of 4 images; a first look waits 50 ms, an unsure image 200 ms. */
    static final BatchingSettings SETTINGS = new BatchingSettings(4, Duration.ofMillis(50), Duration.ofMillis(200));

    /** The operator's side: counts the steps asked for and keeps the timers set, to fire them. */
    static final class RecordingHost implements CaptionEngine.Host {
        int steps;
        final List<Map.Entry<Long, Runnable>> timers = new ArrayList<>();

        @Override
        public long now() {
            throw new UnsupportedOperationException("the policy takes the time from its caller");
        }

        @Override
        public void queueStep() {
            steps++;
        }

        @Override
        public void setTimer(long atMs, Runnable onTimer) {
            timers.add(Map.entry(atMs, onTimer));
        }

        List<Long> deadlines() {
            return timers.stream().map(Map.Entry::getKey).toList();
        }

        /** Fires the timers due by {@code nowMs}, earliest first. */
        void advanceTo(long nowMs) {
            List<Map.Entry<Long, Runnable>> due = timers.stream().filter(t -> t.getKey() <= nowMs)
                    .sorted(Map.Entry.comparingByKey()).toList();
            timers.removeAll(due);
            due.forEach(t -> t.getValue().run());
        }
    }

    final RecordingHost host = new RecordingHost();
    final SecondLooks secondLooks = new SecondLooks(SETTINGS);
    final ContinuousBatching batching = new ContinuousBatching(SETTINGS, secondLooks, host);

    @Test
    void shouldStartOnceMaxBatchSizeRecordsWait() {
        for (int i = 0; i < 3; i++) {
            batching.add(arrivedAt(i), i);
        }
        assertThat(host.steps).isZero();
        assertThat(batching.admitting()).isFalse();
        batching.add(arrivedAt(3), 3);
        assertThat(host.steps).isEqualTo(1);
        assertThat(batching.admitting()).isTrue();
    }

    @Test
    void shouldStartAfterMaxBatchDelayWhileNothingDecodes() {
        batching.add(arrivedAt(100), 100);
        batching.add(arrivedAt(120), 120);
        assertThat(host.deadlines()).as("one timer, for the oldest record").containsExactly(150L);
        host.advanceTo(149);
        assertThat(host.steps).isZero();
        host.advanceTo(150);
        assertThat(host.steps).isEqualTo(1);
        assertThat(batching.admitting()).isTrue();
    }

    @Test
    void shouldStartAtOnceWhenAnUnsureImageIsOverdue() {
        secondLooks.add(arrivedAt(0));
        batching.add(arrivedAt(250), 250);
        assertThat(host.steps).isEqualTo(1);
        assertThat(host.timers).isEmpty();
    }

    @Test
    void shouldSetATimerForTheUnsureImagesBesideTheRecords() {
        secondLooks.add(arrivedAt(0));
        batching.add(arrivedAt(10), 10);
        assertThat(host.deadlines()).containsExactlyInAnyOrder(60L, 200L);
    }

    @Test
    void shouldIgnoreTheTimerOfRecordsThatAlreadyStartedABatch() {
        batching.add(arrivedAt(0), 0);
        for (int i = 1; i < 4; i++) {
            batching.add(arrivedAt(i), i);
        }
        assertThat(host.steps).as("a full batch starts").isEqualTo(1);
        host.advanceTo(50);
        assertThat(host.steps).as("the first record's timer is stale").isEqualTo(1);
    }

    @Test
    void shouldAskForAStepForEachRecordWhileAdmitting() {
        for (int i = 0; i < 4; i++) {
            batching.add(arrivedAt(i), i);
        }
        batching.add(arrivedAt(4), 4);
        assertThat(host.steps).isEqualTo(2);
    }

    @Test
    void shouldRefillOnceHalfTheRowsAreFree() {
        batching.add(arrivedAt(0), 0);
        batching.add(arrivedAt(0), 0);
        assertThat(batching.enoughToShareAPrefill(3, 0)).as("one free row of four").isFalse();
        assertThat(batching.enoughToShareAPrefill(2, 0)).as("two free rows, two records to fill them").isTrue();
    }

    @Test
    void shouldWaitForMaxBatchDelayWhenTheRecordsDoNotFillTheFreeRows() {
        batching.add(arrivedAt(0), 0);
        assertThat(batching.enoughToShareAPrefill(0, 0)).isFalse();
        assertThat(batching.enoughToShareAPrefill(0, 49)).isFalse();
        assertThat(batching.enoughToShareAPrefill(0, 50)).isTrue();
    }

    @Test
    void shouldCountTheRefillDelayFromTheStepThatFreedARow() {
        batching.add(arrivedAt(0), 0);
        assertThat(batching.enoughToShareAPrefill(4, 100)).as("no free row").isFalse();
        assertThat(batching.enoughToShareAPrefill(3, 100)).isFalse();
        assertThat(batching.enoughToShareAPrefill(3, 149)).isFalse();
        assertThat(batching.enoughToShareAPrefill(3, 150)).isTrue();
    }

    @Test
    void shouldRestartTheRefillDelayOnceTheBatchIsFullAgain() {
        batching.add(arrivedAt(0), 0);
        assertThat(batching.enoughToShareAPrefill(3, 100)).isFalse();
        assertThat(batching.enoughToShareAPrefill(4, 120)).isFalse();
        assertThat(batching.enoughToShareAPrefill(3, 200)).as("a row free since 200, not 100").isFalse();
        assertThat(batching.enoughToShareAPrefill(3, 250)).isTrue();
    }

    @Test
    void shouldNotHoldBackInputWhileFewerThanABatchWait() {
        int[] steps = {0};
        for (int i = 0; i < 3; i++) {
            batching.add(arrivedAt(i), i);
        }
        batching.holdBackInput(() -> steps[0]++);
        assertThat(steps[0]).isZero();
    }

    @Test
    void shouldStopHoldingBackInputWhenNothingDecodesAndNothingJoins() {
        int[] steps = {0};
        for (int i = 0; i < 4; i++) {
            batching.add(arrivedAt(i), i);
        }
        batching.holdBackInput(() -> steps[0]++);
        assertThat(steps[0]).as("one step, then the mailbox's steps go on").isEqualTo(1);
    }

    @Test
    void shouldHoldBackInputUntilFewerThanABatchWait() {
        int[] steps = {0};
        for (int i = 0; i < 3; i++) {
            batching.add(arrivedAt(i), i);
        }
        secondLooks.add(arrivedAt(3));
        secondLooks.add(arrivedAt(4));
        batching.holdBackInput(() -> {
            steps[0]++;
            secondLooks.poll();
        });
        assertThat(steps[0]).isEqualTo(2);
        assertThat(batching.waiting()).isEqualTo(3);
    }

    @Test
    void shouldGoOnSteppingAfterAStepWhileRecordsWait() {
        batching.add(arrivedAt(0), 0);
        batching.afterStep(10);
        assertThat(host.steps).isEqualTo(1);
    }

    @Test
    void shouldLetUnsureImagesAloneWaitForTheirDelayAfterAStep() {
        secondLooks.add(arrivedAt(0));
        batching.afterStep(10);
        assertThat(batching.admitting()).isFalse();
        assertThat(host.steps).isZero();
        assertThat(host.deadlines()).containsExactly(200L);
        host.advanceTo(200);
        assertThat(host.steps).isEqualTo(1);
        assertThat(batching.admitting()).isTrue();
    }

    @Test
    void shouldDecodeUntilNothingWaitsWhenDrainingAndForgetTheTimers() {
        secondLooks.add(arrivedAt(0));
        secondLooks.add(arrivedAt(1));
        batching.afterStep(10);
        int[] steps = {0};
        batching.drain(() -> {
            assertThat(batching.admitting()).as("every record joins while draining").isTrue();
            steps[0]++;
            secondLooks.poll();
        });
        assertThat(steps[0]).isEqualTo(2);
        assertThat(batching.admitting()).isFalse();
        assertThat(batching.held()).isZero();
        secondLooks.add(arrivedAt(20));
        host.advanceTo(200);
        assertThat(host.steps).as("the unsure images' timer from before the drain").isZero();
    }
}
