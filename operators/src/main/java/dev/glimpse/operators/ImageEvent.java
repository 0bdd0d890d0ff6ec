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

    public ImageEvent() {}

    public ImageEvent(byte[] key, byte[] value, String headerId, String headerPrompt, SourceRef source) {
        this.key = key;
        this.value = value;
        this.headerId = headerId;
        this.headerPrompt = headerPrompt;
        this.source = source;
    }
}
