package dev.glimpse.connectors.reprocess;

import dev.glimpse.operators.ImageEvent;
import dev.glimpse.operators.SourceRef;
import java.nio.charset.StandardCharsets;

/**
 * One image a bounded listing found, as the record {@link dev.glimpse.operators.ImageDecoder} will
 * read: a JSON envelope naming the image by {@code uri} (so the decoder fetches it, within its limits,
 * and a file that cannot be read becomes a dead letter with its code), or a manifest line as written.
 *
 * @param id the image's id, or null to let the envelope (or the source coordinates) give it
 * @param value the envelope
 * @param envelope true when {@code value} must be read as an envelope whatever its first byte
 * @param sourceUri the file, or the manifest holding the line
 * @param offset the manifest line's index (from 0), or -1 for a file
 * @param timestamp the file's modification time (ms), or the manifest's
 */
public record ListedImage(String id, byte[] value, boolean envelope, String sourceUri, long offset, long timestamp) {
    ImageEvent toEvent(String defaultPrompt) {
        ImageEvent e = new ImageEvent(id == null ? null : id.getBytes(StandardCharsets.UTF_8), value, id, defaultPrompt,
                SourceRef.ofUri(sourceUri, offset, timestamp));
        e.envelope = envelope;
        return e;
    }
}
