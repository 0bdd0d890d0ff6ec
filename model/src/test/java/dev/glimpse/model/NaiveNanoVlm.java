package dev.glimpse.model;

import java.util.Map;

/**
 * nanoVLM's forward pass written a second time, independently: plain loops in double precision,
 * straight from nanoVLM's modules, with no tensor library. It checks the DJL implementation on
 * configurations for which no reference made by nanoVLM's own code exists.
 */
final class NaiveNanoVlm {
    private final ModelConfig c;
    private final Map<String, float[]> w;

    NaiveNanoVlm(ModelConfig c, Map<String, float[]> w) {
        this.c = c;
        this.w = w;
    }

    private float[] w(String name) {
        float[] t = w.get(name);
        // A tied head is stored under either name.
        if (t == null && name.equals("decoder.head.weight")) {
            return w.get("decoder.token_embedding.weight");
        }
        if (t == null && name.equals("decoder.token_embedding.weight")) {
            return w.get("decoder.head.weight");
        }
        return t;
    }

    /** {@code [3][S][S]} pixels → {@code [N][Dv]}. */
    double[][] patchEmbeddings(float[] pixels) {
        int p = c.vitPatchSize;
        int g = c.patchesPerSide();
        int s = c.vitImgSize;
        int d = c.vitHiddenDim;
        float[] conv = w("vision_encoder.patch_embedding.conv.weight");
        float[] bias = w("vision_encoder.patch_embedding.conv.bias");
        float[] pos = w("vision_encoder.patch_embedding.position_embedding");
        double[][] out = new double[g * g][d];
        for (int gy = 0; gy < g; gy++) {
            for (int gx = 0; gx < g; gx++) {
                int patch = gy * g + gx;
                for (int o = 0; o < d; o++) {
                    double acc = bias[o];
                    for (int ch = 0; ch < 3; ch++) {
                        for (int ky = 0; ky < p; ky++) {
                            for (int kx = 0; kx < p; kx++) {
                                acc += conv[((o * 3 + ch) * p + ky) * p + kx]
                                        * pixels[(ch * s + gy * p + ky) * s + gx * p + kx];
                            }
                        }
                    }
                    out[patch][o] = acc + pos[patch * d + o];
                }
            }
        }
        return out;
    }

    double[][] vision(double[][] x) {
        int d = c.vitHiddenDim;
        for (int i = 0; i < c.vitNBlocks; i++) {
            String b = "vision_encoder.blocks." + i + ".";
            double[][] h = layerNorm(x, w(b + "ln1.weight"), w(b + "ln1.bias"), c.vitLnEps);
            double[][] qkv = linear(h, w(b + "attn.qkv_proj.weight"), w(b + "attn.qkv_proj.bias"), 3 * d);
            double[][] q = slice(qkv, 0, d);
            double[][] k = slice(qkv, d, d);
            double[][] v = slice(qkv, 2 * d, d);
            double[][] att = attention(q, k, v, c.vitNHeads, c.vitNHeads, false, x.length);
            x = add(x, linear(att, w(b + "attn.out_proj.weight"), w(b + "attn.out_proj.bias"), d));
            h = layerNorm(x, w(b + "ln2.weight"), w(b + "ln2.bias"), c.vitLnEps);
            double[][] m = gelu(linear(h, w(b + "mlp.fc1.weight"), w(b + "mlp.fc1.bias"), c.vitInterDim));
            x = add(x, linear(m, w(b + "mlp.fc2.weight"), w(b + "mlp.fc2.bias"), d));
        }
        return layerNorm(x, w("vision_encoder.layer_norm.weight"), w("vision_encoder.layer_norm.bias"), c.vitLnEps);
    }

    double[][] project(double[][] x) {
        int f = c.mpPixelShuffleFactor;
        int side = c.patchesPerSide();
        int out = side / f;
        int d = c.vitHiddenDim;
        double[][] shuffled = new double[out * out][d * f * f];
        for (int i = 0; i < out; i++) {
            for (int j = 0; j < out; j++) {
                for (int a = 0; a < f; a++) {
                    for (int bb = 0; bb < f; bb++) {
                        double[] src = x[(i * f + a) * side + j * f + bb];
                        System.arraycopy(src, 0, shuffled[i * out + j], (a * f + bb) * d, d);
                    }
                }
            }
        }
        if (c.mpHiddenDim == 0) {
            return linear(shuffled, w("MP.proj.weight"), null, c.lmHiddenDim);
        }
        double[][] h = gelu(linear(shuffled, w("MP.fc1.weight"), w("MP.fc1.bias"), c.mpHiddenDim));
        return linear(h, w("MP.fc2.weight"), w("MP.fc2.bias"), c.lmHiddenDim);
    }

