package dev.glimpse.sql;

import dev.glimpse.job.PipelineSettings;
import dev.glimpse.model.Captioner;
import dev.glimpse.operators.BatchForward;
import dev.glimpse.operators.Devices;
import dev.glimpse.operators.EmbeddedImage;
import dev.glimpse.operators.ErrorCode;
import dev.glimpse.operators.ImageDecoding;
import dev.glimpse.operators.ImageEmbedding;
import dev.glimpse.operators.ImageEvent;
import dev.glimpse.operators.SharedModels;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.apache.flink.api.common.externalresource.ExternalResourceInfo;
import org.apache.flink.table.data.GenericRowData;
import org.apache.flink.table.data.RowData;

/**
 * What a Glimpse model does to the rows of one task, with the DataStream job's own code: {@link
 * ImageDecoding} and {@link ImageEmbedding} on the task's thread, then {@link BatchForward} on the
 * model this TaskManager shares for its device (the GPU Flink assigned, else the CPU). Every row gets
 * one output row: its caption, or the error code and message of the dead-letter topic. Only the
 * first two steps are thread-confined; {@link #caption} may run on another thread.
 */
final class RowCaptioner implements AutoCloseable {
    /** A row decoded and embedded, or the outcome it already has. */
    record Prepared(EmbeddedImage image, RowData failed) {}

    private final CaptionModelSpec spec;
    private final ImageDecoding decoding;
    private final ImageEmbedding embedding;
    private final SharedModels.Handle model;
    private final BatchForward forward;
    private final String modelName;

    RowCaptioner(CaptionModelSpec spec, Set<ExternalResourceInfo> gpus) {
        this.spec = spec;
        PipelineSettings s = spec.settings();
        decoding = new ImageDecoding(s.decoder());
        embedding = new ImageEmbedding(s.modelDir(), s.testTimeViews(), s.imageSplitting(), s.maxImageTokens());
        model = SharedModels.acquire(Path.of(s.modelDir()), Devices.pick(gpus));
        forward = new BatchForward(model);
        modelName = model.config().displayName();
    }

    /**
     * Decodes and embeds the image of an INPUT row ({@code image}, and {@code prompt} where the model
     * has one; a null prompt is the model's own). The row is read before this returns: Flink may reuse it.
     */
    Prepared prepare(RowData input) {
        byte[] image = input.isNullAt(0) ? null : input.getBinary(0);
        String prompt = spec.promptColumn() && !input.isNullAt(1) ? input.getString(1).toString() : null;
        ImageEvent event = new ImageEvent(null, image, "row", prompt, null);
        ImageDecoding.Outcome decoded = decoding.decode(event, System.currentTimeMillis());
        if (decoded instanceof ImageDecoding.Failed f) {
            return new Prepared(null, failed(f.code(), f.message()));
        }
        try {
            return new Prepared(embedding.embed(((ImageDecoding.Decoded) decoded).image()), null);
        } catch (RuntimeException e) {
            return new Prepared(null, failed(ErrorCode.INFERENCE_FAILED, "patch embedding failed: " + e));
        }
    }

    /**
     * The output rows of {@code images}, in order, from one batched forward (and a second look at the
     * images an adaptive plan's first look left unsure). A batch that fails is captioned again one
     * image at a time, so that one poisonous image fails alone.
     */
    List<RowData> caption(List<EmbeddedImage> images) {
        try {
            List<Captioner.Caption> captions = new ArrayList<>(forward.caption(images, false, rows -> {}));
            List<Integer> unsure = new ArrayList<>();
            for (int i = 0; i < images.size(); i++) {
                if (images.get(i).plan().unsure(captions.get(i))) {
                    unsure.add(i);
                }
            }
            if (!unsure.isEmpty()) {
                List<Captioner.Caption> second = forward.caption(unsure.stream().map(images::get).toList(), true, rows -> {});
                for (int k = 0; k < unsure.size(); k++) {
                    captions.set(unsure.get(k), second.get(k));
                }
            }
            List<RowData> rows = new ArrayList<>(images.size());
            captions.forEach(c -> rows.add(captioned(c)));
            return rows;
        } catch (RuntimeException e) {
            if (images.size() > 1) {
                List<RowData> rows = new ArrayList<>(images.size());
                images.forEach(image -> rows.addAll(caption(List.of(image))));
                return rows;
            }
            return List.of(failed(ErrorCode.INFERENCE_FAILED, "inference failed: " + e));
        }
    }

    private RowData captioned(Captioner.Caption caption) {
        GenericRowData row = new GenericRowData(spec.outputs().size());
        for (int i = 0; i < spec.outputs().size(); i++) {
            row.setField(i, spec.outputs().get(i).of(caption, modelName));
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

    @Override
    public void close() throws Exception {
        decoding.close();
        embedding.close();
        model.close();
    }
}
