package dev.glimpse.model;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Qwen2-VL's forward pass written a second time, from transformers' modules and their stored names,
 * in plain double-precision loops over the README's description (patch order, 2-D rotary, merge
 * windows, M-RoPE sections over both halves of the head); the shared maths (linear, norms,
 * attention) is {@link NaiveNanoVlm}'s. It checks the DJL implementation on configurations no
 * transformers reference exists for.
 */
final class NaiveQwen2Vl {
    private final Qwen2VlConfig c;
    private final Map<String, float[]> w;

    NaiveQwen2Vl(Qwen2VlConfig c, Map<String, float[]> w) {
        this.c = c;
        this.w = w;
    }

    private float[] w(String name) {
        float[] t = w.get(name);
        if (t == null) {
            throw new IllegalArgumentException("no tensor " + name);
        }
        return t;
    }

    /** {@code PatchEmbed}: one image's patch rows {@code [N][C·T·P·P]} times the Conv3d kernel. */
    double[][] patchEmbed(float[] pixels, int from, int n) {
        int in = c.patchValues();
        double[][] x = new double[n][in];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < in; j++) {
                x[i][j] = pixels[(from + i) * in + j];
            }
        }
        return NaiveNanoVlm.linear(x, w("visual.patch_embed.proj.weight"), null, c.visionEmbedDim());
    }

    /** The vision blocks over one image's patch embeddings {@code [N][E]} of grid {@code h x w}; every block's output is added to {@code blocks}. */
    double[][] visionBlocks(double[][] x, int gh, int gw, List<double[][]> blocks) {
        int e = c.visionEmbedDim();
        int heads = c.visionHeads();
        int hd = e / heads;
        int m = c.mergeSize();
        int n = x.length;
        double[] rowOf = new double[n];
        double[] colOf = new double[n];
        for (int i = 0; i < n; i++) {
            int window = i / (m * m);
            int inside = i % (m * m);
            rowOf[i] = (window / (gw / m)) * m + inside / m;
            colOf[i] = (window % (gw / m)) * m + inside % m;
        }
        for (int b = 0; b < c.visionDepth(); b++) {
            String p = "visual.blocks." + b + ".";
            double[][] h = NaiveNanoVlm.layerNorm(x, w(p + "norm1.weight"), w(p + "norm1.bias"), 1e-6);
            double[][] qkv = NaiveNanoVlm.linear(h, w(p + "attn.qkv.weight"), w(p + "attn.qkv.bias"), 3 * e);
            double[][] q = visionRope(NaiveNanoVlm.slice(qkv, 0, e), heads, rowOf, colOf);
            double[][] k = visionRope(NaiveNanoVlm.slice(qkv, e, e), heads, rowOf, colOf);
            double[][] v = NaiveNanoVlm.slice(qkv, 2 * e, e);
            double[][] att = NaiveNanoVlm.attention(q, k, v, heads, heads, false, n);
            x = NaiveNanoVlm.add(x, NaiveNanoVlm.linear(att, w(p + "attn.proj.weight"), w(p + "attn.proj.bias"), e));
            h = NaiveNanoVlm.layerNorm(x, w(p + "norm2.weight"), w(p + "norm2.bias"), 1e-6);
            double[][] f = NaiveNanoVlm.linear(h, w(p + "mlp.fc1.weight"), w(p + "mlp.fc1.bias"), c.visionMlpDim());
            for (double[] row : f) {
                for (int j = 0; j < row.length; j++) {
                    row[j] = row[j] / (1 + Math.exp(-1.702 * row[j])); // QuickGELU
                }
            }
            x = NaiveNanoVlm.add(x, NaiveNanoVlm.linear(f, w(p + "mlp.fc2.weight"), w(p + "mlp.fc2.bias"), e));
            blocks.add(x);
        }
        return x;
    }

    /** Dims [0, hd/4) and [hd/2, 3hd/4) rotate with the patch row, the others with its column; theta 10000. */
    private static double[][] visionRope(double[][] x, int heads, double[] rowOf, double[] colOf) {
        int hd = x[0].length / heads;
        int quarter = hd / 4;
        double[][] y = new double[x.length][x[0].length];
        for (int t = 0; t < x.length; t++) {
            for (int h = 0; h < heads; h++) {
                for (int i = 0; i < hd / 2; i++) {
                    double pos = i < quarter ? rowOf[t] : colOf[t];
                    double angle = pos / Math.pow(10000, 2.0 * (i % quarter) / (hd / 2.0));
                    double a = x[t][h * hd + i];
                    double b = x[t][h * hd + i + hd / 2];
                    y[t][h * hd + i] = a * Math.cos(angle) - b * Math.sin(angle);
                    y[t][h * hd + i + hd / 2] = b * Math.cos(angle) + a * Math.sin(angle);
                }
            }
        }
        return y;
    }

    /** {@code PatchMerger}: LayerNorm, each window's consecutive patches side by side, Linear, exact GELU, Linear. */
    double[][] merger(double[][] x) {
        int e = c.visionEmbedDim();
        int window = c.mergeSize() * c.mergeSize();
        double[][] normed = NaiveNanoVlm.layerNorm(x, w("visual.merger.ln_q.weight"), w("visual.merger.ln_q.bias"), 1e-6);
        double[][] joined = new double[x.length / window][window * e];
        for (int i = 0; i < x.length; i++) {
            System.arraycopy(normed[i], 0, joined[i / window], (i % window) * e, e);
        }
        double[][] h = NaiveNanoVlm.linear(joined, w("visual.merger.mlp.0.weight"), w("visual.merger.mlp.0.bias"), window * e);
        for (double[] row : h) {
            for (int j = 0; j < row.length; j++) {
                row[j] = 0.5 * row[j] * (1 + erf(row[j] / Math.sqrt(2)));
            }
        }
        return NaiveNanoVlm.linear(h, w("visual.merger.mlp.2.weight"), w("visual.merger.mlp.2.bias"), c.hiddenSize());
    }

    /** erf by its Taylor series (|x| < 3) or its continued fraction, to about 1e-12: exact GELU's. */
    static double erf(double x) {
        double ax = Math.abs(x);
        double r;
        if (ax < 3) {
            double term = ax;
            double sum = ax;
            for (int n = 1; n < 200; n++) {
                term *= -ax * ax / n;
                sum += term / (2 * n + 1);
            }
            r = 2 / Math.sqrt(Math.PI) * sum;
        } else {
            double f = 0;
            for (int n = 60; n >= 1; n--) {
                f = n / 2.0 / (ax + f);
            }
            r = 1 - Math.exp(-ax * ax) / Math.sqrt(Math.PI) / (ax + f);
        }
        return x < 0 ? -r : r;
    }

    /**
     * {@code get_rope_index}: rows t, h, w. Image pads count as images only in the prompt (the first
     * {@code prompt} ids): a generated one is text, as in cached generation.
     */
    long[][] ropeIndex(long[] ids, int[][] grids, int prompt) {
        long[][] pos = new long[3][ids.length];
        long next = 0;
        int image = 0;
        for (int i = 0; i < ids.length; ) {
            if (ids[i] == c.imageTokenId() && i < prompt) {
                int gh = grids[image][1] / c.mergeSize();
                int gw = grids[image][2] / c.mergeSize();
                for (int k = 0; k < gh * gw; k++) {
                    pos[0][i + k] = next;
                    pos[1][i + k] = next + k / gw;
                    pos[2][i + k] = next + k % gw;
                }
                i += gh * gw;
                next += Math.max(1, Math.max(gh, gw));
                image++;
            } else {
                pos[0][i] = next;
                pos[1][i] = next;
                pos[2][i] = next;
                next++;
                i++;
            }
        }
        return pos;
    }

    double[][] embed(long[] ids, double[][] imageTokens, int prompt) {
        int d = c.hiddenSize();
        float[] table = w(Qwen2VlWeights.EMBED);
        double[][] x = new double[ids.length][d];
        int image = 0;
        for (int t = 0; t < ids.length; t++) {
            if (ids[t] == c.imageTokenId() && t < prompt) {
                x[t] = imageTokens[image++].clone();
            } else {
                for (int j = 0; j < d; j++) {
                    x[t][j] = table[(int) ids[t] * d + j];
                }
            }
        }
        return x;
    }

    /** The decoder over {@code x} at M-RoPE positions {@code pos}: logits {@code [T][V]}. */
    double[][] logits(double[][] x, long[][] pos) {
        int d = c.hiddenSize();
        int hd = c.headDim();
        int kvd = c.kvHeads() * hd;
        for (int l = 0; l < c.layers(); l++) {
            String b = "model.layers." + l + ".";
            double[][] h = rmsNorm(x, w(b + "input_layernorm.weight"));
            double[][] q = mrope(NaiveNanoVlm.linear(h, w(b + "self_attn.q_proj.weight"), w(b + "self_attn.q_proj.bias"), d), c.heads(), pos);
            double[][] k = mrope(NaiveNanoVlm.linear(h, w(b + "self_attn.k_proj.weight"), w(b + "self_attn.k_proj.bias"), kvd), c.kvHeads(), pos);
            double[][] v = NaiveNanoVlm.linear(h, w(b + "self_attn.v_proj.weight"), w(b + "self_attn.v_proj.bias"), kvd);
            double[][] att = NaiveNanoVlm.attention(q, k, v, c.heads(), c.kvHeads(), true, x.length);
            x = NaiveNanoVlm.add(x, NaiveNanoVlm.linear(att, w(b + "self_attn.o_proj.weight"), null, d));
            h = rmsNorm(x, w(b + "post_attention_layernorm.weight"));
            double[][] gate = NaiveNanoVlm.linear(h, w(b + "mlp.gate_proj.weight"), null, c.intermediateSize());
            double[][] up = NaiveNanoVlm.linear(h, w(b + "mlp.up_proj.weight"), null, c.intermediateSize());
            for (int t = 0; t < gate.length; t++) {
                for (int j = 0; j < gate[t].length; j++) {
                    double g = gate[t][j];
                    gate[t][j] = g / (1 + Math.exp(-g)) * up[t][j];
                }
            }
            x = NaiveNanoVlm.add(x, NaiveNanoVlm.linear(gate, w(b + "mlp.down_proj.weight"), null, d));
        }
        String head = c.tieWordEmbeddings() ? Qwen2VlWeights.EMBED : Qwen2VlWeights.LM_HEAD;
        return NaiveNanoVlm.linear(rmsNorm(x, w("model.norm.weight")), w(head), null, c.vocabSize());
    }

    private double[][] rmsNorm(double[][] x, float[] g) {
        double[][] y = new double[x.length][x[0].length];
        for (int t = 0; t < x.length; t++) {
            double ms = 0;
            for (double v : x[t]) {
                ms += v * v;
            }
            ms /= x[t].length;
            for (int j = 0; j < x[t].length; j++) {
                y[t][j] = x[t][j] / Math.sqrt(ms + c.rmsEps()) * g[j];
            }
        }
        return y;
    }

    /** Frequency i of a head takes its position from stream t, h or w by {@code mrope_section}; both halves alike. */
    private double[][] mrope(double[][] x, int heads, long[][] pos) {
        int hd = x[0].length / heads;
        int[] section = c.mropeSection();
        double[][] y = new double[x.length][x[0].length];
        for (int t = 0; t < x.length; t++) {
            for (int h = 0; h < heads; h++) {
                for (int i = 0; i < hd / 2; i++) {
                    int stream = i < section[0] ? 0 : i < section[0] + section[1] ? 1 : 2;
                    double angle = pos[stream][t] / Math.pow(c.ropeTheta(), 2.0 * i / hd);
                    double a = x[t][h * hd + i];
                    double b = x[t][h * hd + i + hd / 2];
                    y[t][h * hd + i] = a * Math.cos(angle) - b * Math.sin(angle);
                    y[t][h * hd + i + hd / 2] = b * Math.cos(angle) + a * Math.sin(angle);
                }
            }
        }
        return y;
    }

    /** Everything a reference file holds, for one prompt over images of {@code grids}. */
    record Outputs(double[][] patchEmbed, double[][] visionOut, double[][] embeds, long[][] positions, double[][] logits,
                   long[] greedy, double[][] stepLogits) {}

    Outputs run(float[] pixels, int[][] grids, long[] ids, int steps) {
        List<double[][]> embedParts = new ArrayList<>();
        List<double[][]> merged = new ArrayList<>();
        int from = 0;
        for (int[] g : grids) {
            int n = g[0] * g[1] * g[2];
            double[][] e = patchEmbed(pixels, from, n);
            embedParts.add(e);
            merged.add(merger(visionBlocks(e, g[1], g[2], new ArrayList<>())));
            from += n;
        }
        double[][] patchEmbed = concat(embedParts);
        double[][] visionOut = concat(merged);
        double[][] embeds = embed(ids, visionOut, ids.length);
        long[][] positions = ropeIndex(ids, grids, ids.length);
        double[][] logits = logits(embeds, positions);
        long[] greedy = new long[steps];
        double[][] stepLogits = new double[steps][];
        long[] seq = ids.clone();
        double[][] l = logits;
        for (int s = 0; s < steps; s++) {
            double[] last = l[l.length - 1];
            stepLogits[s] = last;
            int best = 0;
            for (int v = 1; v < last.length; v++) {
                if (last[v] > last[best]) {
                    best = v;
                }
            }
            greedy[s] = best;
            seq = java.util.Arrays.copyOf(seq, seq.length + 1);
            seq[seq.length - 1] = best;
            if (s + 1 < steps) {
                l = logits(embed(seq, visionOut, ids.length), ropeIndex(seq, grids, ids.length));
            }
        }
        return new Outputs(patchEmbed, visionOut, embeds, positions, logits, greedy, stepLogits);
    }

    private static double[][] concat(List<double[][]> parts) {
        return parts.stream().flatMap(java.util.Arrays::stream).toArray(double[][]::new);
    }
}
