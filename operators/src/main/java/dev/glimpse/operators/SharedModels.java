package dev.glimpse.operators;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import dev.glimpse.model.EngineDtype;
import dev.glimpse.model.ModelConfig;
import dev.glimpse.model.Qwen2VlConfig;
import dev.glimpse.model.Qwen2VlModel;
import dev.glimpse.model.VisionLanguageModel;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One model per (folder, device) per JVM, shared by every slot and operator of a TaskManager and
 * released when the last user closes. Loading and native memory are paid once; the lock makes slots
 * take turns on a device instead of thrashing it. A Qwen2-VL folder loads as a {@link Qwen2VlModel},
 * every other as a {@link VisionLanguageModel}.
 */
public final class SharedModels {
    private static final Logger LOG = LoggerFactory.getLogger(SharedModels.class);
    private static final Map<String, Entry> MODELS = new HashMap<>();

    /** A user's hold on a shared model. */
    public static final class Handle implements AutoCloseable {
        private final String key;
        private final Entry entry;
        private boolean closed;

        private Handle(String key, Entry entry) {
            this.key = key;
            this.entry = entry;
        }

        /** The model of a nanoVLM, Glimpse or SmolVLM folder; fails for a Qwen2-VL one ({@link #qwen2Vl}). */
        public VisionLanguageModel model() {
            if (entry.model == null) {
                throw new IllegalStateException("the model is Qwen2-VL: use qwen2Vl()");
            }
            return entry.model;
        }

        /** The model of a Qwen2-VL folder, else null. */
        public Qwen2VlModel qwen2Vl() {
            return entry.qwen2Vl;
        }

        /** The model's config; a Qwen2-VL model's as the job reads it ({@link Qwen2VlConfig#summary}). */
        public ModelConfig config() {
            return entry.qwen2Vl != null ? entry.qwen2VlSummary : entry.model.config();
        }

        /** The manager holding the model's weights (its device). */
        public NDManager manager() {
            return entry.manager();
        }

        /** How long the model took to load, when its first user acquired it. */
        public long loadTimeMs() {
            return entry.loadTimeMs;
        }

        /** Held while running the model, so slots sharing a device take turns. */
        public ReentrantLock lock() {
            return entry.lock;
        }

        @Override
        public void close() {
            synchronized (MODELS) {
                if (closed) {
                    return;
                }
                closed = true;
                if (--entry.users == 0) {
                    MODELS.remove(key);
                    entry.close();
                    LOG.info("released model {}", key);
                }
            }
        }
    }

    private static final class Entry {
        /** One of the two is set. */
        final VisionLanguageModel model;
        final Qwen2VlModel qwen2Vl;
        final ModelConfig qwen2VlSummary;
        final ReentrantLock lock = new ReentrantLock();
        final long loadTimeMs;
        int users;

        Entry(VisionLanguageModel model, Qwen2VlModel qwen2Vl, long loadTimeMs) {
            this.model = model;
            this.qwen2Vl = qwen2Vl;
            this.qwen2VlSummary = qwen2Vl == null ? null : qwen2Vl.config().summary();
            this.loadTimeMs = loadTimeMs;
        }

        NDManager manager() {
            return qwen2Vl != null ? qwen2Vl.manager() : model.manager();
        }

        long parameterCount() {
            return qwen2Vl != null ? qwen2Vl.weights().parameterCount() : model.weights().parameterCount();
        }

        void close() {
            if (qwen2Vl != null) {
                qwen2Vl.close();
            } else {
                model.close();
            }
        }
    }

    private SharedModels() {}

    /**
     * The decoder kernel's weights and the vision tower's layout made before any thread shares the
     * model ({@link dev.glimpse.model.TextDecoder#prepareKernel}, {@link dev.glimpse.model.VisionEncoder#prepare}).
     */
    private static VisionLanguageModel prepared(VisionLanguageModel m) {
        m.decoder().prepareKernel();
        m.visionEncoder().prepare();
        return m;
    }

    /** The decoder's products laid out before any thread shares the model ({@link dev.glimpse.model.Qwen2VlDecoder#prepare}). */
    private static Qwen2VlModel prepared(Qwen2VlModel m) {
        m.decoder().prepare();
        return m;
    }

    /** NDArrays held by the shared models' managers: flat over time unless something leaks. */
    public static long liveArrays() {
        synchronized (MODELS) {
            return MODELS.values().stream().mapToLong(e -> e.manager().getManagedArrays().size()).sum();
        }
    }

    /**
     * The model in {@code dir} on {@code device}, its matrices in {@code dtype} ({@link EngineDtype#AUTO}
     * decided for the device; null, as a job whose configuration sets no {@code engine.dtype} gives it:
     * this JVM's {@link EngineDtype#configured()} type).
     */
    public static Handle acquire(Path dir, Device device, EngineDtype dtype) {
        EngineDtype concrete = (dtype != null ? dtype : EngineDtype.configured()).resolve(device);
        String key = dir.toAbsolutePath().normalize() + "@" + device + "/" + concrete.label();
        synchronized (MODELS) {
            Entry e = MODELS.get(key);
            if (e == null) {
                long start = System.nanoTime();
                boolean qwen = Qwen2VlConfig.isQwen2Vl(dir);
                e = qwen
                        ? new Entry(null, prepared(Qwen2VlModel.load(dir, device, 0, concrete)), (System.nanoTime() - start) / 1_000_000)
                        : new Entry(prepared(VisionLanguageModel.load(dir, device, concrete)), null,
                                (System.nanoTime() - start) / 1_000_000);
                MODELS.put(key, e);
                LOG.info("loaded model {} on {} in {} ms ({} parameters, {})", dir, device, e.loadTimeMs, e.parameterCount(),
                        concrete.label());
            }
            e.users++;
            return new Handle(key, e);
        }
    }
}
