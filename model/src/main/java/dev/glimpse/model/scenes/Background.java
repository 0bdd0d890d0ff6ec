package dev.glimpse.model.scenes;

import java.awt.Color;

/** The plain background of a scene, with the nominal RGB that the renderer jitters around. */
public enum Background {
    WHITE("white", new Color(245, 245, 245)),
    BLACK("black", new Color(15, 15, 15)),
    GRAY("gray", new Color(128, 128, 128));

    private final String word;
    private final Color nominal;

    Background(String word, Color nominal) {
        this.word = word;
        this.nominal = nominal;
    }

    /** The word used for this background in a caption. */
    public String word() {
        return word;
    }

    public Color nominal() {
        return nominal;
    }
}
