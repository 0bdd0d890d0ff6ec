package dev.glimpse.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.Shape;
import ai.djl.ndarray.types.SparseFormat;
import ai.djl.pytorch.jni.JniUtils;
import java.util.function.UnaryOperator;

/** The few tensor functions the layers share, written as the formulas of the original models. */
public final class Ops {
    private static final double SQRT_2_OVER_PI = Math.sqrt(2.0 / Math.PI);

    private Ops() {}

    /**
     * {@code x @ w^T + b}, as torch's {@code nn.Linear}; {@code b} may be null. One native call (no
     * transposed view of {@code w}, no separate bias add), whose result belongs to {@code x}'s manager.
     * With BF16 or F16 weights ({@link EngineDtype}) the product runs in that type and returns F32.
     */
    public static NDArray linear(NDArray x, NDArray w, NDArray b) {
        if (LowPrecision.isLow(w)) {
            return LowPrecision.linear(x, w, b);
        }
        return x.getNDArrayInternal().linear(x, w, b).singletonOrThrow();
    }

    public static NDArray layerNorm(NDArray x, NDArray gamma, NDArray beta, double eps) {
        return x.getNDArrayInternal()
                .layerNorm(x, new Shape(x.getShape().get(x.getShape().dimension() - 1)), gamma, beta, (float) eps)
                .singletonOrThrow();
    }

    /**
     * {@code x * s}. DJL's {@code mul(Number)} wraps the scalar in a native array over a Java buffer
     * and frees it right after the call, but autograd keeps that array for the backward pass, which
     * then reads freed memory (gradients turn to noise or NaN at random). This scalar stays alive
     * until the enclosing {@code NDScope} closes, after the backward pass.
     */
    public static NDArray scale(NDArray x, double s) {
        return x.mul(x.getManager().create((float) s));
    }

    /**
     * {@code block.apply(x)}, whose temporaries are freed as soon as it returns when no gradients
     * are being recorded, so that a forward holds one block's activations at a time rather than all
     * of them. {@code closeInput}: {@code x} is the previous block's output, freed too. Under a
     * {@code GradientCollector} nothing is freed early: the backward pass reads scalars that
     * {@link #scale} keeps alive until the enclosing scope closes.
     */
    public static NDArray freeingTemporaries(NDArray x, boolean closeInput, UnaryOperator<NDArray> block) {
        if (JniUtils.isGradMode()) {
            return block.apply(x);
        }
        NDArray y;
        try (NDScope ignored = new NDScope()) {
            y = block.apply(x);
            NDScope.unregister(y);
        }
        NDScope.register(y); // back to the caller's scope, if it has one
        if (closeInput) {
            x.close();
        }
        return y;
    }

    /** LLaMA's RMSNorm: {@code x * rsqrt(mean(x^2) + eps) * weight}. */
    public static NDArray rmsNorm(NDArray x, NDArray weight, double eps) {
        NDArray inverseRms = x.square().mean(new int[] {-1}, true).add(eps).sqrt(); // add() keeps no scalar for backward
        return x.div(inverseRms).mul(weight);
    }

    /**
     * GELU with the tanh approximation (SigLIP's and nanoVLM's {@code gelu(approximate='tanh')}).
     * Outside a {@code GradientCollector} the same operations run in place on one temporary instead
     * of making nine activation-sized arrays (450 MB for four SmolVLM tiles), two at a time at most.
     */
    public static NDArray geluTanh(NDArray x) {
        if (JniUtils.isGradMode()) {
            NDArray inner = scale(x.add(scale(x.mul(x).mul(x), 0.044715)), SQRT_2_OVER_PI);
            return scale(x.mul(inner.tanh().add(1)), 0.5);
        }
        NDArray y = x.mul(x); // x^2
        y.muli(x).muli((float) 0.044715).addi(x).muli((float) SQRT_2_OVER_PI); // sqrt(2/pi)(x + 0.044715 x^3)
        NDArray t = y.tanh();
        y.close();
        return t.addi(1f).muli(x).muli(0.5f);
    }

    /**
     * Attention weights {@code softmax(scores * s + mask)} over the last axis ({@code mask} may be
     * null). Outside a {@code GradientCollector} the scale and the mask are applied in place and
     * {@code scores} is freed once the softmax is made: two score-sized arrays at a time instead of
     * four ({@code B x H x T x T_kv} floats each, the largest temporaries of a forward).
     */
    public static NDArray attentionWeights(NDArray scores, double s, NDArray mask) {
        if (JniUtils.isGradMode()) {
            NDArray scaled = scale(scores, s);
            return (mask == null ? scaled : scaled.add(mask)).softmax(-1);
        }
        scores.muli((float) s);
        if (mask != null) {
            scores.addi(mask);
        }
        NDArray weights = scores.softmax(-1);
        scores.close();
        return weights;
    }

    public static NDArray silu(NDArray x) {
        return x.mul(x.getNDArrayInternal().sigmoid());
    }

    /** Rows of {@code table} picked by integer {@code ids}: {@code [..] -> [.., D]}, F32 whatever the table's type. */
    public static NDArray embedding(NDArray ids, NDArray table) {
        if (LowPrecision.isLow(table)) {
            return LowPrecision.embedding(ids, table);
        }
        return table.getNDArrayInternal().embedding(ids, table, SparseFormat.DENSE).singletonOrThrow();
    }
}
