package dev.glimpse.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.ConnectException;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The cluster test's waits, on a clock that advances only when they sleep. */
class ReadinessTest {
    private static final long MINUTE = 60_000;

    /** Starts at 0; sleeping moves it on. */
    private static final class FakeClock implements Readiness.Clock {
        long now;

        @Override
        public long millis() {
            return now;
        }

        @Override
        public void sleep(long millis) {
            now += millis;
        }
    }

    private final FakeClock clock = new FakeClock();
    private final List<String> notes = new ArrayList<>();

    private Readiness readiness(long deadline, Runnable liveness) {
        return new Readiness(deadline, "--timeout 20m", liveness, notes::add, clock);
    }

    @Test
    void shouldWaitAsLongAsTheDeadlineAllowsNotAFixedFourMinutes() throws Exception {
        // TaskManagers that need 9 minutes to register on a loaded machine.
        readiness(20 * MINUTE, () -> {}).await("2 TaskManagers to register", () -> clock.now >= 9 * MINUTE);

        assertThat(clock.now).isBetween(9 * MINUTE, 9 * MINUTE + Readiness.POLL_MILLIS);
        assertThat(notes).hasSize(17).first().asString().startsWith("still waiting for 2 TaskManagers to register (30.");
    }

    @Test
    void shouldFailAtTheDeadlineNamingWhatItWaitedForAndTheLastError() {
        Readiness r = readiness(2 * MINUTE, () -> {});

        assertThatThrownBy(() -> r.await("the JobManager's REST API", () -> {
            throw new ConnectException("Connection refused");
        })).hasMessageContaining("--timeout 20m exceeded after 120.")
                .hasMessageContaining("waiting for the JobManager's REST API")
                .hasMessageContaining("last error: java.net.ConnectException: Connection refused");
        assertThat(clock.now).isBetween(2 * MINUTE, 2 * MINUTE + Readiness.POLL_MILLIS);
    }

    @Test
    void shouldFailAtOnceWhenAProcessItNeedsHasDied() {
        Readiness r = readiness(20 * MINUTE, () -> {
            if (clock.now >= 5_000) {
                throw new IllegalStateException("tm-1 exited: OutOfMemoryError");
            }
        });

        assertThatThrownBy(() -> r.await("2 TaskManagers to register", () -> false)).hasMessage("tm-1 exited: OutOfMemoryError");
        assertThat(clock.now).isEqualTo(5_000);
    }

    @Test
    void shouldReturnAtOnceWhenReady() throws Exception {
        readiness(MINUTE, () -> {}).await("a free slot", () -> true);

        assertThat(clock.now).isZero();
        assertThat(notes).isEmpty();
    }

    @Test
    void shouldSayHowLittleTimeIsLeftAndRefuseWhenItIsGone() {
        Readiness r = readiness(MINUTE, () -> {});
        assertThat(r.remaining()).isEqualTo(MINUTE);

        clock.now = MINUTE;
        assertThatThrownBy(r::remaining).hasMessage("--timeout 20m exceeded");
    }
}
