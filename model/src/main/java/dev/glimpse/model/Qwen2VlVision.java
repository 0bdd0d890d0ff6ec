package dev.glimpse.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import java.util.ArrayList;
import java.util.List;

/**
 * Qwen2-VL's vision tower ({@code Qwen2VisionTransformerPretrainedModel}): a patch embedding (the
 * Conv3d over {@code T x P x P} as one matrix product), blocks of pre-norm attention with 2-D rotary
 * positions and a QuickGELU MLP, and the patch merger (LayerNorm, the {@code merge x merge} window's
 * patches concatenated, Linear, exact GELU, Linear). Attention stays within each image, so each image
 * runs alone: the same result as the original's block-diagonal mask, without an {@code N x N} mask
 * over every image of a batch.
 */
public final class Qwen2VlVision {
    private static final double LN_EPS = 1e-6;
    private static final double VISION_THETA = 10000;

    private final Qwen2VlConfig cfg;
    private final Weights w;
    /** {@code head_dim / 4} rotary frequencies per axis (theta 10000, fixed). */
    private final float[] invFreq;

    /** What one forward computes, stage by stage (the intermediate stages only when asked). */
    public record Output(NDArray patchEmbed, List<NDArray> blockOutputs, NDArray merged) {}

    public Qwen2VlVision(Qwen2VlConfig cfg, Weights w) {
        this.cfg = cfg;
        this.w = w;
        int dim = cfg.visionHeadDim() / 2;
        this.invFreq = new float[dim / 2];
        for (int i = 0; i < invFreq.length; i++) {
            float exponent = (float) (2 * i) / dim;
            invFreq[i] = 1.0f / (float) Math.pow(VISION_THETA, exponent);
        }
    }

    /** Image tokens {@code [sum(t·h·w) / merge², D_lm]} of the images' patches, in order. */
    public NDArray forward(NDArray pixelValues, int[][] grids) {
        return forward(pixelValues, grids, false).merged();
    }

    /**
     * @param pixelValues {@code [sum(t·h·w), C·T·P·P]}, each image's patches in merge-window order
     * @param grids {@code {t, h, w}} per image, in patches
     * @param stages keep the patch embedding and each block's output ({@code [sum(N), E]} each)
     */
    public Output forward(NDArray pixelValues, int[][] grids, boolean stages) {
        NDArray weight = w.get("visual.patch_embed.proj.weight");
        NDArray proj = weight.reshape(weight.getShape().get(0), -1); // [E, C·T·P·P]
        NDList embeds = new NDList();
        List<NDList> blocks = new ArrayList<>();
        for (int b = 0; b < cfg.visionDepth(); b++) {
            blocks.add(new NDList());
        }
        NDList merged = new NDList();
        long from = 0;
        for (int[] g : grids) {
            long n = (long) g[0] * g[1] * g[2];
            NDArray x = Ops.linear(pixelValues.get(new NDIndex("{}:{}", from, from + n)), proj, null); // [N, E]
            if (stages) {
                embeds.add(x);
            }
            NDArray[] cosSin = rotary(x.getManager(), g);
            for (int b = 0; b < cfg.visionDepth(); b++) {
                String p = "visual.blocks." + b + ".";
                // Each block's temporaries (60 MB per block for a 448 px image at the 2B shape) are freed as it returns.
                x = Ops.freeingTemporaries(x, b > 0 && !stages, in -> block(in, p, cosSin));
                if (stages) {
                    blocks.get(b).add(x);
                }
            }
            merged.add(merger(x)); // [N / merge², D_lm]
            from += n;
        }
        List<NDArray> blockOutputs = new ArrayList<>();
        if (stages) {
            for (NDList l : blocks) {
                blockOutputs.add(NDArrays.concat(l, 0));
            }
        }
        return new Output(stages ? NDArrays.concat(embeds, 0) : null, blockOutputs,
                merged.size() == 1 ? merged.get(0) : NDArrays.concat(merged, 0));
    }

    /** The (row, col) patch coordinates of one image's patches in merge-window order: {@code [N][2]}. */
    public static long[][] positionIds(int[] grid, int mergeSize) {
        int t = grid[0];
        int h = grid[1];
        int wd = grid[2];
        int m = mergeSize;
        long[][] out = new long[t * h * wd][];
        int i = 0;
        for (int f = 0; f < t; f++) {
            for (int wr = 0; wr < h / m; wr++) {
                for (int wc = 0; wc < wd / m; wc++) {
                    for (int r = 0; r < m; r++) {
                        for (int c = 0; c < m; c++) {
                            out[i++] = new long[] {(long) wr * m + r, (long) wc * m + c};
                        }
                    }
                }
            }
        }
        return out;
    }

    /** The rotary angles {@code [N, head_dim / 2]} of one image: the row's frequencies, then the column's. */
    public NDArray rotaryAngles(NDManager m, int[] grid) {
        long[][] pos = positionIds(grid, cfg.mergeSize());
        int q = invFreq.length;
        float[] angles = new float[pos.length * 2 * q];
        for (int i = 0; i < pos.length; i++) {
            for (int j = 0; j < q; j++) {
                angles[i * 2 * q + j] = (float) pos[i][0] * invFreq[j];
                angles[i * 2 * q + q + j] = (float) pos[i][1] * invFreq[j];
            }
        }
        return m.create(angles, new Shape(pos.length, 2L * q));
    }

