package dev.glimpse.operators;

import java.io.Serializable;
import java.time.Duration;
import java.util.List;

/**
 * The limits the decoder enforces, each a configuration option with a safe default.
 *
 * @param maxPayloadBytes largest image (or fetched URI body) accepted
 * @param maxPixels largest declared width × height decoded
 * @param maxPromptChars longest prompt accepted
 * @param defaultMaxNewTokens tokens generated when the request gives none
 * @param maxNewTokensCap larger requested values are clamped to this
 * @param fetchTimeout connect and read timeout of a URI fetch
 * @param targetSize the model's input side, to subsample huge images while decoding
 * @param allowedUris the URI prefixes a {@code uri} envelope may name; empty refuses every {@code uri}
 * @param allowPrivateAddresses whether http(s) fetches may reach loopback, link-local, private and
 *     other non-public addresses
 */
public record DecoderSettings(long maxPayloadBytes, long maxPixels, int maxPromptChars, int defaultMaxNewTokens,
                              int maxNewTokensCap, Duration fetchTimeout, int targetSize, List<String> allowedUris,
                              boolean allowPrivateAddresses) implements Serializable {
    public DecoderSettings {
        allowedUris = List.copyOf(allowedUris);
        if (maxPayloadBytes <= 0 || maxPixels <= 0 || maxPromptChars <= 0 || defaultMaxNewTokens <= 0
                || maxNewTokensCap < defaultMaxNewTokens || fetchTimeout.isNegative() || targetSize <= 0) {
            throw new IllegalArgumentException("invalid decoder settings: " + this);
        }
    }
}
