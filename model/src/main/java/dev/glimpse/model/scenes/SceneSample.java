package dev.glimpse.model.scenes;

/**
 * One generated training or evaluation example. The encoded bytes are shared, not copied:
 * treat them as read-only.
 */
public record SceneSample(String id, Scene scene, RenderOptions options, byte[] encoded) {

    public String caption() {
        return scene.caption();
    }

    /** The image's file name: its id with the extension of its format. */
    public String fileName() {
        return id + "." + options.fileExtension();
    }
}
