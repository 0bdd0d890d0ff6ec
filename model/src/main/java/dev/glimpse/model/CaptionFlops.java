package dev.glimpse.model;

/**
 * The arithmetic and the decode-step bytes of a caption, counted from a model's shape: what a
 * benchmark's floor is computed from ({@link ModelFlops} for nanoVLM and SmolVLM, {@link
 * Qwen2VlFlops} for Qwen2-VL). FLOPs are those of the matrix products (a multiply-add is 2 FLOPs);
 * bytes are F32's.
 */
public interface CaptionFlops {
    /** Everything before the decoder for one image (or tile). */
    long vision();

    /** The decoder's blocks. */
    int decoderLayers();

    /** The decoder's width {@code d} (q and out are {@code d x d}). */
    long decoderWidth();

    /** The width of the keys (and of the values): kv heads times the head size. */
    long decoderKvWidth();

    /** The width of the queries: heads times the head size. */
    long decoderQueryWidth();

    /** The MLP's inner width (gate, up and down are {@code d x} this). */
    long decoderInnerWidth();

    /** The vocabulary the head scores. */
    long vocabulary();

    /** Weights of one decoder block's matrices: q, k, v, out, gate, up, down. */
    default long decoderBlockWeights() {
        long d = decoderWidth();
        return 2 * d * d + 2 * d * decoderKvWidth() + 3 * d * decoderInnerWidth();
    }

    /** Weights of the head. */
    default long headWeights() {
        return decoderWidth() * vocabulary();
    }

    /** Attention of one query over {@code keys} keys in one block: {@code q·kᵀ} and {@code scores·v} for every head. */
    default long attention(long keys) {
        return 4L * keys * decoderQueryWidth();
    }

    /** The decoder over a causal prefill of {@code length} tokens, then the head at the last position. */
    default long prefill(int length) {
        long pairs = (long) length * (length + 1) / 2;
        return decoderLayers() * (2L * length * decoderBlockWeights() + attention(pairs)) + 2 * headWeights();
    }

    /** One decode step of one row: a token that attends to {@code keys} keys (itself included), then the head. */
    default long decodeStep(int keys) {
        return decoderLayers() * (2 * decoderBlockWeights() + attention(keys)) + 2 * headWeights();
    }

    /** F32 bytes of the decoder's matrices and head: what every decode step reads, whatever the batch size. */
    default long decodeWeightBytes() {
        return Float.BYTES * (decoderLayers() * decoderBlockWeights() + headWeights());
    }

    /** F32 bytes of the keys and values one row reads at a step attending to {@code keys} keys. */
    default long kvBytes(int keys) {
        return (long) Float.BYTES * decoderLayers() * 2 * decoderKvWidth() * keys;
    }

    /** The {@code newTokens - 1} decode steps after a prefill of {@code prefillLength} tokens. */
    default long decode(int prefillLength, int newTokens) {
        long total = 0;
        for (int t = 1; t < newTokens; t++) {
            total += decodeStep(prefillLength + t);
        }
        return total;
    }

    /**
     * One caption: {@code images} images or tiles through the vision side, a prefill of
     * {@code prefillLength} tokens (their image tokens included), and {@code newTokens} new tokens.
     */
    default long caption(int images, int prefillLength, int newTokens) {
        return images * vision() + prefill(prefillLength) + decode(prefillLength, newTokens);
    }
}
