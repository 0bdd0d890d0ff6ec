package dev.glimpse.model;

/**
 * How the rows of one image's patch embeddings are decoded ({@link ImagePreprocessor#toViews} makes
 * them in this order).
 *
 * @param rows views per image
 * @param confidence 0: decode all rows of an image together. Above 0: decode row 0 (the unmoved
 *     image) alone first, and decode the other rows together, instead, for the images whose caption
 *     had a token less probable than this
 */
public record ViewPlan(int rows, double confidence) {
    /** One unmoved view per image. */
    public static final ViewPlan SINGLE = new ViewPlan(1, 0);

    public ViewPlan {
        if (rows < 1 || confidence < 0 || confidence > 1 || (confidence > 0 && rows < 2)) {
            throw new IllegalArgumentException("invalid view plan: " + rows + " row(s), confidence " + confidence);
        }
    }

    /** The plan of a model config's {@link ModelConfig#views()}. */
    public static ViewPlan of(ModelConfig cfg) {
        return new ViewPlan(cfg.views().length, cfg.viewConfidenceOrZero());
    }

    /** True when an adaptive plan decodes this first look again from the shifted views. */
    public boolean unsure(Captioner.Caption firstLook) {
        return adaptive() && firstLook.confidence() < confidence;
    }

    /** True when the shifted views are decoded only for the images their unmoved view left unsure. */
    public boolean adaptive() {
        return confidence > 0;
    }
}
