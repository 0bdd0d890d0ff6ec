package dev.glimpse.job;

/** PyTorch engine settings that must be in place before the engine first loads. */
public final class Engines {
    private Engines() {}

    /**
     * The commands that take the job's configuration: {@link #threads(GlimpseConfig)} threads. Its
     * {@code engine.dtype} needs no setting here: the job's operators carry it ({@link PipelineSettings#dtype}).
     */
    public static void configureThreads(GlimpseConfig c) {
        configureThreads(threads(c));
    }

    /** The model-level commands' {@code --threads}: 0 leaves PyTorch its own default (all cores). */
    public static void configureThreads(int threads) {
        System.setProperty("ai.djl.offline", "true");
        if (threads > 0) {
            System.setProperty("ai.djl.pytorch.num_threads", String.valueOf(threads));
            System.setProperty("ai.djl.pytorch.num_interop_threads", "1");
        }
    }

    /**
     * {@code engine.threads}, or where it is 0 the cores left beside the decode subtasks (at least
     * one): PyTorch's threads spin while they wait, and with as many as there are cores they took
     * the CPU from the decoders of the same host (bench --pipeline on 2 cores: 15.9 images/s with
     * both cores, 21.4-21.7 with one; docs/benchmarks.md, "Streaming overhead").
     */
    public static int threads(GlimpseConfig c) {
        int set = c.get(GlimpseOptions.ENGINE_THREADS);
        if (set > 0) {
            return set;
        }
        return Math.max(1, Runtime.getRuntime().availableProcessors() - c.get(GlimpseOptions.DECODE_PARALLELISM));
    }
}
