package dev.glimpse.operators;

/** Stable dead-letter codes: consumers may branch on them, so they never change meaning. */
public enum ErrorCode {
    /** The payload is empty. */
    EMPTY_PAYLOAD,
    /** The bytes carry no known image signature (JPEG, PNG, GIF, BMP, WebP). */
    UNSUPPORTED_FORMAT,
    /** Bytes or declared pixels exceed the configured limits; refused before decoding. */
    IMAGE_TOO_LARGE,
    /** The bytes claim a known format but do not decode (truncated, corrupt). */
    IMAGE_DECODE_FAILED,
    /** A JSON envelope that does not parse, lacks an image, or has an invalid field. */
    BAD_ENVELOPE,
    /** A request field is out of range (prompt too long, max_new_tokens below 1). */
    BAD_REQUEST,
    /** A {@code uri} that cannot be fetched: unknown scheme, missing file, timeout, HTTP error. */
    URI_FETCH_FAILED,
    /**
     * A {@code uri} refused before anything is opened or requested: not under a prefix of
     * {@code decoder.allowed-uris}, or resolving to a non-public address (or redirected to one).
     */
    URI_NOT_ALLOWED,
    /** The model failed on this record alone (its batch-mates were retried without it). */
    INFERENCE_FAILED
}
