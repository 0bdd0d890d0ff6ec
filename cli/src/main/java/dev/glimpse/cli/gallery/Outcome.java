package dev.glimpse.cli.gallery;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * One record of the captions or dead-letter topic, as the gallery shows it. Every string comes from
 * untrusted input (ids and prompts from image producers, captions from the model) and is escaped
 * when rendered.
 */
record Outcome(String id, String caption, double confidence, int views, String model, String prompt, int tokens,
               String errorCode, String errorMessage, String errorStage, long timestampMs, long totalMs) {

    /** A caption JSON or a dead-letter JSON (it has an {@code error}) of docs/contracts.md. */
    static Outcome of(JsonNode n) {
        JsonNode error = n.path("error");
        JsonNode timings = n.path("timings_ms");
        return new Outcome(text(n, "id"), error.isObject() ? null : text(n, "caption"),
                n.path("confidence").asDouble(Double.NaN), n.path("views").asInt(0), text(n, "model"),
                text(n, "prompt"), n.path("tokens").asInt(0),
                error.isObject() ? text(error, "code") : null, error.isObject() ? text(error, "message") : null,
                error.isObject() ? text(error, "stage") : null,
                n.path("source").has("topic") ? n.path("source").path("timestamp").asLong(-1) : -1,
                timings.path("total").asLong(-1));
    }

    boolean isDeadLetter() {
        return errorCode != null;
    }

    private static String text(JsonNode n, String field) {
        JsonNode v = n.get(field);
        return v == null || v.isNull() ? null : v.isValueNode() ? v.asText() : v.toString();
    }
}
