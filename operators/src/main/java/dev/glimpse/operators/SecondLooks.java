package dev.glimpse.operators;

import dev.glimpse.operators.BatchedCaptioner.Pending;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;

/**
 * The images an adaptive plan's first look left unsure, waiting for their second look from their
 * shifted views, oldest first. They wait to share one forward: until {@code max-batch-size} of them
 * wait or the oldest has waited {@code max-unsure-delay} (and, as the operator decides, until the
 * next barrier or the end of input). One timer at a time is set for them; a timer set before they
 * were taken is ignored. Not thread-safe.
 */
final class SecondLooks {
    private final int batchSize;
    private final long maxDelayMs;
    private final List<Pending> unsure = new ArrayList<>();
    /** The deadline of the timer set for the images waiting; -1 when none is. */
    private long deadline = -1;

    SecondLooks(BatchingSettings batching) {
        this.batchSize = batching.maxBatchSize();
        this.maxDelayMs = batching.maxUnsureDelay().toMillis();
    }

    void add(Pending p) {
        unsure.add(p);
    }

    void addAll(Collection<Pending> ps) {
        unsure.addAll(ps);
    }

    int size() {
        return unsure.size();
    }

    boolean isEmpty() {
        return unsure.isEmpty();
    }

    /** The image that has waited longest. */
    Pending peek() {
        return unsure.get(0);
    }

    /** Takes out the image that has waited longest. */
    Pending poll() {
        return unsure.remove(0);
    }

    /** Whether enough wait to fill a batch: their second look need not wait any longer. */
    boolean full() {
        return unsure.size() >= batchSize;
    }

    /** When the oldest image arrived; {@link Long#MAX_VALUE} when none waits. */
    long oldestArrivalMs() {
        return unsure.isEmpty() ? Long.MAX_VALUE : unsure.get(0).arrivedAtMs();
    }

    /** When the oldest image has waited {@code max-unsure-delay}; {@link Long#MAX_VALUE} when none waits. */
    long dueAtMs() {
        return unsure.isEmpty() ? Long.MAX_VALUE : unsure.get(0).arrivedAtMs() + maxDelayMs;
    }

    /**
     * The deadline of a timer to set now for the images waiting: when the oldest is due, or at once
     * if it already is; -1 when none waits or their timer is set.
     */
    long schedule(long nowMs) {
        if (unsure.isEmpty() || deadline >= 0) {
            return -1;
        }
        // Second looks wait to share one forward, at most this long (the job: until the next barrier).
        deadline = Math.max(dueAtMs(), nowMs);
        return deadline;
    }

    /** Whether a timer set for {@code deadlineMs} is the one for the images waiting now. */
    boolean isCurrent(long deadlineMs) {
        return deadlineMs == deadline;
    }

    /** Forgets the timer set: the images' second look starts by other means. */
    void disarm() {
        deadline = -1;
    }

    /** Takes out every image waiting, oldest first, for one second look; their timer is forgotten. */
    List<Pending> takeAll() {
        deadline = -1;
        List<Pending> all = new ArrayList<>(unsure);
        unsure.clear();
        return all;
    }
}
