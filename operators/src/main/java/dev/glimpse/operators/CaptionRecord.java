package dev.glimpse.operators;

/** One caption, as written to the captions topic. */
public class CaptionRecord {
    public ImageRequest request;
    public String caption;
    public String model;
    /** The prompt the caption answers: the request's, or the model's default. */
    public String prompt;
    public int tokens;
    /** The lowest probability of any token of the caption, stop token included, under the views it was decoded from. */
    public double confidence;
    /** How many views of the image the caption was decoded from. */
    public int views;
    public int batchSize;
    public long queueMs;
    public long inferenceMs;
    public long completedAtMs;

    public CaptionRecord() {}
}