    /** Logits {@code [T][V]} of the decoder over embeddings {@code x} at positions 0..T-1. */
    double[][] decoderLogits(double[][] x) {
        int d = c.lmHiddenDim;
        int hd = c.lmHeadDim();
        int kvd = hd * c.lmNKvHeads;
        for (int i = 0; i < c.lmNBlocks; i++) {
            String b = "decoder.blocks." + i + ".";
            double[][] h = rmsNorm(x, w(b + "norm1.weight"));
            double[][] q = rope(linear(h, w(b + "attn.q_proj.weight"), null, d), c.lmNHeads);
            double[][] k = rope(linear(h, w(b + "attn.k_proj.weight"), null, kvd), c.lmNKvHeads);
            double[][] v = linear(h, w(b + "attn.v_proj.weight"), null, kvd);
            double[][] att = attention(q, k, v, c.lmNHeads, c.lmNKvHeads, true, x.length);
            x = add(x, linear(att, w(b + "attn.out_proj.weight"), null, d));
            h = rmsNorm(x, w(b + "norm2.weight"));
            double[][] gate = linear(h, w(b + "mlp.gate_proj.weight"), null, c.lmInterDim);
            double[][] up = linear(h, w(b + "mlp.up_proj.weight"), null, c.lmInterDim);
            for (int t = 0; t < gate.length; t++) {
                for (int j = 0; j < gate[t].length; j++) {
                    double g = gate[t][j];
                    gate[t][j] = g / (1 + Math.exp(-g)) * up[t][j];
                }
            }
            x = add(x, linear(gate, w(b + "mlp.down_proj.weight"), null, d));
        }
        x = rmsNorm(x, w("decoder.norm.weight"));
        return linear(x, w("decoder.head.weight"), null, c.lmVocabSize);
    }

    double[] embed(long id) {
        float[] e = w("decoder.token_embedding.weight");
        double[] out = new double[c.lmHiddenDim];
        for (int j = 0; j < out.length; j++) {
            out[j] = e[(int) id * c.lmHiddenDim + j];
        }
        return out;
    }

    private double[][] rope(double[][] x, int heads) {
        int hd = c.lmHeadDim();
        int half = hd / 2;
        double scale = x.length > c.lmMaxPositionEmbeddings ? (double) x.length / c.lmMaxPositionEmbeddings : 1;
        double[][] out = new double[x.length][x[0].length];
        for (int t = 0; t < x.length; t++) {
            for (int h = 0; h < heads; h++) {
                for (int j = 0; j < hd; j++) {
                    int i = j % half;
                    double angle = t * (1.0 / Math.pow(c.lmReBase, 2.0 * i / hd)) / scale;
                    double rotated = j < half ? -x[t][h * hd + j + half] : x[t][h * hd + j - half];
                    out[t][h * hd + j] = (x[t][h * hd + j] * Math.cos(angle) + rotated * Math.sin(angle)) * c.lmAttnScaling;
                }
            }
        }
        return out;
    }

    static double[][] attention(double[][] q, double[][] k, double[][] v, int heads, int kvHeads, boolean causal, int t) {
        int hd = q[0].length / heads;
        double[][] out = new double[t][heads * hd];
        for (int h = 0; h < heads; h++) {
            int kh = h / (heads / kvHeads);
            for (int i = 0; i < t; i++) {
                int last = causal ? i : t - 1;
                double[] s = new double[last + 1];
                double max = Double.NEGATIVE_INFINITY;
                for (int j = 0; j <= last; j++) {
                    double dot = 0;
                    for (int e = 0; e < hd; e++) {
                        dot += q[i][h * hd + e] * k[j][kh * hd + e];
                    }
                    s[j] = dot / Math.sqrt(hd);
                    max = Math.max(max, s[j]);
                }
                double sum = 0;
                for (int j = 0; j <= last; j++) {
                    s[j] = Math.exp(s[j] - max);
                    sum += s[j];
                }
                for (int j = 0; j <= last; j++) {
                    for (int e = 0; e < hd; e++) {
                        out[i][h * hd + e] += s[j] / sum * v[j][kh * hd + e];
                    }
                }
            }
        }
        return out;
    }

    static double[][] linear(double[][] x, float[] weight, float[] bias, int outDim) {
        int in = x[0].length;
        double[][] y = new double[x.length][outDim];
        for (int t = 0; t < x.length; t++) {
            for (int o = 0; o < outDim; o++) {
                double acc = bias == null ? 0 : bias[o];
                for (int i = 0; i < in; i++) {
                    acc += weight[o * in + i] * x[t][i];
                }
                y[t][o] = acc;
            }
        }
        return y;
    }

    static double[][] layerNorm(double[][] x, float[] g, float[] b, double eps) {
        double[][] y = new double[x.length][x[0].length];
        for (int t = 0; t < x.length; t++) {
            double mean = 0;
            for (double v : x[t]) {
                mean += v;
            }
            mean /= x[t].length;
            double var = 0;
            for (double v : x[t]) {
                var += (v - mean) * (v - mean);
            }
            var /= x[t].length;
            for (int j = 0; j < x[t].length; j++) {
                y[t][j] = (x[t][j] - mean) / Math.sqrt(var + eps) * g[j] + b[j];
            }
        }
        return y;
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
                y[t][j] = x[t][j] / Math.sqrt(ms + c.lmRmsEps) * g[j];
            }
        }
        return y;
    }

    static double[][] gelu(double[][] x) {
        double[][] y = new double[x.length][x[0].length];
        for (int t = 0; t < x.length; t++) {
            for (int j = 0; j < x[t].length; j++) {
                double v = x[t][j];
                y[t][j] = 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v * v * v)));
            }
        }
        return y;
    }

    static double[][] add(double[][] a, double[][] b) {
        double[][] y = new double[a.length][a[0].length];
        for (int t = 0; t < a.length; t++) {
            for (int j = 0; j < a[t].length; j++) {
                y[t][j] = a[t][j] + b[t][j];
            }
        }
        return y;
    }

    static double[][] slice(double[][] x, int from, int len) {
        double[][] y = new double[x.length][len];
        for (int t = 0; t < x.length; t++) {
            System.arraycopy(x[t], from, y[t], 0, len);
        }
        return y;
    }
}
