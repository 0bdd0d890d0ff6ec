package dev.glimpse.job;

import dev.glimpse.operators.BatchedCaptioner;
import dev.glimpse.operators.BatchingSettings;
import dev.glimpse.operators.CaptionRecord;
import dev.glimpse.operators.DeadLetter;
import dev.glimpse.operators.DeadLetters;
import dev.glimpse.operators.DecodedImage;
import dev.glimpse.operators.DecoderSettings;
import dev.glimpse.operators.EmbeddedImage;
import dev.glimpse.operators.ImageDecoder;
import dev.glimpse.operators.ImageEvent;
import dev.glimpse.operators.PatchEmbedder;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;

/**
 * The job graph, apart from its source and sinks: decode → patch embedding on the CPU stages, a
 * rebalance, then batched inference at its own parallelism. Tests pass their own source in; the
 * job passes Kafka's.
 */
public final class GlimpsePipeline {
    /** What the graph produces: captions, and every record that could not be captioned. */
    public record Outputs(DataStream<CaptionRecord> captions, DataStream<DeadLetter> deadLetters) {}

    private GlimpsePipeline() {}

    public static Outputs build(DataStream<ImageEvent> events, String modelDir, boolean testTimeViews,
                                boolean imageSplitting, DecoderSettings decoder, BatchingSettings batching,
                                int cpuParallelism, int inferenceParallelism) {
        return build(events, modelDir, testTimeViews, imageSplitting, decoder, new BatchedCaptioner(modelDir, batching),
                cpuParallelism, inferenceParallelism);
    }

    /**
     * The graph with a given inference operator (tests inject failures through it). {@code
     * testTimeViews}: embed the model's test-time views of each image (its {@code view_shifts}), else
     * one unmoved view. {@code imageSplitting}: split SmolVLM images into tiles as the model folder
     * says, else embed the global image only.
     */
    public static Outputs build(DataStream<ImageEvent> events, String modelDir, boolean testTimeViews,
                                boolean imageSplitting, DecoderSettings decoder, BatchedCaptioner captioner,
                                int cpuParallelism, int inferenceParallelism) {
        SingleOutputStreamOperator<DecodedImage> decoded = events
                .process(new ImageDecoder(decoder), TypeInformation.of(DecodedImage.class))
                .name(ImageDecoder.STAGE).uid("image-decoder").setParallelism(cpuParallelism);
        SingleOutputStreamOperator<EmbeddedImage> embedded = decoded
                .process(new PatchEmbedder(modelDir, testTimeViews, imageSplitting), TypeInformation.of(EmbeddedImage.class))
                .name(PatchEmbedder.STAGE).uid("patch-embedder").setParallelism(cpuParallelism);
        // A rebalance decouples the stages: decoding never starves inference, inference never waits on one decoder.
        SingleOutputStreamOperator<CaptionRecord> captions = embedded.rebalance()
                .transform(BatchedCaptioner.STAGE, TypeInformation.of(CaptionRecord.class), captioner)
                .uid("batched-captioner").setParallelism(inferenceParallelism);
        DataStream<DeadLetter> dead = decoded.getSideOutput(DeadLetters.TAG)
                .union(embedded.getSideOutput(DeadLetters.TAG), captions.getSideOutput(DeadLetters.TAG));
        return new Outputs(captions, dead);
    }
}
