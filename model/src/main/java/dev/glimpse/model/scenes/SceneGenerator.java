package dev.glimpse.model.scenes;

import java.util.Arrays;
import java.util.Random;

/**
 * Generates scene samples. Each sample depends only on (seed, index), so samples can be made on
 * any number of threads, in any order, and come out byte for byte the same.
 */
public final class SceneGenerator {

    // Weyl increment and finaliser of SplittableRandom: neighbouring seeds and indices
    // get unrelated streams.
    private static final long GOLDEN_GAMMA = 0x9e3779b97f4a7c15L;

    private final long seed;
    private final double[] countWeights;
    private final double hardShare;

    /** Share of small objects in a hard scene (a plain scene: one half). */
    static final double HARD_SMALL_SHARE = 0.75;

    public SceneGenerator(long seed) {
        this(seed, null);
    }

    /** Scenes whose object count follows {@code countWeights} (for 1, 2, 3 objects; null: uniform). */
    public SceneGenerator(long seed, double[] countWeights) {
        this(seed, countWeights, 0);
    }

    /**
     * As {@link #SceneGenerator(long, double[])}, with a share {@code hardShare} (0 to 1) of the
     * scenes drawn from the hardest corner of the contract: {@link RenderOptions#hard} images whose
     * objects are small three times in four. Every scene stays within SCENES.md; training uses this
     * to spend more of its samples where the model still errs. With 0 the samples are exactly those
     * of the plain generator.
     */
    public SceneGenerator(long seed, double[] countWeights, double hardShare) {
        if (!validHardShare(hardShare)) {
            throw new IllegalArgumentException("hard share must be in 0..1, got " + hardShare);
        }
        this.hardShare = hardShare;
        if (countWeights != null && !Scene.validCountWeights(countWeights)) {
            throw new IllegalArgumentException("object count weights must be " + Scene.MAX_OBJECTS
                    + " non-negative numbers, not all zero: " + Arrays.toString(countWeights));
        }
        this.seed = seed;
        this.countWeights = countWeights == null ? null : countWeights.clone();
    }

    /** Whether {@code share} can be a hard share: a number from 0 to 1 (NaN is not). */
    public static boolean validHardShare(double share) {
        return share >= 0 && share <= 1;
    }

    public long seed() {
        return seed;
    }

    public SceneSample sample(long index) {
        Random rnd = new Random(mix64(mix64(seed) + index * GOLDEN_GAMMA));
        boolean hard = hardShare > 0 && rnd.nextDouble() < hardShare;
        Scene scene = hard ? Scene.random(rnd, countWeights, HARD_SMALL_SHARE) : Scene.random(rnd, countWeights);
        RenderOptions options = hard ? RenderOptions.hard(rnd) : RenderOptions.random(rnd);
        byte[] encoded = SceneRenderer.encode(SceneRenderer.render(scene, options, rnd), options);
        return new SceneSample("scene-" + seed + "-" + index, scene, options, encoded);
    }

    private static long mix64(long z) {
        z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
        z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
        return z ^ (z >>> 31);
    }
}
