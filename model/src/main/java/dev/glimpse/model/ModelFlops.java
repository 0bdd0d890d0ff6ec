package dev.glimpse.model;

/**
 * The arithmetic a caption needs, counted from the model's shape: the floor that measured speed is
 * compared against. FLOPs are those of the matrix products (a multiply-add is 2 FLOPs): every linear
 * layer, the patch embedding, and attention's {@code q·kᵀ} and {@code scores·v}, causal attention
 * counting only the keys a query may see. Norms, activations, softmax and rotary embeddings are left
 * out (a few FLOPs per element, memory-bound, well under 1 % at these widths). Bytes are those a
 * decode step must read from memory: the decoder's matrices and head once per step (F32), and each
 * row's keys and values so far.
 *
 * <p>A caption of {@code n} new tokens is one prefill over {@code [image tokens ; prompt]}, which
 * yields the first token from the last position's logits, then {@code n - 1} decode steps of one
 * token each ({@link DecodingBatch}).
 */
public final class ModelFlops implements CaptionFlops {
    private final ModelConfig c;

    public ModelFlops(ModelConfig c) {
        this.c = c;
    }

    /** Patches of one image (or tile) through the patch embedding's projection. */
    public long patchEmbedding() {
        return 2L * c.numPatches() * c.patchDim() * c.vitHiddenDim;
    }

    /** The vision transformer's blocks over one image's patches (full attention). */
    public long visionEncoder() {
        long n = c.numPatches();
        long d = c.vitHiddenDim;
        long linearWeights = 3 * d * d + d * d + 2 * d * c.vitInterDim; // qkv, out, fc1, fc2
        long perBlock = 2 * n * linearWeights + 4 * n * n * d; // + q·kᵀ and scores·v over all pairs
        return c.vitNBlocks * perBlock;
    }

    /** Pixel shuffle (no arithmetic) and the projector, for one image's tokens. */
    public long projector() {
        long shuffled = (long) c.vitHiddenDim * c.mpPixelShuffleFactor * c.mpPixelShuffleFactor;
        long weights = c.mpHiddenDim == 0 ? shuffled * c.lmHiddenDim
                : shuffled * c.mpHiddenDim + (long) c.mpHiddenDim * c.lmHiddenDim;
        return 2L * c.imageTokens() * weights;
    }

    /** Everything before the decoder for one image (or tile). */
    @Override
    public long vision() {
        return patchEmbedding() + visionEncoder() + projector();
    }

    @Override
    public int decoderLayers() {
        return c.lmNBlocks;
    }

    @Override
    public long decoderWidth() {
        return c.lmHiddenDim;
    }

    @Override
    public long decoderKvWidth() {
        return (long) c.lmNKvHeads * c.lmHeadDim();
    }

    @Override
    public long decoderQueryWidth() {
        return (long) c.lmNHeads * c.lmHeadDim();
    }

    @Override
    public long decoderInnerWidth() {
        return c.lmInterDim;
    }

    @Override
    public long vocabulary() {
        return c.lmVocabSize;
    }
}
