package dev.glimpse.model.scenes;

import java.awt.Color;

/** The colour of a scene object, with the nominal RGB that the renderer jitters around. */
public enum SceneColour {
    RED("red", new Color(220, 40, 40)),
    GREEN("green", new Color(40, 170, 60)),
    BLUE("blue", new Color(40, 80, 220)),
    YELLOW("yellow", new Color(240, 210, 40)),
    PURPLE("purple", new Color(140, 60, 180)),
    ORANGE("orange", new Color(245, 140, 30));

    private final String word;
    private final Color nominal;

    SceneColour(String word, Color nominal) {
        this.word = word;
        this.nominal = nominal;
    }

    /** The word used for this colour in a caption. */
    public String word() {
        return word;
    }

    public Color nominal() {
        return nominal;
    }
}
