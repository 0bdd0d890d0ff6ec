package dev.glimpse.model.training;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * AdamW with decoupled weight decay (matrices only, not norms or biases) and global gradient-norm
 * clipping. Written out rather than taken from DJL's optimizers so its moments can be saved with a
 * checkpoint and training resumes exactly where it stopped.
 */
final class AdamW {
    private static final double BETA1 = 0.9;
    private static final double BETA2 = 0.95;
    private static final double EPS = 1e-8;

    private final Map<String, NDArray> params;
    private final Map<String, NDArray> m = new LinkedHashMap<>();
    private final Map<String, NDArray> v = new LinkedHashMap<>();
    private final NDManager manager;

    AdamW(Map<String, NDArray> params, NDManager manager) {
        this.params = params;
        this.manager = manager;
        for (Map.Entry<String, NDArray> e : params.entrySet()) {
            m.put(e.getKey(), manager.zeros(e.getValue().getShape()));
            v.put(e.getKey(), manager.zeros(e.getValue().getShape()));
        }
    }

    /** One update at 1-based step {@code t}; returns the gradient norm before clipping. */
    double step(int t, double lr, double weightDecay, double clipNorm) {
        try (NDScope ignored = new NDScope()) {
            double sq = 0;
            for (NDArray p : params.values()) {
                sq += p.getGradient().square().sum().getFloat();
            }
            double norm = Math.sqrt(sq);
            double scale = norm > clipNorm ? clipNorm / norm : 1.0;
            double bc1 = 1 - Math.pow(BETA1, t);
            double bc2 = 1 - Math.pow(BETA2, t);
            for (Map.Entry<String, NDArray> e : params.entrySet()) {
                NDArray p = e.getValue();
                NDArray g = p.getGradient();
                NDArray gs = g.mul(scale);
                NDArray mi = m.get(e.getKey()).muli(BETA1).addi(gs.mul(1 - BETA1));
                NDArray vi = v.get(e.getKey()).muli(BETA2).addi(gs.square().mul(1 - BETA2));
                NDArray update = mi.div(bc1).div(vi.div(bc2).sqrt().add(EPS));
                if (p.getShape().dimension() >= 2 && weightDecay > 0) {
                    update = update.add(p.mul(weightDecay));
                }
                p.subi(update.mul(lr));
                g.subi(g);
            }
            return norm;
        }
    }

    void save(Path file) throws IOException {
        NDList list = new NDList();
        for (String k : params.keySet()) {
            NDArray mk = m.get(k);
            mk.setName("m." + k);
            NDArray vk = v.get(k);
            vk.setName("v." + k);
            list.add(mk);
            list.add(vk);
        }
        try (OutputStream out = Files.newOutputStream(file)) {
            list.encode(out, NDList.Encoding.SAFETENSORS);
        }
    }

    void load(Path file) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            for (NDArray a : NDList.decode(manager, in)) {
                String name = a.getName();
                Map<String, NDArray> target = name.startsWith("m.") ? m : v;
                NDArray old = target.put(name.substring(2), a);
                if (old == null) {
                    throw new IOException("optimizer state names unknown parameter " + name);
                }
                old.close();
            }
        }
    }
}
