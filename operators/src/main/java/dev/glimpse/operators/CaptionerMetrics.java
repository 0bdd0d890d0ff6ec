package dev.glimpse.operators;

import ai.djl.Device;
import java.util.function.IntSupplier;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.Histogram;
import org.apache.flink.metrics.MeterView;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.runtime.metrics.DescriptiveStatisticsHistogram;

/**
 * The inference operator's metrics, beside the {@link StageMetrics} every stage has: batches and
 * their sizes, how long images waited for a batch, inference time per batch and per image, tokens
 * and images per second, the rows active in the decoding batch, the model's load time and device.
 * Histograms are in milliseconds; meters average over {@value #METER_SECONDS} s. With continuous
 * batching a batch is one decoding step: {@code numBatches} counts steps, {@code batchSize} is the
 * images decoding in a step and {@code batchInferenceMs} its time (the prefill of those joining
 * included).
 */
public class CaptionerMetrics extends StageMetrics {
    static final int METER_SECONDS = 10;

    private final Counter batches;
    private final Counter fromShiftedViews;
    private final Counter tokens;
    private final Histogram batchSize;
    private final Histogram queueWaitMs;
    private final Histogram batchInferenceMs;

    /**
     * {@code rowsActive}: rows of the decoding batch now (0 between forwards); {@code modelLoadMs}:
     * how long the shared model took to load, once per TaskManager.
     */
    public CaptionerMetrics(MetricGroup operatorGroup, IntSupplier rowsActive, Device device, long modelLoadMs) {
        super(operatorGroup, "imageInferenceMs");
        MetricGroup g = group();
        batches = g.counter("numBatches");
        // With adaptive test-time views: images whose unmoved view left them unsure, decoded again.
        fromShiftedViews = g.counter("numImagesFromShiftedViews");
        tokens = g.counter("numTokens");
        g.meter("tokensPerSecond", new MeterView(tokens, METER_SECONDS));
        g.meter("imagesPerSecond", new MeterView(recordsOutCounter(), METER_SECONDS));
        batchSize = g.histogram("batchSize", new DescriptiveStatisticsHistogram(HISTOGRAM_WINDOW));
        queueWaitMs = g.histogram("queueWaitMs", new DescriptiveStatisticsHistogram(HISTOGRAM_WINDOW));
        batchInferenceMs = g.histogram("batchInferenceMs", new DescriptiveStatisticsHistogram(HISTOGRAM_WINDOW));
        g.gauge("rowsActive", rowsActive::getAsInt);
        g.gauge("modelLoadTimeMs", () -> modelLoadMs);
        // The device as a label: Prometheus exports numeric gauges only.
        g.addGroup("device", deviceName(device)).gauge("inUse", () -> 1);
    }

    /** "cpu", or "gpu" and the index. */
    static String deviceName(Device device) {
        return device.isGpu() ? "gpu" + device.getDeviceId() : device.getDeviceType();
    }

    /** One batched forward of {@code rows} images that took {@code millis}. */
    public void batch(int rows, long millis, boolean secondLook) {
        batches.inc();
        batchSize.update(rows);
        batchInferenceMs.update(millis);
        if (secondLook) {
            fromShiftedViews.inc(rows);
        }
    }

    /** Continuous batching: one decoding step of {@code images} images that took {@code millis}. */
    public void decodingStep(int images, long millis) {
        batches.inc();
        batchSize.update(images);
        batchInferenceMs.update(millis);
    }

    /** Continuous batching: unsure images joining the batch for their second look. */
    public void secondLooks(int images) {
        fromShiftedViews.inc(images);
    }

    /** A caption emitted: its wait for a batch, its inference time (both looks) and tokens. */
    public void caption(CaptionRecord c) {
        queueWaitMs.update(c.queueMs);
        tokens.inc(c.tokens);
        recordOut(c.inferenceMs);
    }
}