    /** cos and sin {@code [1, N, head_dim]} of the angles repeated twice (rotate_half works on halves). */
    private NDArray[] rotary(NDManager m, int[] grid) {
        NDArray angles = rotaryAngles(m, grid);
        NDArray emb = NDArrays.concat(new NDList(angles, angles), 1).expandDims(0); // [1, N, hd]
        return new NDArray[] {emb.cos(), emb.sin()};
    }

    private NDArray block(NDArray x, String p, NDArray[] cosSin) {
        NDArray h = x.add(attention(Ops.layerNorm(x, w.get(p + "norm1.weight"), w.get(p + "norm1.bias"), LN_EPS),
                p + "attn.", cosSin));
        NDArray mlpIn = Ops.layerNorm(h, w.get(p + "norm2.weight"), w.get(p + "norm2.bias"), LN_EPS);
        if (LowPrecision.isLow(w.get(p + "mlp.fc1.weight"))) { // one call; the hidden activations stay BF16/F16
            return h.add(LowPrecision.mlpQuickGelu(mlpIn, w.get(p + "mlp.fc1.weight"), w.get(p + "mlp.fc1.bias"),
                    w.get(p + "mlp.fc2.weight"), w.get(p + "mlp.fc2.bias")));
        }
        NDArray hidden = quickGelu(Ops.linear(mlpIn, w.get(p + "mlp.fc1.weight"), w.get(p + "mlp.fc1.bias")));
        return h.add(Ops.linear(hidden, w.get(p + "mlp.fc2.weight"), w.get(p + "mlp.fc2.bias")));
    }

    /** Bidirectional attention over one image's patches {@code [N, E]}. */
    private NDArray attention(NDArray x, String p, NDArray[] cosSin) {
        long n = x.getShape().get(0);
        int heads = cfg.visionHeads();
        int hd = cfg.visionHeadDim();
        NDArray qkv = Ops.linear(x, w.get(p + "qkv.weight"), w.get(p + "qkv.bias"))
                .reshape(n, 3, heads, hd).transpose(1, 2, 0, 3); // [3, H, N, hd]
        NDArray q = applyRotary(qkv.get(0), cosSin);
        NDArray k = applyRotary(qkv.get(1), cosSin);
        NDArray v = qkv.get(2);
        NDArray qkvWeight = w.get(p + "qkv.weight");
        NDArray attended; // [H, N, hd]
        EngineDtype type = LowPrecision.typeOf(qkvWeight);
        if (DecoderKernel.attendsByHead(type, n, x)) {
            // A large image in BF16 on a CPU: one head at a time, as the SigLIP towers (DecoderKernel#attentionByHead)
            attended = DecoderKernel.attentionByHead(q.expandDims(0), k.expandDims(0), v.expandDims(0), null, 1.0 / Math.sqrt(hd), false)
                    .squeeze(0);
        } else if (LowPrecision.isLow(qkvWeight)) { // a BF16/F16 model: the fused kernel, no [H, N, N] scores kept
            attended = LowPrecision.attention(q, k, v, null, 1.0 / Math.sqrt(hd), type);
        } else {
            NDArray scores = q.matMul(k.transpose(0, 2, 1)); // [H, N, N]
            attended = Ops.attentionWeights(scores, 1.0 / Math.sqrt(hd), null).matMul(v);
        }
        NDArray y = attended.transpose(1, 0, 2).reshape(n, (long) heads * hd);
        return Ops.linear(y, w.get(p + "proj.weight"), w.get(p + "proj.bias"));
    }

    private NDArray merger(NDArray x) {
        long n = x.getShape().get(0);
        int window = cfg.mergeSize() * cfg.mergeSize();
        NDArray normed = Ops.layerNorm(x, w.get("visual.merger.ln_q.weight"), w.get("visual.merger.ln_q.bias"), LN_EPS)
                .reshape(n / window, (long) window * cfg.visionEmbedDim()); // a window's patches side by side
        NDArray h = Activation.gelu(Ops.linear(normed, w.get("visual.merger.mlp.0.weight"), w.get("visual.merger.mlp.0.bias")));
        return Ops.linear(h, w.get("visual.merger.mlp.2.weight"), w.get("visual.merger.mlp.2.bias"));
    }

    static NDArray rotateHalf(NDArray x) {
        int last = x.getShape().dimension() - 1;
        NDList halves = x.split(2, last);
        return NDArrays.concat(new NDList(halves.get(1).neg(), halves.get(0)), last);
    }

    static NDArray applyRotary(NDArray x, NDArray[] cosSin) {
        return x.mul(cosSin[0]).add(rotateHalf(x).mul(cosSin[1]));
    }

    private static NDArray quickGelu(NDArray x) {
        return x.mul(x.mul(1.702f).getNDArrayInternal().sigmoid());
    }
}
