package dev.glimpse.model;

/**
 * {@link CaptionFlops} of a Qwen2-VL model for images of {@code patches} patches each: the patch
 * embedding (a 3-D convolution, one product per patch), the vision blocks with full attention over
 * an image's patches, the merger (a LayerNorm and two products over each group of {@code merge²}
 * patches), and the decoder (q, k, v, o, gate, up, down; grouped-query causal attention; the head).
 * Norms, activations, softmax and the rotary embeddings are left out, as in {@link ModelFlops}.
 */
public final class Qwen2VlFlops implements CaptionFlops {
    private final Qwen2VlConfig c;
    private final long patches;

    public Qwen2VlFlops(Qwen2VlConfig c, int patches) {
        this.c = c;
        this.patches = patches;
    }

    public long patchEmbedding() {
        return 2L * patches * c.patchValues() * c.visionEmbedDim();
    }

    public long visionEncoder() {
        long d = c.visionEmbedDim();
        long perBlock = 2 * patches * (4 * d * d + 2 * d * c.visionMlpDim()) + 4 * patches * patches * d;
        return c.visionDepth() * perBlock;
    }

    public long merger() {
        long merged = patches / ((long) c.mergeSize() * c.mergeSize());
        long grouped = (long) c.visionEmbedDim() * c.mergeSize() * c.mergeSize();
        return 2 * merged * (grouped * grouped + grouped * c.hiddenSize());
    }

    @Override
    public long vision() {
        return patchEmbedding() + visionEncoder() + merger();
    }

    @Override
    public int decoderLayers() {
        return c.layers();
    }

    @Override
    public long decoderWidth() {
        return c.hiddenSize();
    }

    @Override
    public long decoderKvWidth() {
        return (long) c.kvHeads() * c.headDim();
    }

    @Override
    public long decoderQueryWidth() {
        return (long) c.heads() * c.headDim();
    }

    @Override
    public long decoderInnerWidth() {
        return c.intermediateSize();
    }

    @Override
    public long vocabulary() {
        return c.vocabSize();
    }
}
