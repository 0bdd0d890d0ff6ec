package dev.glimpse.sql;

import dev.glimpse.job.PipelineSettings;
import dev.glimpse.operators.BatchingSettings;
import dev.glimpse.operators.CaptionEngine;
import dev.glimpse.operators.CaptionRecord;
import dev.glimpse.operators.DeadLetter;
import dev.glimpse.operators.Devices;
import dev.glimpse.operators.EmbeddedImage;
import dev.glimpse.operators.ErrorCode;
import dev.glimpse.operators.ImageDecoding;
import dev.glimpse.operators.ImageEmbedding;
import dev.glimpse.operators.ImageEvent;
import dev.glimpse.operators.SharedModels;
import java.nio.file.Path;
import org.apache.flink.table.data.GenericRowData;
import org.apache.flink.table.data.RowData;
import org.apache.flink.table.functions.FunctionContext;

/**
 * What a Glimpse model does to the rows of one task, with the DataStream job's own code: {@link
 * ImageDecoding} and {@link ImageEmbedding} on the task's thread ({@link #prepare}), then the job's
 * {@link CaptionEngine} (static or continuous batching, second looks, a failed batch split so that one
 * poisonous image fails alone) on the model this TaskManager shares for its device (the GPU Flink
 * assigned, else the CPU), run by its {@link CaptionEngine.Host}. Every row gets one output row,
 * handed to {@link Rows}: its caption, or the error code and message of the dead-letter topic.
 */
final class RowCaptioner implements AutoCloseable {
    /** A row decoded and embedded (its id set for {@link Rows}), or the outcome it already has. */
    record Prepared(EmbeddedImage image, RowData failed) {}

    /** Where the output row of each row the engine took goes. */
    interface Rows {
        void completed(String id, RowData row);
    }

    private final CaptionModelSpec spec;
    private final ImageDecoding decoding;
    private final ImageEmbedding embedding;
    private final CaptionEngine engine;
    private final String idPrefix;
    /** The ids given to prepared rows; the task's thread only. */
    private long nextId;

    RowCaptioner(CaptionModelSpec spec, FunctionContext context, CaptionEngine.Host host, Rows rows) {
        this.spec = spec;
        PipelineSettings s = spec.settings();
        decoding = new ImageDecoding(s.decoder());
        embedding = new ImageEmbedding(s.modelDir(), s.dtype(), s.testTimeViews(), s.imageSplitting(), s.maxImageTokens());
        idPrefix = "row-" + context.getTaskInfo().getIndexOfThisSubtask() + "-";
        SharedModels.Handle model = SharedModels.acquire(Path.of(s.modelDir()),
                Devices.pick(context.getExternalResourceInfos("gpu")), s.dtype());
        // The job's unsure images wait for the next barrier; a row in flight waits for nothing but its batch.
        BatchingSettings b = s.batching();
        BatchingSettings batching = new BatchingSettings(b.maxBatchSize(), b.maxBatchDelay(), b.maxBatchDelay(), b.mode());
        engine = new CaptionEngine("ML_PREDICT", batching, model, context.getMetricGroup(), host, new CaptionEngine.Outputs() {
            @Override
            public void caption(CaptionRecord c) {
                rows.completed(c.request.id, captioned(c));
            }

            @Override
            public void deadLetter(DeadLetter d) {
                rows.completed(d.id, failed(d.code, d.message));
            }
        });
    }

    /** The engine the host runs: it takes {@link Prepared#image}s and gives their rows to {@link Rows}. */
    CaptionEngine engine() {
        return engine;
    }

    /**
     * Decodes and embeds the image of an INPUT row ({@code image}, and {@code prompt} where the model
     * has one; a null prompt is the model's own), giving it an id of its own. The row is read before
     * this returns: Flink may reuse it. The task's thread only.
     */
    Prepared prepare(RowData input) {
        byte[] image = input.isNullAt(0) ? null : input.getBinary(0);
        String prompt = spec.promptColumn() && !input.isNullAt(1) ? input.getString(1).toString() : null;
        ImageEvent event = new ImageEvent(null, image, "row", prompt, null);
        ImageDecoding.Outcome decoded = decoding.decode(event, System.currentTimeMillis());
        if (decoded instanceof ImageDecoding.Failed f) {
            return new Prepared(null, failed(f.code(), f.message()));
        }
        EmbeddedImage embedded;
        try {
            embedded = embedding.embed(((ImageDecoding.Decoded) decoded).image());
        } catch (RuntimeException e) {
            return new Prepared(null, failed(ErrorCode.INFERENCE_FAILED, "patch embedding failed: " + e));
        }
        embedded.request.id = idPrefix + nextId++;
        return new Prepared(embedded, null);
    }

    private RowData captioned(CaptionRecord caption) {
        GenericRowData row = new GenericRowData(spec.outputs().size());
        for (int i = 0; i < spec.outputs().size(); i++) {
            row.setField(i, spec.outputs().get(i).of(caption));
        }
        return row;
    }

    private RowData failed(ErrorCode code, String message) {
        GenericRowData row = new GenericRowData(spec.outputs().size());
        for (int i = 0; i < spec.outputs().size(); i++) {
            row.setField(i, spec.outputs().get(i).of(code, message));
        }
        return row;
    }

    /** Closes the engine (the host has stopped running it) and the CPU stages. */
    @Override
    public void close() throws Exception {
        engine.close();
        decoding.close();
        embedding.close();
    }
}
