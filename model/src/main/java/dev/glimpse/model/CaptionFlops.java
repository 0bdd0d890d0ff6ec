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

    /** The decoder over a causal prefill of {@code length} tokens, then the head at the last position. */
    long prefill(int length);

    /** One decode step of one row: a token that attends to {@code keys} keys (itself included), then the head. */
    long decodeStep(int keys);

    /** F32 bytes of the decoder's matrices and head: what every decode step reads, whatever the batch size. */
    long decodeWeightBytes();

    /** F32 bytes of the keys and values one row reads at a step attending to {@code keys} keys. */
    long kvBytes(int keys);

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
