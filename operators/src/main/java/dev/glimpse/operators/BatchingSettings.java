package dev.glimpse.operators;

import java.io.Serializable;
import java.time.Duration;

/**
 * How the captioner batches. While nothing decodes, records wait until {@code maxBatchSize} of them
 * wait, or {@code maxBatchDelay} after the first of them arrived, whichever comes first; then a
 * batch starts. With adaptive test-time views, the images a first look left unsure wait for their
 * second look until {@code maxBatchSize} of them wait, the next checkpoint barrier or the end of
 * input, and at most {@code maxUnsureDelay}.
 *
 * <p>{@link Mode#CONTINUOUS}: once the batch decodes, the records that arrive (and the unsure
 * images) join it in rows that finished images freed, up to {@code maxBatchSize} images at once,
 * together in one prefill: at the first step when they would fill its free rows, or when the oldest
 * of them has waited {@code maxBatchDelay}. {@link Mode#STATIC}: a batch decodes to its last row
 * before the next one starts.
 */
public record BatchingSettings(int maxBatchSize, Duration maxBatchDelay, Duration maxUnsureDelay, Mode mode)
        implements Serializable {
    /** Whether records join a running batch ({@code batching.mode}). */
    public enum Mode {
        /** Finished rows are refilled at the next step from the records waiting. */
        CONTINUOUS,
        /** A batch runs until all its rows are done; the records that arrive meanwhile wait for the next. */
        STATIC
    }

    /** Continuous batching; unsure images wait at most {@code maxBatchDelay} too. */
    public BatchingSettings(int maxBatchSize, Duration maxBatchDelay) {
        this(maxBatchSize, maxBatchDelay, maxBatchDelay);
    }

    /** Continuous batching. */
    public BatchingSettings(int maxBatchSize, Duration maxBatchDelay, Duration maxUnsureDelay) {
        this(maxBatchSize, maxBatchDelay, maxUnsureDelay, Mode.CONTINUOUS);
    }

    public BatchingSettings {
        if (maxUnsureDelay.isNegative()) {
            throw new IllegalArgumentException("the unsure images' delay must not be negative, got " + maxUnsureDelay);
        }
        if (maxBatchSize < 1) {
            throw new IllegalArgumentException("max-batch-size must be at least 1, got " + maxBatchSize);
        }
        if (maxBatchDelay.isNegative()) {
            throw new IllegalArgumentException("max-batch-delay must not be negative, got " + maxBatchDelay);
        }
        if (mode == null) {
            throw new IllegalArgumentException("batching mode must be continuous or static");
        }
    }

    /** The same settings in {@code mode}. */
    public BatchingSettings withMode(Mode mode) {
        return new BatchingSettings(maxBatchSize, maxBatchDelay, maxUnsureDelay, mode);
    }
}
