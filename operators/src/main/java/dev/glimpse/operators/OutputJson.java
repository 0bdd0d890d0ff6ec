package dev.glimpse.operators;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Base64;

/** The JSON of the captions and dead-letter topics (the contract in DESIGN.md). */
public final class OutputJson {
    private static final ObjectMapper JSON = new ObjectMapper();

    private OutputJson() {}

    public static byte[] caption(CaptionRecord c) {
        ImageRequest r = c.request;
        ObjectNode root = JSON.createObjectNode();
        root.put("id", r.id);
        root.put("caption", c.caption);
        root.put("model", c.model);
        root.put("prompt", c.prompt);
        root.put("tokens", c.tokens);
        // Rounded: a score for routing unsure captions, not a number to compare bit for bit.
        root.put("confidence", Math.round(c.confidence * 1e6) / 1e6);
        root.put("views", c.views);
        root.set("source", source(r.source));
        ObjectNode t = root.putObject("timings_ms");
        t.put("decode", r.decodeMs);
        t.put("embed", r.embedMs);
        t.put("queue", c.queueMs);
        t.put("inference", c.inferenceMs);
        t.put("total", c.completedAtMs - r.receivedAtMs);
        t.put("batch_size", c.batchSize);
        root.set("metadata", metadata(r.metadataJson));
        return bytes(root);
    }

    public static byte[] deadLetter(DeadLetter d) {
        ObjectNode root = JSON.createObjectNode();
        root.put("id", d.id);
        ObjectNode e = root.putObject("error");
        e.put("code", d.code.name());
        e.put("message", d.message);
        e.put("stage", d.stage);
        root.set("source", source(d.source));
        root.put("payload_bytes", d.payloadBytes);
        if (d.payloadHead != null) {
            root.put("payload_head_base64", Base64.getEncoder().encodeToString(d.payloadHead));
        } else {
            root.putNull("payload_head_base64");
        }
        return bytes(root);
    }

    private static ObjectNode source(SourceRef s) {
        ObjectNode n = JSON.createObjectNode();
        if (s.uri == null) {
            n.put("topic", s.topic);
            n.put("partition", s.partition);
            n.put("offset", s.offset);
        } else {
            // A bounded source: the file, or the manifest and the index of its line.
            n.put("uri", s.uri);
            if (s.offset >= 0) {
                n.put("line", s.offset);
            }
        }
        n.put("timestamp", s.timestamp);
        return n;
    }

    private static JsonNode metadata(String json) {
        if (json == null) {
            return JSON.nullNode();
        }
        try {
            return JSON.readTree(json);
        } catch (IOException e) {
            throw new UncheckedIOException("metadata was valid JSON when parsed: " + e.getMessage(), e);
        }
    }

    private static byte[] bytes(ObjectNode root) {
        try {
            return JSON.writeValueAsBytes(root);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
