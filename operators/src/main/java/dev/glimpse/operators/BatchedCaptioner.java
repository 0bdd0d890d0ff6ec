package dev.glimpse.operators;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.Shape;
import dev.glimpse.model.Captioner;
import dev.glimpse.model.ModelConfig;
import dev.glimpse.model.ViewPlan;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.flink.api.common.externalresource.ExternalResourceInfo;
import org.apache.flink.streaming.api.operators.AbstractStreamOperator;
import org.apache.flink.streaming.api.operators.BoundedOneInput;
import org.apache.flink.streaming.api.operators.OneInputStreamOperator;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs the vision transformer, projector and decoder on batches of patch-embedded images. Records
 * wait in memory only until the batch is full or its delay runs out, and the buffer is flushed
 * before every checkpoint barrier and at the end of input, so no record is ever held outside of
 * Flink's guarantees. A failing batch is split and retried, so one poisonous record becomes one
 * {@code INFERENCE_FAILED} dead letter while its batch-mates are still captioned.
 *
 * <p>With adaptive test-time views ({@link ViewPlan#adaptive()}) a batch first decodes each image's
 * unmoved view; the images it leaves unsure wait for a second look from their shifted views, which
 * they share in one forward: when a batch of them is full, when their own delay runs out (the job:
 * one checkpoint interval), before every barrier and at the end of input. Captions are committed
 * once per checkpoint, so waiting for the barrier does not delay them; sharing the forward saves
 * most of its cost, which at a small model's size is its decoding steps rather than its rows.
 */
public class BatchedCaptioner extends AbstractStreamOperator<CaptionRecord>
        implements OneInputStreamOperator<EmbeddedImage, CaptionRecord>, BoundedOneInput {
    public static final String STAGE = "BatchedCaptioner";
    private static final Logger LOG = LoggerFactory.getLogger(BatchedCaptioner.class);

    private final String modelDir;
    private final BatchingSettings batching;
    private transient List<Pending> buffer;
    private transient long timerDeadline;
    /** Images an adaptive plan's first look left unsure, waiting for their second look. */
    private transient List<Pending> unsure;
    private transient long unsureDeadline;
    private transient SharedModels.Handle model;
    private transient Captioner captioner;
    private transient CaptionerMetrics metrics;
    /** Rows of the batch being decoded now, 0 between forwards (a gauge reads it from another thread). */
    private transient volatile int rowsActive;

    /**
     * A record waiting for its batch, with the processing time it arrived; after a first look that
     * left it unsure, also that look's inference time and batch size.
     */
    record Pending(EmbeddedImage image, long arrivedAtMs, long firstInferenceMs) {
        Pending(EmbeddedImage image, long arrivedAtMs) {
            this(image, arrivedAtMs, -1);
        }

        boolean secondLook() {
            return firstInferenceMs >= 0;
        }
    }

    public BatchedCaptioner(String modelDir, BatchingSettings batching) {
        this.modelDir = modelDir;
        this.batching = batching;
    }

    @Override
    public void open() throws Exception {
        super.open();
        buffer = new ArrayList<>(batching.maxBatchSize());
        timerDeadline = -1;
        unsure = new ArrayList<>();
        unsureDeadline = -1;
        model = SharedModels.acquire(Path.of(modelDir), pickDevice());
        captioner = new Captioner(model.model());
        metrics = new CaptionerMetrics(getRuntimeContext().getMetricGroup(), this::rowsActive,
                model.model().manager().getDevice(), model.loadTimeMs());
    }

    /** The GPU Flink's external resource framework assigned to this TaskManager, if DJL can use it. */
    private Device pickDevice() {
        Set<ExternalResourceInfo> gpus = getRuntimeContext().getExternalResourceInfos("gpu");
        if (!gpus.isEmpty()) {
            ExternalResourceInfo gpu = gpus.iterator().next();
            int index = Integer.parseInt(gpu.getProperty("index").orElse("0"));
            if (Engine.getInstance().getGpuCount() > index) {
                LOG.info("captioning on GPU {} assigned by Flink", index);
                return Device.gpu(index);
            }
            LOG.warn("Flink assigned GPU {} but the PyTorch engine sees {} GPU(s); captioning on the CPU",
                    index, Engine.getInstance().getGpuCount());
            return Device.cpu();
        }
        if (Engine.getInstance().getGpuCount() > 0) {
            LOG.info("no GPU assigned by Flink's external resources; using the engine's GPU 0");
            return Device.gpu(0);
        }
        LOG.info("no GPU available; captioning on the CPU");
        return Device.cpu();
    }

    @Override
    public void processElement(StreamRecord<EmbeddedImage> element) throws Exception {
        metrics.recordIn();
        long now = getProcessingTimeService().getCurrentProcessingTime();
        buffer.add(new Pending(element.getValue(), now));
        if (buffer.size() >= batching.maxBatchSize()) {
            flushFirstLooks();
        } else if (timerDeadline < 0) {
            timerDeadline = now + batching.maxBatchDelay().toMillis();
            long deadline = timerDeadline;
            getProcessingTimeService().registerTimer(deadline, t -> onTimer(deadline));
        }
    }

    private void onTimer(long deadline) {
        // A timer of a batch that was already flushed (by size or a barrier) must not cut the next one short.
        if (deadline == timerDeadline) {
            flushFirstLooks();
        }
    }

    private void onUnsureTimer(long deadline) {
        if (deadline == unsureDeadline) {
            flushSecondLooks();
        }
    }

    @Override
    public void prepareSnapshotPreBarrier(long checkpointId) throws Exception {
        super.prepareSnapshotPreBarrier(checkpointId);
        flush();
    }

    @Override
    public void endInput() {
        flush();
    }

    @Override
    public void finish() throws Exception {
        flush();
        super.finish();
    }

    /** Everything waiting, first and second looks: before a barrier and at the end of input. */
    private void flush() {
        flushFirstLooks();
        flushSecondLooks();
    }

    private void flushFirstLooks() {
        timerDeadline = -1;
        if (!buffer.isEmpty()) {
            List<Pending> batch = new ArrayList<>(buffer);
            buffer.clear();
            runByPlan(batch);
        }
        if (unsure.size() >= batching.maxBatchSize()) {
            flushSecondLooks();
        } else if (!unsure.isEmpty() && unsureDeadline < 0) {
            // Second looks wait to share one forward, at most this long (the job: until the next barrier).
            long deadline = Math.max(unsure.get(0).arrivedAtMs() + batching.maxUnsureDelay().toMillis(),
                    getProcessingTimeService().getCurrentProcessingTime());
            unsureDeadline = deadline;
            getProcessingTimeService().registerTimer(deadline, t -> onUnsureTimer(deadline));
        }
    }

    private void flushSecondLooks() {
        unsureDeadline = -1;
        if (unsure.isEmpty()) {
            return;
        }
        List<Pending> batch = new ArrayList<>(unsure);
        unsure.clear();
        runByPlan(batch);
    }

    /**
     * One forward takes one view plan; a job embeds all its images alike, so this splits only a
     * buffer that mixes records of differently configured embedders.
     */
    private void runByPlan(List<Pending> batch) {
        Map<ViewPlan, List<Pending>> byViews = new LinkedHashMap<>();
        for (Pending p : batch) {
            byViews.computeIfAbsent(p.image().plan(), v -> new ArrayList<>()).add(p);
        }
        byViews.values().forEach(this::runSplittingOnFailure);
    }

    private void runSplittingOnFailure(List<Pending> batch) {
        List<CaptionRecord> captions;
        try {
            captions = caption(batch);
        } catch (RuntimeException | OutOfMemoryError e) {
            if (batch.size() == 1) {
                Pending p = batch.get(0);
                LOG.warn("inference failed for {}: {}", p.image().request.id, e.toString());
                metrics.deadLetter(ErrorCode.INFERENCE_FAILED);
                output.collect(DeadLetters.TAG, new StreamRecord<>(DeadLetter.of(p.image().request,
                        ErrorCode.INFERENCE_FAILED, "inference failed: " + e, STAGE)));
                return;
            }
            LOG.warn("batch of {} failed ({}); retrying in halves", batch.size(), e.toString());
            int half = batch.size() / 2;
            runSplittingOnFailure(batch.subList(0, half));
            runSplittingOnFailure(batch.subList(half, batch.size()));
            return;
        }
        for (CaptionRecord c : captions) {
            metrics.caption(c);
            output.collect(new StreamRecord<>(c));
        }
    }

    /** One batched forward over {@code batch}; throws if the model fails. */
    protected List<CaptionRecord> caption(List<Pending> batch) {
        ModelConfig cfg = model.model().config();
        int n = batch.size();
        ViewPlan plan = batch.get(0).image().plan();
        boolean second = batch.get(0).secondLook();
        int views = plan.rows();
        int perView = cfg.numPatches() * cfg.vitHiddenDim;
        // An Idefics3 (SmolVLM) image has as many rows as tiles, the others one row per view.
        boolean tiled = cfg.idefics3 != null;
        int[][] grids = new int[n][];
        long rows = 0;
        for (int i = 0; i < n; i++) {
            EmbeddedImage img = batch.get(i).image();
            rows += tiled ? img.tiles() : views;
            grids[i] = new int[] {img.tileRows, img.tileCols};
        }
        float[] flat = new float[Math.toIntExact(rows * perView)];
        List<String> prompts = new ArrayList<>(n);
        int[] caps = new int[n];
        int at = 0;
        for (int i = 0; i < n; i++) {
            EmbeddedImage img = batch.get(i).image();
            if (!img.plan().equals(plan) || batch.get(i).secondLook() != second) {
                throw new IllegalArgumentException("record " + img.request.id + " has views " + img.plan()
                        + ", its batch " + plan);
            }
            int perImage = (tiled ? img.tiles() : views) * perView;
            if (img.patches.length != perImage) {
                throw new IllegalArgumentException("record " + img.request.id + " has " + img.patches.length
                        + " patch values, the model expects " + perImage + " ("
                        + (tiled ? img.tiles() + " tile(s))" : views + " view(s))"));
            }
            System.arraycopy(img.patches, 0, flat, at, perImage);
            at += perImage;
            prompts.add(img.request.prompt);
            caps[i] = img.request.maxNewTokens;
        }
        long start = System.currentTimeMillis();
        long startProcessingTime = getProcessingTimeService().getCurrentProcessingTime();
        List<Captioner.Caption> captions;
        model.lock().lock();
        try (NDScope ignored = new NDScope()) {
            rowsActive = n;
            NDArray patches = model.model().manager().create(flat,
                    new Shape(rows, cfg.numPatches(), cfg.vitHiddenDim));
            if (tiled) {
                captions = captioner.captionTilePatches(patches, grids, prompts, caps);
            } else if (!plan.adaptive()) {
                captions = captioner.captionPatches(patches, plan, prompts, caps);
            } else if (second) {
                captions = captioner.captionShiftedViews(patches, plan, prompts, caps);
            } else {
                captions = captioner.captionFirstView(patches, plan, prompts, caps);
            }
        } finally {
            rowsActive = 0;
            model.lock().unlock();
        }
        long end = System.currentTimeMillis();
        metrics.batch(n, end - start, second);
        LOG.debug("batch of {} ({} look) in {} ms", n, second ? "second" : "first", end - start);
        List<CaptionRecord> out = new ArrayList<>(n);
        List<Pending> unsureNow = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            Pending p = batch.get(i);
            if (!second && plan.unsure(captions.get(i))) {
                unsureNow.add(new Pending(p.image(), p.arrivedAtMs(), end - start));
                continue;
            }
            CaptionRecord c = new CaptionRecord();
            c.request = p.image().request;
            c.caption = captions.get(i).text();
            c.tokens = captions.get(i).tokens();
            c.confidence = captions.get(i).confidence();
            c.views = captions.get(i).views();
            c.model = cfg.displayName();
            c.prompt = p.image().request.prompt != null ? p.image().request.prompt : cfg.defaultPrompt;
            c.batchSize = n;
            c.queueMs = startProcessingTime - p.arrivedAtMs() - (second ? p.firstInferenceMs() : 0);
            c.inferenceMs = end - start + (second ? p.firstInferenceMs() : 0);
            c.completedAtMs = end;
            out.add(c);
        }
        // Only once the whole batch has succeeded: a failed batch is retried in halves from scratch.
        unsure.addAll(unsureNow);
        return out;
    }

    /** Records waiting for a batch, first looks and second (tests, metrics). */
    int buffered() {
        return buffer.size() + unsure.size();
    }

    /** Rows in the decoding batch now: the batch's size while a forward runs, else 0. */
    public int rowsActive() {
        return rowsActive;
    }

    @Override
    public void notifyCheckpointComplete(long checkpointId) throws Exception {
        super.notifyCheckpointComplete(checkpointId);
        metrics.logCheckpoint(LOG, checkpointId, "captions", true);
    }

    @Override
    public void close() throws Exception {
        if (model != null) {
            model.close();
            model = null;
        }
        super.close();
    }
}
