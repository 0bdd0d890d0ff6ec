package dev.glimpse.model.scenes;

import java.util.Objects;

/**
 * One object of a scene. Geometry is in fractions of the canvas width, so a scene renders the
 * same at any canvas size: {@code (cx, cy)} is the centre and {@code side} the width and height
 * of the object's square bounding box.
 */
public record SceneObject(
        Shape shape, SceneColour colour, ObjectSize size, double cx, double cy, double side) {

    public SceneObject {
        Objects.requireNonNull(shape, "shape");
        Objects.requireNonNull(colour, "colour");
        Objects.requireNonNull(size, "size");
        if (!(side > 0 && side <= 1)) {
            throw new IllegalArgumentException("side must be in (0, 1], got " + side);
        }
    }

    public double left() {
        return cx - side / 2;
    }

    public double right() {
        return cx + side / 2;
    }

    public double top() {
        return cy - side / 2;
    }

    public double bottom() {
        return cy + side / 2;
    }

    /**
     * How far apart the bounding boxes are along the better of x and y; negative when they
     * overlap. The scenes contract asks for at least 0.03 between any two objects.
     */
    public double gapTo(SceneObject other) {
        double gapX = Math.max(other.left() - right(), left() - other.right());
        double gapY = Math.max(other.top() - bottom(), top() - other.bottom());
        return Math.max(gapX, gapY);
    }

    /** This object as it appears in a caption, e.g. {@code a small red circle}. */
    public String phrase() {
        return "a " + size.word() + " " + colour.word() + " " + shape.word();
    }
}
