package dev.glimpse.model.scenes;

/** The shape of a scene object; every shape fills a square bounding box. */
public enum Shape {
    CIRCLE("circle"),
    SQUARE("square"),
    /** Isosceles, apex up, base as wide as the triangle is tall. */
    TRIANGLE("triangle");

    private final String word;

    Shape(String word) {
        this.word = word;
    }

    /** The word used for this shape in a caption. */
    public String word() {
        return word;
    }
}
