package dev.glimpse.model.training;

import dev.glimpse.model.scenes.Scene;
import dev.glimpse.model.scenes.SceneGenerator;
import java.nio.file.Path;

/**
 * What the trainer does; the compact constructor names the flag of any bad value. {@code initFrom}
 * (may be null) warm-starts a new run from a model folder's weights with a fresh optimizer;
 * {@code lmBlocks} sets the decoder depth of a new model, or, above a warm start's depth, appends
 * decoder blocks that start as the identity (0: the configuration's or the source's depth).
 * {@code countWeights} (may be null: uniform, as SCENES.md draws them) weighs how often scenes
 * with 1, 2 and 3 objects are drawn; {@code hardShare} (0 to 1) is the share of scenes drawn from
 * the hardest corner of the contract ({@link SceneGenerator}). {@code imageSize} sets the input size
 * of a new model, or of a warm start, whose position embeddings are then interpolated to the new
 * patch grid (0: the configuration's or the source's size). {@code vitBlocks} does for the vision
 * encoder what {@code lmBlocks} does for the decoder.
 */
public record TrainerOptions(
        int steps, int batchSize, double learningRate, double minLearningRate, int warmupSteps,
        double weightDecay, double clipNorm, long seed, Path out, boolean resume,
        int checkpointEvery, int logEvery, int dataThreads, Path initFrom, int lmBlocks, double[] countWeights,
        double hardShare, int imageSize, int vitBlocks) {

    /** Options for a run from scratch (no warm start, the configuration's own decoder depth). */
    public TrainerOptions(int steps, int batchSize, double learningRate, double minLearningRate, int warmupSteps,
                          double weightDecay, double clipNorm, long seed, Path out, boolean resume,
                          int checkpointEvery, int logEvery, int dataThreads) {
        this(steps, batchSize, learningRate, minLearningRate, warmupSteps, weightDecay, clipNorm, seed, out, resume,
                checkpointEvery, logEvery, dataThreads, null, 0, null, 0, 0, 0);
    }

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
        require(lmBlocks >= 0, "--lm-blocks must be >= 0");
        require(countWeights == null || Scene.validCountWeights(countWeights),
                "--object-weights must be " + Scene.MAX_OBJECTS + " non-negative numbers, not all zero");
        require(SceneGenerator.validHardShare(hardShare), "--hard-share must be in [0, 1]");
        require(imageSize >= 0, "--image-size must be >= 0");
        require(vitBlocks >= 0, "--vit-blocks must be >= 0");
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
