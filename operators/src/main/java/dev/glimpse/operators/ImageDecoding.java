package dev.glimpse.operators;

import dev.glimpse.model.ImageDecodeException;
import dev.glimpse.model.ImagePreprocessor;
import dev.glimpse.model.RgbImage;
import java.util.Base64;

/**
 * What {@link ImageDecoder} does to one record, without Flink: reads the raw bytes or the JSON
 * envelope, fetches a {@code uri}, checks the limits and decodes by magic bytes, into either the
 * image or the stable error code of what failed. The SQL model provider decodes its rows with it too.
 * Not thread-safe: one per task.
 */
public final class ImageDecoding implements AutoCloseable {
    /** What became of one record. */
    public sealed interface Outcome permits Decoded, Failed {
        ImageRequest request();
    }

    /** The image, with its request ({@code decodeMs} set). */
    public record Decoded(DecodedImage image) implements Outcome {
        @Override
        public ImageRequest request() {
            return image.request;
        }
    }

    /** Why the record cannot be captioned. */
    public record Failed(ImageRequest request, ErrorCode code, String message) implements Outcome {}

    private final DecoderSettings settings;
    private final UriPolicy uriPolicy;
    private final HostResolver resolver;
    private UriFetcher fetcher;

    public ImageDecoding(DecoderSettings settings) {
        this(settings, new UriPolicy(settings.allowedUris()), HostResolver.SYSTEM);
    }

    /** {@code uriPolicy}: the allow-list of {@code settings}, made (and checked) where the job is built. */
    ImageDecoding(DecoderSettings settings, UriPolicy uriPolicy, HostResolver resolver) {
        this.settings = settings;
        this.uriPolicy = uriPolicy;
        this.resolver = resolver;
    }

    /** Decodes {@code event}, received at {@code startMs}. */
    public Outcome decode(ImageEvent event, long startMs) {
        ImageRequest r = new ImageRequest();
        r.source = event.source;
        r.receivedAtMs = startMs;
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
                return new Failed(r, ErrorCode.BAD_ENVELOPE, e.getMessage());
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
                    return new Failed(r, ErrorCode.BAD_REQUEST, "max_new_tokens must be at least 1, got " + requested);
                }
                r.maxNewTokens = (int) Math.min(requested, settings.maxNewTokensCap());
            }
            if (env.imageBase64() != null) {
                try {
                    // Line breaks are common in base64 payloads; anything else outside the alphabet is an error.
                    image = Base64.getDecoder().decode(env.imageBase64().replaceAll("\\s", ""));
                } catch (IllegalArgumentException e) {
                    return new Failed(r, ErrorCode.BAD_ENVELOPE, "image_base64 is not valid base64: " + e.getMessage());
                }
                if (image.length == 0) {
                    return new Failed(r, ErrorCode.BAD_ENVELOPE, "image_base64 is empty");
                }
            } else {
                try {
                    image = fetcher().fetch(env.uri());
                } catch (UriFetcher.FetchException e) {
                    return new Failed(r, e.code, e.getMessage());
                }
            }
        }
        if (r.prompt != null && r.prompt.length() > settings.maxPromptChars()) {
            return new Failed(r, ErrorCode.BAD_REQUEST, "prompt of " + r.prompt.length()
                    + " characters exceeds the limit of " + settings.maxPromptChars());
        }
        RgbImage rgb;
        try {
            rgb = ImagePreprocessor.decodeRgb(image,
                    new ImagePreprocessor.Limits(settings.maxPayloadBytes(), settings.maxPixels()), settings.targetSize());
        } catch (ImageDecodeException e) {
            return new Failed(r, ErrorCode.valueOf(e.code().name()), e.getMessage());
        }
        r.decodeMs = System.currentTimeMillis() - startMs;
        return new Decoded(new DecodedImage(r, rgb));
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
            fetcher = null;
        }
    }
}
