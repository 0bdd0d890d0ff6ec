package dev.glimpse.model.scenes;

/** The size class of a scene object: the range of its side as a fraction of the image width. */
public enum ObjectSize {
    SMALL("small", 0.12, 0.18),
    LARGE("large", 0.28, 0.38);

    private final String word;
    private final double minFraction;
    private final double maxFraction;

    ObjectSize(String word, double minFraction, double maxFraction) {
        this.word = word;
        this.minFraction = minFraction;
        this.maxFraction = maxFraction;
    }

    /** The word used for this size in a caption. */
    public String word() {
        return word;
    }

    public double minFraction() {
        return minFraction;
    }

    public double maxFraction() {
        return maxFraction;
    }
}
