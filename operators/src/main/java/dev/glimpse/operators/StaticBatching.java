package dev.glimpse.operators;

import dev.glimpse.operators.BatchedCaptioner.Pending;
import java.util.ArrayList;
import java.util.List;

/**
 * Static batching ({@link BatchingSettings.Mode#STATIC}): records wait for their first look until
 * {@code max-batch-size} of them wait or {@code max-batch-delay} after the first of them arrived,
 * whichever comes first; then the batch decodes to its last row before the next starts. One timer
 * is set per batch; a timer of a batch that was already taken (by size or a barrier) is ignored, so
 * that it cannot cut the next one short. Not thread-safe.
 */
final class StaticBatching {
    private final int maxBatchSize;
    private final long maxBatchDelayMs;
    private final List<Pending> waiting;
    /** The deadline of the timer set for the batch filling now; -1 when none is. */
    private long deadline = -1;

    StaticBatching(BatchingSettings batching) {
        this.maxBatchSize = batching.maxBatchSize();
        this.maxBatchDelayMs = batching.maxBatchDelay().toMillis();
        this.waiting = new ArrayList<>(maxBatchSize);
    }

    /** Takes in a record; returns whether its batch is full and runs now. */
    boolean add(Pending p) {
        waiting.add(p);
        return waiting.size() >= maxBatchSize;
    }

    /**
     * The deadline of a timer to set for the batch filling now, {@code max-batch-delay} after
     * {@code nowMs}, when its first record arrives; -1 when its timer is set.
     */
    long schedule(long nowMs) {
        if (deadline >= 0) {
            return -1;
        }
        deadline = nowMs + maxBatchDelayMs;
        return deadline;
    }

    /** Whether a timer set for {@code deadlineMs} is the one of the batch filling now. */
    boolean isCurrent(long deadlineMs) {
        return deadlineMs == deadline;
    }

    /** Takes out the batch, in arrival order; its timer is forgotten. */
    List<Pending> takeAll() {
        deadline = -1;
        List<Pending> batch = new ArrayList<>(waiting);
        waiting.clear();
        return batch;
    }

    /** Records waiting. */
    int size() {
        return waiting.size();
    }
}
