package dev.glimpse.operators;

/** One caption, as written to the captions topic. */
public class CaptionRecord {
    public ImageRequest request;
    public String caption;
    public String model;
    /** The prompt the caption answers: the request's, or the model's default. */
    public String prompt;
    public int tokens;
    public int batchSize;
    public long queueMs;
    public long inferenceMs;
    public long completedAtMs;

    public CaptionRecord() {}
}
