package dev.glimpse.operators;

import java.nio.charset.StandardCharsets;

/**
 * An image's id, as {@link ImageDecoder} assigns it: the envelope's {@code id}, else the header
 * {@code id}, else the record key, else the source coordinates. Stable when the same record is read
 * again, so a rerun can skip the images that already have an outcome before decoding them.
 */
public final class ImageIds {
    private ImageIds() {}

    /** The id of {@code event}, reading its envelope's {@code id} when it has one. */
    public static String of(ImageEvent event) {
        byte[] value = event.value == null ? new byte[0] : event.value;
        if (event.envelope || Envelope.looksLikeJson(value)) {
            try {
                String id = Envelope.parse(value).id();
                if (id != null && !id.isBlank()) {
                    return id;
                }
            } catch (Envelope.BadEnvelopeException e) {
                // Its dead letter carries the id the envelope could not give.
            }
        }
        return beforeEnvelope(event);
    }

    /** The header {@code id}, else the record key, else the source coordinates. */
    static String beforeEnvelope(ImageEvent event) {
        if (event.headerId != null && !event.headerId.isBlank()) {
            return event.headerId;
        }
        String key = event.key == null ? null : new String(event.key, StandardCharsets.UTF_8);
        return key != null && !key.isBlank() ? key : event.source.coordinates();
    }
}
