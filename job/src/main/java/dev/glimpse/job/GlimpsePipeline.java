package dev.glimpse.job;

import dev.glimpse.operators.BatchedCaptioner;
import dev.glimpse.operators.CaptionRecord;
import dev.glimpse.operators.DeadLetter;
import dev.glimpse.operators.DeadLetters;
import dev.glimpse.operators.DecodedImage;
import dev.glimpse.operators.EmbeddedImage;
import dev.glimpse.operators.ImageDecoder;
import dev.glimpse.operators.ImageEvent;
import dev.glimpse.operators.PatchEmbedder;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;

/**
 * The job graph, apart from its source and sinks: decode → patch embedding on the CPU stages, a
 * rebalance, then batched inference at its own parallelism. The streaming job passes Kafka's source,
 * bounded runs theirs, tests their own; all build through here.
 */
public final class GlimpsePipeline {
    /** What the graph produces: captions, and every record that could not be captioned. */
    public record Outputs(DataStream<CaptionRecord> captions, DataStream<DeadLetter> deadLetters) {}

    private GlimpsePipeline() {}

    public static Outputs build(DataStream<ImageEvent> events, PipelineSettings s) {
        return build(events, s, new BatchedCaptioner(s.modelDir(), s.dtype(), s.batching()));
    }

    /** The graph with a given inference operator (tests inject failures through it). */
    public static Outputs build(DataStream<ImageEvent> events, PipelineSettings s, BatchedCaptioner captioner) {
        SingleOutputStreamOperator<DecodedImage> decoded = events
                .process(new ImageDecoder(s.decoder()), TypeInformation.of(DecodedImage.class))
                .name(ImageDecoder.STAGE).uid("image-decoder").setParallelism(s.cpuParallelism());
        SingleOutputStreamOperator<EmbeddedImage> embedded = decoded
                .process(new PatchEmbedder(s.modelDir(), s.dtype(), s.testTimeViews(), s.imageSplitting(), s.maxImageTokens()), TypeInformation.of(EmbeddedImage.class))
                .name(PatchEmbedder.STAGE).uid("patch-embedder").setParallelism(s.cpuParallelism());
        // A rebalance decouples the stages: decoding never starves inference, inference never waits on one decoder.
        SingleOutputStreamOperator<CaptionRecord> captions = embedded.rebalance()
                .transform(BatchedCaptioner.STAGE, TypeInformation.of(CaptionRecord.class), captioner)
                .uid("batched-captioner").setParallelism(s.inferenceParallelism());
        DataStream<DeadLetter> dead = decoded.getSideOutput(DeadLetters.TAG)
                .union(embedded.getSideOutput(DeadLetters.TAG), captions.getSideOutput(DeadLetters.TAG));
        return new Outputs(captions, dead);
    }
}
