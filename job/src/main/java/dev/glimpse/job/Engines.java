package dev.glimpse.job;

/** PyTorch engine settings that must be in place before the engine first loads. */
final class Engines {
    private Engines() {}

    static void configureThreads(int threads) {
        System.setProperty("ai.djl.offline", "true");
        if (threads > 0) {
            System.setProperty("ai.djl.pytorch.num_threads", String.valueOf(threads));
            System.setProperty("ai.djl.pytorch.num_interop_threads", "1");
        }
    }
}
