package dev.glimpse.model;

/** An image that cannot be turned into pixels, with a stable error code for dead letters. */
public final class ImageDecodeException extends Exception {
    /** Stable codes, part of the dead-letter contract. */
    public enum Code { UNSUPPORTED_FORMAT, IMAGE_TOO_LARGE, IMAGE_DECODE_FAILED, EMPTY_PAYLOAD }

    private final Code code;

    public ImageDecodeException(Code code, String message) {
        super(message);
        this.code = code;
    }

    public ImageDecodeException(Code code, String message, Throwable cause) {
        super(message, cause);
        this.code = code;
    }

    public Code code() {
        return code;
    }
}
