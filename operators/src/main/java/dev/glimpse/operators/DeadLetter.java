package dev.glimpse.operators;

/** A record that could not be captioned, with the reason; written to the dead-letter topic. */
public class DeadLetter {
    public String id;
    public ErrorCode code;
    public String message;
    /** The operator that gave up on the record. */
    public String stage;
    public SourceRef source;
    /** Size of the Kafka record's own value. */
    public long payloadBytes;
    /**
     * The first bytes of the Kafka record's own value, to recognise it without the whole; never bytes
     * fetched from a {@code uri}, which a producer must not read back through the dead-letter topic.
     */
    public byte[] payloadHead;

    public DeadLetter() {}

    public DeadLetter(String id, ErrorCode code, String message, String stage, SourceRef source,
                      long payloadBytes, byte[] payloadHead) {
        this.id = id;
        this.code = code;
        this.message = message;
        this.stage = stage;
        this.source = source;
        this.payloadBytes = payloadBytes;
        this.payloadHead = payloadHead;
    }

    public static final int HEAD_BYTES = 64;

    public static DeadLetter of(ImageRequest r, ErrorCode code, String message, String stage) {
        return new DeadLetter(r.id, code, message, stage, r.source, r.payloadBytes, null);
    }
}
