package dev.glimpse.model.scenes;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.Random;

/** A scene of the built-in model's world (see SCENES.md): a plain background and 1-3 objects. */
public record Scene(Background background, List<SceneObject> objects) {

    public static final int MAX_OBJECTS = 3;

    // The contract asks for a 3 % gap and an 8 % centre distance; the extra half percent keeps
    // both true after rounding to pixels on the smallest canvases.
    static final double MIN_GAP = 0.035;
    static final double MIN_CENTRE_DX = 0.085;
    static final double EDGE_MARGIN = 0.01;

    private static final int LAYOUT_ATTEMPTS = 10_000;
    private static final int POSITION_TRIES = 100;

    /** Sorts the objects left to right by centre x, the order in which the caption lists them. */
    public Scene {
        Objects.requireNonNull(background, "background");
        Objects.requireNonNull(objects, "objects");
        if (objects.isEmpty() || objects.size() > MAX_OBJECTS) {
            throw new IllegalArgumentException(
                    "a scene has 1 to " + MAX_OBJECTS + " objects, got " + objects.size());
        }
        objects = objects.stream().sorted(Comparator.comparingDouble(SceneObject::cx)).toList();
    }

    /** The ground-truth caption, e.g. {@code a large red circle on a white background}. */
    public String caption() {
        List<String> phrases = objects.stream().map(SceneObject::phrase).toList();
        int last = phrases.size() - 1;
        String listed = last == 0
                ? phrases.get(0)
                : String.join(", ", phrases.subList(0, last)) + " and " + phrases.get(last);
        return listed + " on a " + background.word() + " background";
    }

    /**
     * Draws a scene: count, background and every object attribute uniformly, the side uniformly
     * within its size class, and positions by rejection sampling until the spacing rules hold.
     */
    public static Scene random(Random rnd) {
        return random(rnd, null);
    }

    /**
     * As {@link #random(Random)}, but the object count drawn with the given relative weights for
     * 1, 2 and 3 objects (null: uniform, and the same draws as {@link #random(Random)}). Training
     * can lean on the harder many-object scenes this way; every scene stays within the contract.
     * The weights must pass {@link #validCountWeights} ({@link SceneGenerator} checks them once).
     */
    static Scene random(Random rnd, double[] countWeights) {
        return random(rnd, countWeights, -1);
    }

    /**
     * As {@link #random(Random, double[])}, but each object small with probability
     * {@code smallShare} (negative: uniform over the sizes, the same draws as without it).
     */
    static Scene random(Random rnd, double[] countWeights, double smallShare) {
        Background background = pick(Background.values(), rnd);
        int count = countWeights == null ? 1 + rnd.nextInt(MAX_OBJECTS) : weighted(countWeights, rnd);
        List<Attributes> kinds = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            Shape shape = pick(Shape.values(), rnd);
            SceneColour colour = pick(SceneColour.values(), rnd);
            ObjectSize size = smallShare < 0 ? pick(ObjectSize.values(), rnd)
                    : rnd.nextDouble() < smallShare ? ObjectSize.SMALL : ObjectSize.LARGE;
            kinds.add(new Attributes(shape, colour, size));
        }
        for (int attempt = 0; attempt < LAYOUT_ATTEMPTS; attempt++) {
            List<SceneObject> placed = tryLayout(kinds, rnd);
            if (placed != null) {
                return new Scene(background, placed);
            }
        }
        throw new IllegalStateException("no layout found for " + kinds);
    }

    /** Places the objects one by one; null when one of them finds no free spot. */
    private static List<SceneObject> tryLayout(List<Attributes> kinds, Random rnd) {
        List<SceneObject> placed = new ArrayList<>(kinds.size());
        for (Attributes kind : kinds) {
            double side = uniform(kind.size().minFraction(), kind.size().maxFraction(), rnd);
            double lo = EDGE_MARGIN + side / 2;
            double hi = 1 - EDGE_MARGIN - side / 2;
            SceneObject found = null;
            for (int t = 0; t < POSITION_TRIES && found == null; t++) {
                SceneObject candidate = new SceneObject(kind.shape(), kind.colour(), kind.size(),
                        uniform(lo, hi, rnd), uniform(lo, hi, rnd), side);
                if (placed.stream().allMatch(other -> wellApart(candidate, other))) {
                    found = candidate;
                }
            }
            if (found == null) {
                return null;
            }
            placed.add(found);
        }
        return placed;
    }

    /** What an object looks like before it has a place. */
    private record Attributes(Shape shape, SceneColour colour, ObjectSize size) {}

    private static boolean wellApart(SceneObject a, SceneObject b) {
        return a.gapTo(b) >= MIN_GAP && Math.abs(a.cx() - b.cx()) >= MIN_CENTRE_DX;
    }

    /** Whether {@code weights} can weigh object counts: one non-negative number per count, not all zero. */
    public static boolean validCountWeights(double[] weights) {
        return weights.length == MAX_OBJECTS && Arrays.stream(weights).allMatch(w -> w >= 0)
                && Arrays.stream(weights).sum() > 0;
    }

    private static int weighted(double[] weights, Random rnd) {
        double r = rnd.nextDouble() * Arrays.stream(weights).sum();
        for (int i = 0; i < weights.length - 1; i++) {
            r -= weights[i];
            if (r < 0) {
                return i + 1;
            }
        }
        return weights.length;
    }

    private static double uniform(double min, double max, Random rnd) {
        return min + rnd.nextDouble() * (max - min);
    }

    private static <T> T pick(T[] values, Random rnd) {
        return values[rnd.nextInt(values.length)];
    }
}
