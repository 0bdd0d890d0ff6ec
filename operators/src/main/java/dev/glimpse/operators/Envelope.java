package dev.glimpse.operators;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;

/**
 * The JSON envelope of the images topic:
 * {@code {"id", "image_base64" | "uri", "prompt"?, "max_new_tokens"?, "metadata"?}}.
 */
record Envelope(String id, String imageBase64, String uri, String prompt, Long maxNewTokens, String metadataJson) {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** True when the value looks like a JSON object (first non-blank byte is '{'): images never do. */
    static boolean looksLikeJson(byte[] value) {
        for (byte b : value) {
            if (b == ' ' || b == '\n' || b == '\r' || b == '\t') {
                continue;
            }
            return b == '{';
        }
        return false;
    }

    /** Parses and checks the envelope; the exception's message says what is wrong. */
    static Envelope parse(byte[] value) throws BadEnvelopeException {
        JsonNode root;
        try {
            root = JSON.readTree(value);
        } catch (IOException e) {
            throw new BadEnvelopeException("envelope is not valid JSON: " + firstLine(e.getMessage()));
        }
        if (root == null || !root.isObject()) {
            throw new BadEnvelopeException("envelope must be a JSON object");
        }
        String id = text(root, "id");
        String b64 = text(root, "image_base64");
        String uri = text(root, "uri");
        if ((b64 == null) == (uri == null)) {
            throw new BadEnvelopeException("envelope needs exactly one of image_base64 or uri");
        }
        String prompt = text(root, "prompt");
        Long maxNewTokens = null;
        JsonNode mnt = root.get("max_new_tokens");
        if (mnt != null && !mnt.isNull()) {
            if (!mnt.isIntegralNumber()) {
                throw new BadEnvelopeException("max_new_tokens must be an integer, got " + mnt);
            }
            maxNewTokens = mnt.canConvertToLong() ? mnt.asLong() : Long.MAX_VALUE;
        }
        JsonNode metadata = root.get("metadata");
        return new Envelope(id, b64, uri, prompt, maxNewTokens,
                metadata == null || metadata.isNull() ? null : metadata.toString());
    }

    private static String text(JsonNode root, String field) throws BadEnvelopeException {
        JsonNode n = root.get(field);
        if (n == null || n.isNull()) {
            return null;
        }
        if (!n.isTextual()) {
            throw new BadEnvelopeException(field + " must be a string, got " + n.getNodeType());
        }
        return n.asText();
    }

    private static String firstLine(String s) {
        if (s == null) {
            return "";
        }
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }

    /** An envelope that cannot be used, with a message that says why. */
    static final class BadEnvelopeException extends Exception {
        BadEnvelopeException(String message) {
            super(message);
        }
    }
}
