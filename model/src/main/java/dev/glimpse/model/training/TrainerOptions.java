package dev.glimpse.model.training;

import java.nio.file.Path;

/** What the trainer does; the compact constructor names the flag of any bad value. */
public record TrainerOptions(
        int steps, int batchSize, double learningRate, double minLearningRate, int warmupSteps,
        double weightDecay, double clipNorm, long seed, Path out, boolean resume,
        int checkpointEvery, int logEvery, int dataThreads) {

    public TrainerOptions {
        require(steps > 0, "--steps must be positive");
        require(batchSize > 0, "--batch-size must be positive");
        require(learningRate > 0, "--lr must be positive");
        require(minLearningRate >= 0 && minLearningRate <= learningRate, "--min-lr must be in [0, --lr]");
        require(warmupSteps >= 0, "--warmup must be >= 0");
        require(weightDecay >= 0, "--weight-decay must be >= 0");
        require(clipNorm > 0, "--clip must be positive");
        require(out != null, "--out is required");
        require(checkpointEvery > 0, "--checkpoint-every must be positive");
        require(logEvery > 0, "--log-every must be positive");
        require(dataThreads > 0, "--data-threads must be positive");
    }

    private static void require(boolean ok, String message) {
        if (!ok) {
            throw new IllegalArgumentException(message);
        }
    }

    /** Linear warm-up, then cosine decay to the minimum. */
    public double learningRateAt(int step) {
        if (step < warmupSteps) {
            return learningRate * (step + 1) / warmupSteps;
        }
        double progress = Math.min(1.0, (double) (step - warmupSteps) / Math.max(1, steps - warmupSteps));
        return minLearningRate + 0.5 * (learningRate - minLearningRate) * (1 + Math.cos(Math.PI * progress));
    }
}
