package dev.glimpse.operators;

/** What every stage carries about a request besides its pixels: who it is, what it asks, timings. */
public class ImageRequest {
    public String id;
    /** The request's prompt, or null for the model's default. */
    public String prompt;
    /** Cap on generated tokens, already validated and clamped. */
    public int maxNewTokens;
    /** The envelope's {@code metadata}, as raw JSON, or null. */
    public String metadataJson;
    public SourceRef source;
    /** Size of the Kafka record's value (for a uri, the envelope's, not the fetched image's). */
    public long payloadBytes;
    /** Wall-clock time the decoder received the record. */
    public long receivedAtMs;
    public long decodeMs;
    public long embedMs;

    public ImageRequest() {}

    public ImageRequest copy() {
        ImageRequest r = new ImageRequest();
        r.id = id;
        r.prompt = prompt;
        r.maxNewTokens = maxNewTokens;
        r.metadataJson = metadataJson;
        r.source = source;
        r.payloadBytes = payloadBytes;
        r.receivedAtMs = receivedAtMs;
        r.decodeMs = decodeMs;
        r.embedMs = embedMs;
        return r;
    }
}
