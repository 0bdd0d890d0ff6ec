package dev.glimpse.operators;

import java.io.Serializable;
import java.time.Duration;

/**
 * When the captioner runs a batch: as soon as {@code maxBatchSize} records wait, or
 * {@code maxBatchDelay} after the first of them arrived, whichever comes first.
 */
public record BatchingSettings(int maxBatchSize, Duration maxBatchDelay) implements Serializable {
    public BatchingSettings {
        if (maxBatchSize < 1) {
            throw new IllegalArgumentException("max-batch-size must be at least 1, got " + maxBatchSize);
        }
        if (maxBatchDelay.isNegative()) {
            throw new IllegalArgumentException("max-batch-delay must not be negative, got " + maxBatchDelay);
        }
    }
}
