package dev.glimpse.operators;

import java.io.Serializable;
import java.time.Duration;

/**
 * When the captioner runs a batch: as soon as {@code maxBatchSize} records wait, or
 * {@code maxBatchDelay} after the first of them arrived, whichever comes first. With adaptive
 * test-time views, the images a first look left unsure wait for their second look until {@code
 * maxBatchSize} of them wait, the next checkpoint barrier or the end of input, and at most {@code
 * maxUnsureDelay}.
 */
public record BatchingSettings(int maxBatchSize, Duration maxBatchDelay, Duration maxUnsureDelay)
        implements Serializable {
    /** Unsure images wait at most {@code maxBatchDelay} too. */
    public BatchingSettings(int maxBatchSize, Duration maxBatchDelay) {
        this(maxBatchSize, maxBatchDelay, maxBatchDelay);
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
    }
}
