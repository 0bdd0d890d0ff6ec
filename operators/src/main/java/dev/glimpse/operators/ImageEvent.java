package dev.glimpse.operators;

/** A record of the images topic as read: key, value, the headers Glimpse understands, and its source. */
public class ImageEvent {
    public byte[] key;
    public byte[] value;
    /** Header {@code id}, if present. */
    public String headerId;
    /** Header {@code prompt}, if present. */
    public String headerPrompt;
    public SourceRef source;
    /**
     * The value is a JSON envelope whatever its first byte (a manifest line), so a line that is not
     * JSON becomes {@code BAD_ENVELOPE} rather than an unknown image format.
     */
    public boolean envelope;

    public ImageEvent() {}

    public ImageEvent(byte[] key, byte[] value, String headerId, String headerPrompt, SourceRef source) {
        this.key = key;
        this.value = value;
        this.headerId = headerId;
        this.headerPrompt = headerPrompt;
        this.source = source;
    }
}
