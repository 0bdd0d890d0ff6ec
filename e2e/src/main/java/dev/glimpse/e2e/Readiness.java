package dev.glimpse.e2e;

import java.util.function.Consumer;

/**
 * How the cluster test waits: it polls a condition every half second until it holds, with one
 * deadline for the whole run (its --timeout) and no fixed wait of its own, so a loaded machine only
 * makes it slower. Between polls it checks that the processes it needs are alive (a dead one fails
 * the wait at once) and every 30 s it says what it waits for. An exception of the condition
 * (connection refused while a process starts...) counts as "not yet".
 */
final class Readiness {
    static final long POLL_MILLIS = 500;
    static final long NOTE_EVERY_MILLIS = 30_000;

    interface Condition {
        boolean holds() throws Exception;
    }

    /** Time, replaceable in tests. */
    interface Clock {
        long millis();

        void sleep(long millis) throws InterruptedException;
    }

    static final Clock SYSTEM = new Clock() {
        @Override
        public long millis() {
            return System.currentTimeMillis();
        }

        @Override
        public void sleep(long millis) throws InterruptedException {
            Thread.sleep(millis);
        }
    };

    private final long deadline;
    private final String deadlineName;
    private final Runnable liveness;
    private final Consumer<String> note;
    private final Clock clock;

    /**
     * @param deadline     epoch millis after which every wait fails
     * @param deadlineName how a failure names the deadline ("--timeout 20m")
     * @param liveness     throws when a process the cluster needs has died
     * @param note         where "still waiting" lines go
     */
    Readiness(long deadline, String deadlineName, Runnable liveness, Consumer<String> note, Clock clock) {
        this.deadline = deadline;
        this.deadlineName = deadlineName;
        this.liveness = liveness;
        this.note = note;
        this.clock = clock;
    }

    /** Milliseconds left before the deadline; fails once it has passed. */
    long remaining() {
        long left = deadline - clock.millis();
        if (left <= 0) {
            throw new IllegalStateException(deadlineName + " exceeded");
        }
        return left;
    }

    void await(String what, Condition condition) throws Exception {
        long start = clock.millis();
        long nextNote = start + NOTE_EVERY_MILLIS;
        Exception last = null;
        while (true) {
            try {
                if (condition.holds()) {
                    return;
                }
            } catch (InterruptedException e) {
                throw e;
            } catch (Exception e) {
                last = e;
            }
            liveness.run();
            long now = clock.millis();
            if (now > deadline) {
                throw new IllegalStateException(deadlineName + " exceeded after " + ClusterTest.secs(now - start)
                        + " waiting for " + what + (last != null ? " (last error: " + last + ")" : ""));
            }
            if (now > nextNote) {
                note.accept("still waiting for " + what + " (" + ClusterTest.secs(now - start) + ", load average "
                        + ClusterTest.loadAverage() + ")");
                nextNote = now + NOTE_EVERY_MILLIS;
            }
            clock.sleep(POLL_MILLIS);
        }
    }
}
