package dev.glimpse.job;

import ai.djl.engine.Engine;
import dev.glimpse.model.ModelConfig;
import dev.glimpse.model.Safetensors;
import dev.glimpse.model.VisionLanguageModel;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * The one banner of the commands that run the job: which model on which device, how it batches,
 * which topics, which URIs it may fetch, and where its web UI and metrics are. Secrets are never
 * printed: Kafka properties come masked ({@link GlimpseConfig#kafkaPropertiesMasked()}).
 */
public final class StartupBanner {
    /** Where a local cluster serves its web UI and its metrics ({@code metrics} null: off). */
    public record Endpoints(String webUi, String metrics) {}

    private StartupBanner() {}

    /**
     * {@code local}: the local cluster the job runs on, or null when it is submitted to a cluster
     * (device and addresses are then the cluster's).
     */
    public static void print(PrintStream out, String title, GlimpseConfig c, Endpoints local) {
        ModelConfig mc = c.modelConfig();
        out.println(title);
        line(out, "model", mc.displayName() + " (" + parameters(c.modelDir()) + ") from " + c.modelDir());
        line(out, "device", local != null ? localDevice(c) : "chosen by each TaskManager (a GPU Flink assigns, else the CPU)");
        line(out, "batching", "up to " + c.get(GlimpseOptions.MAX_BATCH_SIZE) + " images, "
                + c.get(GlimpseOptions.MAX_BATCH_DELAY).toMillis() + " ms delay; test-time views "
                + (c.get(GlimpseOptions.TEST_TIME_VIEWS) ? "on" : "off"));
        line(out, "parallelism", c.get(GlimpseOptions.DECODE_PARALLELISM) + " decode, "
                + c.get(GlimpseOptions.INFERENCE_PARALLELISM) + " inference; checkpoint every "
                + c.get(GlimpseOptions.CHECKPOINT_INTERVAL).toMillis() + " ms to " + c.get(GlimpseOptions.CHECKPOINT_DIR));
        line(out, "Kafka", c.get(GlimpseOptions.BOOTSTRAP_SERVERS) + ": " + c.get(GlimpseOptions.IMAGES_TOPIC)
                + " -> " + c.get(GlimpseOptions.CAPTIONS_TOPIC) + ", dead letters -> "
                + c.get(GlimpseOptions.DEAD_LETTER_TOPIC));
        Map<String, String> kafka = c.kafkaPropertiesMasked();
        if (!kafka.isEmpty()) {
            line(out, "Kafka client", kafka.entrySet().stream().map(e -> e.getKey() + "=" + e.getValue())
                    .collect(Collectors.joining(", ")));
        }
        List<String> allowed = c.get(GlimpseOptions.ALLOWED_URIS);
        line(out, "allowed URIs", allowed.isEmpty() ? "none (every uri is refused)" : String.join(", ", allowed)
                + (c.get(GlimpseOptions.ALLOW_PRIVATE_ADDRESSES) ? "; private addresses allowed" : ""));
        if (local != null) {
            line(out, "web UI", local.webUi());
            line(out, "metrics", local.metrics() != null ? local.metrics() : "off (--prometheus-port PORT)");
        }
    }

    private static void line(PrintStream out, String label, String value) {
        out.printf("  %-13s %s%n", label + ":", value);
    }

    private static String parameters(Path modelDir) {
        try {
            long n = 0;
            for (Path file : VisionLanguageModel.weightFiles(modelDir)) {
                n += Safetensors.parameterCount(file);
            }
            return n >= 1_000_000 ? String.format("%.2f M parameters", n / 1e6) : n + " parameters";
        } catch (IOException | RuntimeException e) {
            return "parameters unknown: " + e.getMessage();
        }
    }

    /** What the captioner of a local cluster takes: the engine's first GPU, else the CPU. */
    private static String localDevice(GlimpseConfig c) {
        Engine engine = Engine.getInstance();
        int threads = Engines.threads(c);
        String cpu = "CPU, " + threads + " PyTorch thread" + (threads == 1 ? "" : "s")
                + (c.get(GlimpseOptions.ENGINE_THREADS) > 0 ? "" : " (cores beside the decode subtasks)");
        return engine.getGpuCount() > 0 ? "GPU 0 of " + engine.getGpuCount() + " (" + engine.getEngineName() + " "
                + engine.getVersion() + ")" : cpu + " (" + engine.getEngineName() + " " + engine.getVersion() + ")";
    }
}
