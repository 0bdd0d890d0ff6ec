package dev.glimpse.job;

import dev.glimpse.model.EngineDtype;
import dev.glimpse.operators.BatchingSettings;
import dev.glimpse.operators.DecoderSettings;
import java.io.Serializable;
import java.util.Objects;

/**
 * Everything {@link GlimpsePipeline} builds the graph from besides its events: one value for the
 * streaming job, bounded runs and the SQL model provider. {@code testTimeViews}: embed the model's
 * test-time views of each image (its {@code view_shifts}), else one unmoved view. {@code
 * imageSplitting}: split SmolVLM images into tiles as the model folder says, else embed the global
 * image only. {@code maxImageTokens}: a Qwen2-VL image's most merged image tokens (0: the folder's
 * {@code max_pixels}). The two parallelisms are the CPU stages' (decode, patch embedding) and the captioner's.
 * {@code dtype}: {@code engine.dtype}, which the operators carry to every TaskManager; null where the
 * configuration sets none: each TaskManager's {@code -Dglimpse.engine.dtype}, else float32.
 */
public record PipelineSettings(String modelDir, EngineDtype dtype, boolean testTimeViews, boolean imageSplitting, int maxImageTokens,
                               DecoderSettings decoder, BatchingSettings batching, int cpuParallelism,
                               int inferenceParallelism)
        implements Serializable {
    public PipelineSettings {
        Objects.requireNonNull(modelDir, "modelDir");
        Objects.requireNonNull(decoder, "decoder");
        Objects.requireNonNull(batching, "batching");
        if (maxImageTokens < 0) {
            throw new IllegalArgumentException("generation.max-image-tokens must not be negative, got " + maxImageTokens);
        }
        if (cpuParallelism < 1 || inferenceParallelism < 1) {
            throw new IllegalArgumentException("parallelism must be at least 1, got decode " + cpuParallelism
                    + ", inference " + inferenceParallelism);
        }
    }

    /** The graph's settings as the configuration gives them. */
    public static PipelineSettings of(GlimpseConfig c) {
        return new PipelineSettings(c.modelDir().toAbsolutePath().toString(), c.engineDtype(), c.get(GlimpseOptions.TEST_TIME_VIEWS),
                c.get(GlimpseOptions.IMAGE_SPLITTING), c.get(GlimpseOptions.MAX_IMAGE_TOKENS),
                c.decoderSettings(c.modelConfig()), c.batchingSettings(),
                c.get(GlimpseOptions.DECODE_PARALLELISM), c.get(GlimpseOptions.INFERENCE_PARALLELISM));
    }

    /** The same settings with other decoder limits. */
    public PipelineSettings withDecoder(DecoderSettings d) {
        return new PipelineSettings(modelDir, dtype, testTimeViews, imageSplitting, maxImageTokens, d, batching, cpuParallelism,
                inferenceParallelism);
    }
}
