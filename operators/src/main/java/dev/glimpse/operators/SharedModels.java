package dev.glimpse.operators;

import ai.djl.Device;
import dev.glimpse.model.EngineDtype;
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
 * take turns on a device instead of thrashing it.
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

        public VisionLanguageModel model() {
            return entry.model;
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
                    entry.model.close();
                    LOG.info("released model {}", key);
                }
            }
        }
    }

    private static final class Entry {
        final VisionLanguageModel model;
        final ReentrantLock lock = new ReentrantLock();
        final long loadTimeMs;
        int users;

        Entry(VisionLanguageModel model, long loadTimeMs) {
            this.model = model;
            this.loadTimeMs = loadTimeMs;
        }
    }

    private SharedModels() {}

    /** NDArrays held by the shared models' managers: flat over time unless something leaks. */
    public static long liveArrays() {
        synchronized (MODELS) {
            return MODELS.values().stream().mapToLong(e -> e.model.manager().getManagedArrays().size()).sum();
        }
    }

    /** The model in {@code dir} on {@code device}, its matrices in this JVM's {@link EngineDtype#configured()} type. */
    public static Handle acquire(Path dir, Device device) {
        EngineDtype dtype = EngineDtype.configured().resolve(device);
        String key = dir.toAbsolutePath().normalize() + "@" + device + "/" + dtype.label();
        synchronized (MODELS) {
            Entry e = MODELS.get(key);
            if (e == null) {
                long start = System.nanoTime();
                VisionLanguageModel model = VisionLanguageModel.load(dir, device, dtype);
                e = new Entry(model, (System.nanoTime() - start) / 1_000_000);
                MODELS.put(key, e);
                LOG.info("loaded model {} on {} in {} ms ({} parameters, {})", dir, device, e.loadTimeMs,
                        e.model.weights().parameterCount(), dtype.label());
            }
            e.users++;
            return new Handle(key, e);
        }
    }
}
