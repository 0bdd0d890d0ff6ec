package dev.glimpse.job;

import dev.glimpse.connectors.reprocess.FileTreeListing;
import dev.glimpse.connectors.reprocess.KafkaRange;
import dev.glimpse.connectors.reprocess.ReprocessSink;
import dev.glimpse.connectors.reprocess.ReprocessSource;
import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The options of {@code reprocess} that shape its graph, the same whether {@code bin/glimpse
 * reprocess} runs it on a local cluster or {@link GlimpseJob#main} submits it to a real one.
 * {@code extensions}: null for the image extensions, {@code *} for every file.
 */
public record ReprocessArguments(JobArguments job, String from, String fromOffsets, String untilOffsets, String to,
                                 String deadLetterTopic, String prompt, boolean skipExisting, List<String> extensions) {
    /** batching.max-batch-delay of reprocess runs unless --set gives one. */
    public static final String BATCH_DELAY = "2s";

    /** checkpoint.interval of reprocess runs unless --set gives one. */
    public static final String CHECKPOINT_INTERVAL = "30s";

    /** The run's configuration: {@code flags} and the reprocess defaults applied where --set gives none. */
    public GlimpseConfig load(Map<String, String> flags) {
        Map<String, String> all = new LinkedHashMap<>(flags);
        if (!job.set().containsKey(GlimpseOptions.MAX_BATCH_DELAY.key())) {
            // No one waits for a caption of an archive: let batches fill. With the streaming job's 50 ms
            // the CPU stages, held back by the captioner's backpressure while it runs a forward, fed it
            // batches of 1-5 images where `caption` runs 16 (measured, docs/benchmarks.md "Speed").
            all.put(GlimpseOptions.MAX_BATCH_DELAY.key(), BATCH_DELAY);
        }
        if (!job.set().containsKey(GlimpseOptions.CHECKPOINT_INTERVAL.key())) {
            // The captioner finishes what it holds before each barrier (a static batch cut short, a
            // continuous one drained without refills): at the streaming job's 5 s, static batches held
            // 13 images on average where `caption` runs 16 (docs/benchmarks.md "Speed"). An archive's run
            // trades that for at most 30 s of work to redo after a kill -9; the end of the input asks for
            // its final checkpoint at once (bin/glimpse reprocess).
            all.put(GlimpseOptions.CHECKPOINT_INTERVAL.key(), CHECKPOINT_INTERVAL);
        }
        return job.load(all);
    }

    /**
     * The run's source and sink, the sink's folders made: what the graph of run {@code runId} reads and
     * writes. An {@code s3://} source is listed with the S3 options of {@code c} (see {@link
     * ReprocessSource#parse(String, java.util.Set, KafkaRange, Map)}).
     */
    public ReprocessJob.Plan plan(String runId, GlimpseConfig c) throws IOException {
        ReprocessSource source = ReprocessSource.parse(from, FileTreeListing.extensions(extensions),
                KafkaRange.parse(fromOffsets, untilOffsets), c.fileSystemOptions());
        ReprocessSink sink = ReprocessSink.parse(to, deadLetterTopic);
        sink.prepare();
        return new ReprocessJob.Plan(source, sink, prompt, skipExisting, runId);
    }
}
