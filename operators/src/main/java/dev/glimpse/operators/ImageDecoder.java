package dev.glimpse.operators;

import java.util.Arrays;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.CheckpointListener;
import org.apache.flink.streaming.api.functions.ProcessFunction;
import org.apache.flink.util.Collector;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Turns a record of the images topic into RGB pixels: reads the raw bytes or the JSON envelope,
 * fetches a {@code uri}, checks the limits, and decodes by magic bytes. Anything that fails becomes
 * exactly one dead letter with a stable code; the job keeps going.
 */
public class ImageDecoder extends ProcessFunction<ImageEvent, DecodedImage> implements CheckpointListener {
    public static final String STAGE = "ImageDecoder";
    private static final Logger LOG = LoggerFactory.getLogger(ImageDecoder.class);

    private final DecoderSettings settings;
    private final UriPolicy uriPolicy;
    private final HostResolver resolver;
    private transient ImageDecoding decoding;
    private transient StageMetrics metrics;

    public ImageDecoder(DecoderSettings settings) {
        this(settings, HostResolver.SYSTEM);
    }

    /** A decoder whose http(s) fetches resolve host names with {@code resolver}. */
    ImageDecoder(DecoderSettings settings, HostResolver resolver) {
        this.settings = settings;
        this.uriPolicy = new UriPolicy(settings.allowedUris());
        this.resolver = resolver;
    }

    @Override
    public void open(OpenContext openContext) {
        decoding = new ImageDecoding(settings, uriPolicy, resolver);
        metrics = new StageMetrics(getRuntimeContext().getMetricGroup(), "decodeMs");
    }

    @Override
    public void notifyCheckpointComplete(long checkpointId) {
        metrics.logCheckpoint(LOG, checkpointId, "decoded", false);
    }

    @Override
    public void processElement(ImageEvent event, Context ctx, Collector<DecodedImage> out) {
        metrics.recordIn();
        ImageDecoding.Outcome outcome = decoding.decode(event, System.currentTimeMillis());
        if (outcome instanceof ImageDecoding.Failed f) {
            dead(ctx, f.request(), event.value == null ? new byte[0] : event.value, f.code(), f.message());
            return;
        }
        DecodedImage image = ((ImageDecoding.Decoded) outcome).image();
        metrics.recordOut(image.request.decodeMs);
        out.collect(image);
    }

    @Override
    public void close() throws Exception {
        if (decoding != null) {
            decoding.close();
        }
        super.close();
    }

    /**
     * A dead letter whose head is that of the Kafka record's own value: bytes fetched from a uri are
     * the target's, and a producer must never read them back through the dead-letter topic.
     */
    private void dead(Context ctx, ImageRequest r, byte[] recordValue, ErrorCode code, String message) {
        metrics.deadLetter(code);
        byte[] head = Arrays.copyOf(recordValue, Math.min(recordValue.length, DeadLetter.HEAD_BYTES));
        ctx.output(DeadLetters.TAG, new DeadLetter(r.id, code, message, STAGE, r.source, recordValue.length, head));
    }
}
