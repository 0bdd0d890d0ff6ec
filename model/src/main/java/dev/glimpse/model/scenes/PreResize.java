package dev.glimpse.model.scenes;

import java.util.Objects;

/** Render at {@code renderSize} first, then resize to the canvas with {@code filter}. */
public record PreResize(int renderSize, ResizeFilter filter) {

    public PreResize {
        if (renderSize < 1) {
            throw new IllegalArgumentException("renderSize must be positive, got " + renderSize);
        }
        Objects.requireNonNull(filter, "filter");
    }
}
