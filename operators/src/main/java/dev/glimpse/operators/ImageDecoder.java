package dev.glimpse.operators;

import dev.glimpse.model.ImageDecodeException;
import dev.glimpse.model.ImagePreprocessor;
import dev.glimpse.model.RgbImage;
import java.util.Arrays;
import java.util.Base64;
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
    private transient UriFetcher fetcher;
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
        metrics = new StageMetrics(getRuntimeContext().getMetricGroup(), "decodeMs");
    }

    @Override
    public void notifyCheckpointComplete(long checkpointId) {
        metrics.logCheckpoint(LOG, checkpointId, "decoded", false);
    }

    @Override
    public void processElement(ImageEvent event, Context ctx, Collector<DecodedImage> out) {
        metrics.recordIn();
        long start = System.currentTimeMillis();
        ImageRequest r = new ImageRequest();
        r.source = event.source;
        r.receivedAtMs = start;
        byte[] value = event.value == null ? new byte[0] : event.value;
        r.payloadBytes = value.length;
        r.id = ImageIds.beforeEnvelope(event);
        r.prompt = event.headerPrompt;
        r.maxNewTokens = settings.defaultMaxNewTokens();
        byte[] image = value;
        if (event.envelope || Envelope.looksLikeJson(value)) {
            Envelope env;
            try {
                env = Envelope.parse(value);
            } catch (Envelope.BadEnvelopeException e) {
                dead(ctx, r, value, ErrorCode.BAD_ENVELOPE, e.getMessage());
                return;
            }
            if (env.id() != null && !env.id().isBlank()) {
                r.id = env.id();
            }
            if (env.prompt() != null) {
                r.prompt = env.prompt();
            }
            r.metadataJson = env.metadataJson();
            if (env.maxNewTokens() != null) {
                long requested = env.maxNewTokens();
                if (requested < 1) {
                    dead(ctx, r, value, ErrorCode.BAD_REQUEST, "max_new_tokens must be at least 1, got " + requested);
                    return;
                }
                r.maxNewTokens = (int) Math.min(requested, settings.maxNewTokensCap());
            }
            if (env.imageBase64() != null) {
                try {
                    // Line breaks are common in base64 payloads; anything else outside the alphabet is an error.
                    image = Base64.getDecoder().decode(env.imageBase64().replaceAll("\\s", ""));
                } catch (IllegalArgumentException e) {
                    dead(ctx, r, value, ErrorCode.BAD_ENVELOPE, "image_base64 is not valid base64: " + e.getMessage());
                    return;
                }
                if (image.length == 0) {
                    dead(ctx, r, value, ErrorCode.BAD_ENVELOPE, "image_base64 is empty");
                    return;
                }
            } else {
                try {
                    image = fetcher().fetch(env.uri());
                } catch (UriFetcher.FetchException e) {
                    dead(ctx, r, value, e.code, e.getMessage());
                    return;
                }
            }
        }
        if (r.prompt != null && r.prompt.length() > settings.maxPromptChars()) {
            dead(ctx, r, value, ErrorCode.BAD_REQUEST, "prompt of " + r.prompt.length()
                    + " characters exceeds the limit of " + settings.maxPromptChars());
            return;
        }
        RgbImage rgb;
        try {
            rgb = ImagePreprocessor.decodeRgb(image,
                    new ImagePreprocessor.Limits(settings.maxPayloadBytes(), settings.maxPixels()), settings.targetSize());
        } catch (ImageDecodeException e) {
            dead(ctx, r, value, ErrorCode.valueOf(e.code().name()), e.getMessage());
            return;
        }
        r.decodeMs = System.currentTimeMillis() - start;
        metrics.recordOut(r.decodeMs);
        out.collect(new DecodedImage(r, rgb));
    }

    private UriFetcher fetcher() {
        if (fetcher == null) {
            fetcher = new UriFetcher(uriPolicy, settings.allowPrivateAddresses(), resolver, settings.maxPayloadBytes(),
                    settings.fetchTimeout());
        }
        return fetcher;
    }

    @Override
    public void close() throws Exception {
        if (fetcher != null) {
            fetcher.close();
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
