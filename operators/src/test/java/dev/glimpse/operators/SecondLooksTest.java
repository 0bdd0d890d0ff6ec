package dev.glimpse.operators;

import static dev.glimpse.operators.StaticBatchingTest.arrivedAt;
import static org.assertj.core.api.Assertions.assertThat;

import dev.glimpse.operators.BatchedCaptioner.Pending;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

class SecondLooksTest {
    /** Batches of 3; a first look waits 50 ms, an unsure image 200 ms. */
    static final BatchingSettings SETTINGS = new BatchingSettings(3, Duration.ofMillis(50), Duration.ofMillis(200));

    @Test
    void shouldScheduleSecondLookAfterDelay() {
        SecondLooks looks = new SecondLooks(SETTINGS);
        looks.add(arrivedAt(100));
        looks.add(arrivedAt(180));
        assertThat(looks.dueAtMs()).as("the oldest's max-unsure-delay").isEqualTo(300);
        assertThat(looks.schedule(120)).isEqualTo(300);
        assertThat(looks.isCurrent(300)).isTrue();
    }

    @Test
    void shouldScheduleAnOverdueSecondLookAtOnce() {
        SecondLooks looks = new SecondLooks(SETTINGS);
        looks.add(arrivedAt(0));
        assertThat(looks.schedule(500)).isEqualTo(500);
    }

    @Test
    void shouldScheduleNothingWhenNoneWaitsOrTheirTimerIsSet() {
        SecondLooks looks = new SecondLooks(SETTINGS);
        assertThat(looks.schedule(0)).isEqualTo(-1);
        assertThat(looks.dueAtMs()).isEqualTo(Long.MAX_VALUE);
        looks.add(arrivedAt(0));
        assertThat(looks.schedule(0)).isEqualTo(200);
        looks.add(arrivedAt(10));
        assertThat(looks.schedule(10)).isEqualTo(-1);
    }

    @Test
    void shouldBeFullOnceABatchWaits() {
        SecondLooks looks = new SecondLooks(SETTINGS);
        looks.addAll(List.of(arrivedAt(0), arrivedAt(1)));
        assertThat(looks.full()).isFalse();
        looks.add(arrivedAt(2));
        assertThat(looks.full()).isTrue();
    }

    @Test
    void shouldIgnoreATimerOnceTheImagesWereTakenOrStartedOtherwise() {
        SecondLooks looks = new SecondLooks(SETTINGS);
        Pending a = arrivedAt(0);
        Pending b = arrivedAt(5);
        looks.addAll(List.of(a, b));
        long deadline = looks.schedule(0);
        assertThat(looks.takeAll()).containsExactly(a, b);
        assertThat(looks.isEmpty()).isTrue();
        assertThat(looks.isCurrent(deadline)).isFalse();

        looks.add(arrivedAt(300));
        long next = looks.schedule(300);
        assertThat(next).isEqualTo(500);
        looks.disarm();
        assertThat(looks.isCurrent(next)).isFalse();
        assertThat(looks.schedule(310)).as("a new timer once the last was forgotten").isEqualTo(500);
    }

    @Test
    void shouldHandOutTheOldestFirst() {
        SecondLooks looks = new SecondLooks(SETTINGS);
        assertThat(looks.oldestArrivalMs()).isEqualTo(Long.MAX_VALUE);
        Pending a = arrivedAt(7);
        Pending b = arrivedAt(9);
        looks.add(a);
        looks.add(b);
        assertThat(looks.oldestArrivalMs()).isEqualTo(7);
        assertThat(looks.peek()).isSameAs(a);
        assertThat(looks.poll()).isSameAs(a);
        assertThat(looks.peek()).isSameAs(b);
        assertThat(looks.size()).isEqualTo(1);
    }
}
