package dev.glimpse.operators;

import java.io.Serializable;
import java.time.Duration;

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
 */
public record DecoderSettings(long maxPayloadBytes, long maxPixels, int maxPromptChars, int defaultMaxNewTokens,
                              int maxNewTokensCap, Duration fetchTimeout, int targetSize) implements Serializable {
    public DecoderSettings {
        if (maxPayloadBytes <= 0 || maxPixels <= 0 || maxPromptChars <= 0 || defaultMaxNewTokens <= 0
                || maxNewTokensCap < defaultMaxNewTokens || fetchTimeout.isNegative() || targetSize <= 0) {
            throw new IllegalArgumentException("invalid decoder settings: " + this);
        }
    }
}
