package dev.glimpse.model;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * SmolVLM's (Idefics3's) forward pass written a second time, from transformers' modules and their
 * stored names (separate q/k/v with biases, {@code o_proj}, {@code lm_head}), in plain double-precision
 * loops; the shared maths (linear, norms, attention) is {@link NaiveNanoVlm}'s. It checks the DJL
 * implementation, its name table included, on configurations no transformers reference exists for.
 */
final class NaiveIdefics3 {
    private final ModelConfig c;
    private final Map<String, float[]> w;

    NaiveIdefics3(ModelConfig c, Map<String, float[]> w) {
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

    /** {@code Idefics3VisionEmbeddings}: a tile {@code [3][S][S]} to {@code [N][Dv]} (Conv2d, stride = kernel = patch). */
    double[][] embeddings(float[] tile) {
        int p = c.vitPatchSize;
        int g = c.patchesPerSide();
        int s = c.vitImgSize;
        int d = c.vitHiddenDim;
        float[] conv = w("model.vision_model.embeddings.patch_embedding.weight");
        float[] bias = w("model.vision_model.embeddings.patch_embedding.bias");
        float[] pos = w("model.vision_model.embeddings.position_embedding.weight");
        double[][] out = new double[g * g][d];
        for (int gy = 0; gy < g; gy++) {
            for (int gx = 0; gx < g; gx++) {
                for (int o = 0; o < d; o++) {
                    double acc = bias[o];
                    for (int ch = 0; ch < 3; ch++) {
                        for (int ky = 0; ky < p; ky++) {
                            for (int kx = 0; kx < p; kx++) {
                                acc += conv[((o * 3 + ch) * p + ky) * p + kx] * tile[(ch * s + gy * p + ky) * s + gx * p + kx];
                            }
                        }
                    }
                    out[gy * g + gx][o] = acc + pos[(gy * g + gx) * d + o];
                }
            }
        }
        return out;
    }

    /** {@code Idefics3Encoder} then {@code post_layernorm}. */
    double[][] vision(double[][] x) {
        int d = c.vitHiddenDim;
        for (int i = 0; i < c.vitNBlocks; i++) {
            String b = "model.vision_model.encoder.layers." + i + ".";
            double[][] h = NaiveNanoVlm.layerNorm(x, w(b + "layer_norm1.weight"), w(b + "layer_norm1.bias"), c.vitLnEps);
            String a = b + "self_attn.";
            double[][] q = NaiveNanoVlm.linear(h, w(a + "q_proj.weight"), w(a + "q_proj.bias"), d);
            double[][] k = NaiveNanoVlm.linear(h, w(a + "k_proj.weight"), w(a + "k_proj.bias"), d);
            double[][] v = NaiveNanoVlm.linear(h, w(a + "v_proj.weight"), w(a + "v_proj.bias"), d);
            double[][] att = NaiveNanoVlm.attention(q, k, v, c.vitNHeads, c.vitNHeads, false, x.length);
            x = NaiveNanoVlm.add(x, NaiveNanoVlm.linear(att, w(a + "out_proj.weight"), w(a + "out_proj.bias"), d));
            h = NaiveNanoVlm.layerNorm(x, w(b + "layer_norm2.weight"), w(b + "layer_norm2.bias"), c.vitLnEps);
            double[][] m = NaiveNanoVlm.gelu(NaiveNanoVlm.linear(h, w(b + "mlp.fc1.weight"), w(b + "mlp.fc1.bias"), c.vitInterDim));
            x = NaiveNanoVlm.add(x, NaiveNanoVlm.linear(m, w(b + "mlp.fc2.weight"), w(b + "mlp.fc2.bias"), d));
        }
        return NaiveNanoVlm.layerNorm(x, w("model.vision_model.post_layernorm.weight"),
                w("model.vision_model.post_layernorm.bias"), c.vitLnEps);
    }

    /**
     * {@code Idefics3Connector}: {@code pixel_shuffle} as its view/permute/reshape chain computes it,
     * one flat index at a time, then {@code modality_projection}.
     */
    double[][] connector(double[][] x) {
        int s = c.mpPixelShuffleFactor;
        int n = c.patchesPerSide();
        int d = c.vitHiddenDim;
        int side = n / s;
        double[][] shuffled = new double[side * side][d * s * s];
        for (int i2 = 0; i2 < side; i2++) {
            for (int j2 = 0; j2 < side; j2++) {
                for (int m = 0; m < d * s * s; m++) {
                    // view (n, n/s, D*s) -> permute -> reshape (n/s, n/s, D*s*s) -> permute -> reshape.
                    int row = i2 * s + m / (d * s);
                    int col = j2 * s + (m % (d * s)) / d;
                    shuffled[i2 * side + j2][m] = x[row * n + col][m % d];
                }
            }
        }
        return NaiveNanoVlm.linear(shuffled, w("model.connector.modality_projection.proj.weight"), null, c.lmHiddenDim);
    }

    double[] embed(long id) {
        float[] e = w("model.text_model.embed_tokens.weight");
        int d = c.lmHiddenDim;
        double[] out = new double[d];
        for (int j = 0; j < d; j++) {
            out[j] = e[(int) id * d + j];
        }
        return out;
    }

    /** {@code inputs_merger}: token embeddings, the {@code <image>} rows replaced in order by the connector's. */
    double[][] merge(long[] ids, List<double[][]> connectorTiles) {
        List<double[]> image = new ArrayList<>();
        connectorTiles.forEach(t -> image.addAll(List.of(t)));
        double[][] out = new double[ids.length][];
        int next = 0;
        for (int t = 0; t < ids.length; t++) {
            out[t] = ids[t] == c.idefics3.imageTokenId() ? image.get(next++) : embed(ids[t]);
        }
        if (next != image.size()) {
            throw new IllegalArgumentException(next + " <image> tokens for " + image.size() + " image rows");
        }
        return out;
    }

    /** {@code LlamaModel} + {@code lm_head}: logits {@code [T][V]} at positions 0..T-1. */
    double[][] logits(double[][] x) {
        int d = c.lmHiddenDim;
        int kvd = c.lmHeadDim() * c.lmNKvHeads;
        for (int i = 0; i < c.lmNBlocks; i++) {
            String b = "model.text_model.layers." + i + ".";
            double[][] h = rmsNorm(x, w(b + "input_layernorm.weight"));
            double[][] q = rope(NaiveNanoVlm.linear(h, w(b + "self_attn.q_proj.weight"), null, d), c.lmNHeads);
            double[][] k = rope(NaiveNanoVlm.linear(h, w(b + "self_attn.k_proj.weight"), null, kvd), c.lmNKvHeads);
            double[][] v = NaiveNanoVlm.linear(h, w(b + "self_attn.v_proj.weight"), null, kvd);
            double[][] att = NaiveNanoVlm.attention(q, k, v, c.lmNHeads, c.lmNKvHeads, true, x.length);
            x = NaiveNanoVlm.add(x, NaiveNanoVlm.linear(att, w(b + "self_attn.o_proj.weight"), null, d));
            h = rmsNorm(x, w(b + "post_attention_layernorm.weight"));
            double[][] gate = NaiveNanoVlm.linear(h, w(b + "mlp.gate_proj.weight"), null, c.lmInterDim);
            double[][] up = NaiveNanoVlm.linear(h, w(b + "mlp.up_proj.weight"), null, c.lmInterDim);
            for (int t = 0; t < gate.length; t++) {
                for (int j = 0; j < gate[t].length; j++) {
                    double g = gate[t][j];
                    gate[t][j] = g / (1 + Math.exp(-g)) * up[t][j];
                }
            }
            x = NaiveNanoVlm.add(x, NaiveNanoVlm.linear(gate, w(b + "mlp.down_proj.weight"), null, d));
        }
        return NaiveNanoVlm.linear(rmsNorm(x, w("model.text_model.norm.weight")), w("lm_head.weight"), null, c.lmVocabSize);
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

    /** Llama's default RoPE: {@code q * cos + rotate_half(q) * sin}, halves not interleaved, position = index. */
    private double[][] rope(double[][] x, int heads) {
        int hd = x[0].length / heads;
        double[][] y = new double[x.length][x[0].length];
        for (int t = 0; t < x.length; t++) {
            for (int h = 0; h < heads; h++) {
                for (int i = 0; i < hd / 2; i++) {
                    double angle = t / Math.pow(c.lmReBase, 2.0 * i / hd);
                    double a = x[t][h * hd + i];
                    double b = x[t][h * hd + i + hd / 2];
                    y[t][h * hd + i] = a * Math.cos(angle) - b * Math.sin(angle);
                    y[t][h * hd + i + hd / 2] = b * Math.cos(angle) + a * Math.sin(angle);
                }
            }
        }
        return y;
    }
}
