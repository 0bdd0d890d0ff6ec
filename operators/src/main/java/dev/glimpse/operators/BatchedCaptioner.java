package dev.glimpse.operators;

import dev.glimpse.model.Captioner;
import dev.glimpse.model.ModelConfig;
import dev.glimpse.model.ViewPlan;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.flink.api.common.operators.MailboxExecutor;
import org.apache.flink.streaming.api.operators.AbstractStreamOperator;
import org.apache.flink.streaming.api.operators.BoundedOneInput;
import org.apache.flink.streaming.api.operators.OneInputStreamOperator;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs the vision transformer, projector and decoder on batches of patch-embedded images. Records
 * wait in memory only until the batch is full or its delay runs out, and everything waiting or
 * decoding is captioned before every checkpoint barrier and at the end of input, so no record is
 * ever held outside of Flink's guarantees. A failing batch is split and retried, so one poisonous
 * record becomes one {@code INFERENCE_FAILED} dead letter while its batch-mates are still captioned.
 * When records join a forward is decided by {@link StaticBatching}, {@link ContinuousBatching} and
 * {@link SecondLooks}; this class runs the forwards and keeps the operator's life.
 *
 * <p>Continuous batching ({@link BatchingSettings.Mode#CONTINUOUS}, the default): the batch decodes
 * one token per step, each step a mail of the task's mailbox, so that records arriving between two
 * steps are taken in; an image leaves the batch the step it finishes (stop token or its own cap) and
 * its caption is emitted at once, and the records waiting join in the rows it freed, their prefill
 * run at the start of a step, up to {@code max-batch-size} images at once: together, once they
 * would fill the free rows or the oldest has waited {@code max-batch-delay}. While nothing
 * decodes, the first records wait for {@code max-batch-size} of them or {@code max-batch-delay}, as
 * a static batch does, so a burst shares one prefill. Before a barrier the batch decodes to its end
 * (drain) rather than storing its rows in state: a row's state is its KV cache, which a restart
 * cannot use, so the records would be decoded again anyway; a drain costs at most one caption's
 * steps per checkpoint, keeps the operator stateless, and its captions go into the transaction the
 * barrier commits. Static batching ({@link BatchingSettings.Mode#STATIC}): a batch decodes to its
 * last row before the next starts.
 *
 * <p>With adaptive test-time views ({@link ViewPlan#adaptive()}) an image's first look decodes its
 * unmoved view; the images it leaves unsure wait for a second look from their shifted views, which
 * they share in one forward: when a batch of them is full, when their own delay runs out (the job:
 * one checkpoint interval), before every barrier and at the end of input. Captions are committed
 * once per checkpoint, so waiting for the barrier does not delay them; sharing the forward saves
 * most of its cost, which at a small model's size is its decoding steps rather than its rows. With
 * continuous batching a second look joins the running batch like any record, sharing its steps.
 */
public class BatchedCaptioner extends AbstractStreamOperator<CaptionRecord>
        implements OneInputStreamOperator<EmbeddedImage, CaptionRecord>, BoundedOneInput {
    public static final String STAGE = "BatchedCaptioner";
    private static final Logger LOG = LoggerFactory.getLogger(BatchedCaptioner.class);

    private final String modelDir;
    private final BatchingSettings batching;
    /** Static batching: the first looks waiting for their batch; null under continuous batching. */
    private transient StaticBatching staticBatching;
    /** Continuous batching: the records waiting and the running batch; null under static batching. */
    private transient ContinuousBatching continuousBatching;
    /** Images an adaptive plan's first look left unsure, waiting for their second look. */
    private transient SecondLooks secondLooks;
    private transient SharedModels.Handle model;
    private transient BatchForward forward;
    private transient CaptionerMetrics metrics;
    /** Images of the batch being decoded now, 0 between forwards (a gauge reads it from another thread). */
    private transient volatile int rowsActive;
    /** Continuous batching: the task's mailbox, which runs the decoding steps between input records. */
    private transient MailboxExecutor mailbox;
    private transient boolean stepQueued;

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
        model = SharedModels.acquire(Path.of(modelDir), Devices.pick(getRuntimeContext().getExternalResourceInfos("gpu")));
        secondLooks = new SecondLooks(batching);
        if (continuous()) {
            continuousBatching = new ContinuousBatching(batching, secondLooks, new ContinuousBatching.Host() {
                @Override
                public void queueStep() {
                    BatchedCaptioner.this.queueStep();
                }

                @Override
                public void setTimer(long atMs, Runnable onTimer) {
                    BatchedCaptioner.this.setTimer(atMs, onTimer);
                }
            });
        } else {
            staticBatching = new StaticBatching(batching);
        }
        forward = new BatchForward(model);
        mailbox = getContainingTask().getMailboxExecutorFactory().createExecutor(getOperatorConfig().getChainIndex());
        metrics = new CaptionerMetrics(getRuntimeContext().getMetricGroup(), this::rowsActive,
                model.manager().getDevice(), model.loadTimeMs());
    }

    /** The GPU Flink's external resource framework assigned to this TaskManager, if DJL can use it. */
    @Override
    public void processElement(StreamRecord<EmbeddedImage> element) throws Exception {
        metrics.recordIn();
        long now = now();
        Pending p = new Pending(element.getValue(), now);
        if (continuous()) {
            continuousBatching.add(p, now);
            continuousBatching.holdBackInput(this::decodeStep);
        } else if (staticBatching.add(p)) {
            flushFirstLooks();
        } else {
            long deadline = staticBatching.schedule(now);
            if (deadline >= 0) {
                setTimer(deadline, () -> onTimer(deadline));
            }
        }
    }

    /** Static batching: a batch's delay ran out. */
    private void onTimer(long deadline) {
        if (staticBatching.isCurrent(deadline)) {
            flushFirstLooks();
        }
    }

    /** Static batching: the unsure images' delay ran out. */
    private void onUnsureTimer(long deadline) {
        if (secondLooks.isCurrent(deadline)) {
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

    /** Everything waiting or decoding, first and second looks: before a barrier and at the end of input. */
    private void flush() {
        if (continuous()) {
            continuousBatching.drain(this::decodeStep);
        } else {
            flushFirstLooks();
            flushSecondLooks();
        }
    }

    private boolean continuous() {
        return batching.mode() == BatchingSettings.Mode.CONTINUOUS;
    }

    private long now() {
        return getProcessingTimeService().getCurrentProcessingTime();
    }

    private void setTimer(long atMs, Runnable onTimer) {
        getProcessingTimeService().registerTimer(atMs, t -> onTimer.run());
    }

    private void queueStep() {
        if (!stepQueued) {
            stepQueued = true;
            mailbox.execute(this::stepFromMailbox, "BatchedCaptioner decoding step");
        }
    }

    /** One step per mail, so that input records and steps take turns on the task's thread. */
    private void stepFromMailbox() {
        stepQueued = false;
        if (!continuousBatching.admitting()) {
            return;
        }
        decodeStep();
        continuousBatching.afterStep(now());
    }

    /**
     * Takes in the records waiting that fit ({@link ContinuousBatching#admit}), then decodes one step and emits the captions of the images that finished. A failing step fails the
     * whole batch: its records are captioned again in static batches, split on failure.
     */
    private void decodeStep() {
        List<ContinuousBatch.Look> joining = new ArrayList<>();
        long start = System.currentTimeMillis();
        List<ContinuousBatch.Finished> finished;
        int images;
        model.lock().lock();
        try {
            continuousBatching.admit(joining, model, this::deadLetter, now());
            ContinuousBatch running = continuousBatching.running();
            if (running == null) {
                return;
            }
            images = running.images() + joining.size();
            finished = step(running, joining);
        } catch (RuntimeException | OutOfMemoryError e) {
            captionAgainInStaticBatches(joining, e);
            return;
        } finally {
            rowsActive = continuousBatching.running() == null ? 0 : continuousBatching.running().images();
            model.lock().unlock();
        }
        metrics.decodingStep(images, System.currentTimeMillis() - start);
        int joinedSecondLooks = (int) joining.stream().filter(l -> l.pending.secondLook()).count();
        if (joinedSecondLooks > 0) {
            metrics.secondLooks(joinedSecondLooks);
        }
        ModelConfig cfg = model.config();
        for (ContinuousBatch.Finished f : finished) {
            Pending p = f.row().look.pending;
            long inference = f.finishedAtMs() - f.row().joinedAtMs;
            if (!p.secondLook() && p.image().plan().unsure(f.caption())) {
                secondLooks.add(new Pending(p.image(), p.arrivedAtMs(), inference));
                continue;
            }
            long firstLook = p.secondLook() ? p.firstInferenceMs() : 0;
            CaptionRecord c = captionRecord(p, f.caption(), cfg);
            c.batchSize = f.row().mostImages;
            c.queueMs = f.row().joinedAtProcessingMs - p.arrivedAtMs() - firstLook;
            c.inferenceMs = inference + firstLook;
            c.completedAtMs = f.finishedAtMs();
            metrics.caption(c);
            output.collect(new StreamRecord<>(c));
        }
    }

    /**
     * Joins {@code joining} to {@code batch} and decodes one step of every image in it; throws if
     * the model fails.
     */
    protected List<ContinuousBatch.Finished> step(ContinuousBatch batch, List<ContinuousBatch.Look> joining) {
        batch.join(joining, getProcessingTimeService().getCurrentProcessingTime());
        return batch.step();
    }

    /** After a failed step: the batch's records and those joining it, in static batches split on failure. */
    private void captionAgainInStaticBatches(List<ContinuousBatch.Look> joining, Throwable e) {
        Set<Pending> records = new LinkedHashSet<>(continuousBatching.dropBatch());
        joining.forEach(l -> records.add(l.pending));
        LOG.warn("decoding step of {} image(s) failed ({}); captioning them again in static batches", records.size(),
                e.toString());
        Map<List<Object>, List<Pending>> byLook = new LinkedHashMap<>();
        for (Pending p : records) {
            byLook.computeIfAbsent(List.of(p.image().plan(), p.secondLook()), k -> new ArrayList<>()).add(p);
        }
        byLook.values().forEach(this::runSplittingOnFailure);
    }

    private void flushFirstLooks() {
        List<Pending> batch = staticBatching.takeAll();
        if (!batch.isEmpty()) {
            runByPlan(batch);
        }
        if (secondLooks.full()) {
            flushSecondLooks();
        } else {
            long deadline = secondLooks.schedule(now());
            if (deadline >= 0) {
                setTimer(deadline, () -> onUnsureTimer(deadline));
            }
        }
    }

    private void flushSecondLooks() {
        List<Pending> batch = secondLooks.takeAll();
        if (!batch.isEmpty()) {
            runByPlan(batch);
        }
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
                deadLetter(batch.get(0), e);
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

    private void deadLetter(Pending p, Throwable e) {
        LOG.warn("inference failed for {}: {}", p.image().request.id, e.toString());
        metrics.deadLetter(ErrorCode.INFERENCE_FAILED);
        output.collect(DeadLetters.TAG, new StreamRecord<>(DeadLetter.of(p.image().request,
                ErrorCode.INFERENCE_FAILED, "inference failed: " + e, STAGE)));
    }

    /** One batched forward over {@code batch}; throws if the model fails. */
    protected List<CaptionRecord> caption(List<Pending> batch) {
        ModelConfig cfg = model.config();
        int n = batch.size();
        ViewPlan plan = batch.get(0).image().plan();
        boolean second = batch.get(0).secondLook();
        List<EmbeddedImage> images = new ArrayList<>(n);
        for (Pending p : batch) {
            if (p.secondLook() != second) {
                throw new IllegalArgumentException("record " + p.image().request.id + " has views " + p.image().plan()
                        + ", its batch " + plan);
            }
            images.add(p.image());
        }
        long start = System.currentTimeMillis();
        long startProcessingTime = getProcessingTimeService().getCurrentProcessingTime();
        List<Captioner.Caption> captions = forward.caption(images, second, rows -> rowsActive = rows);
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
            CaptionRecord c = captionRecord(p, captions.get(i), cfg);
            c.batchSize = n;
            c.queueMs = startProcessingTime - p.arrivedAtMs() - (second ? p.firstInferenceMs() : 0);
            c.inferenceMs = end - start + (second ? p.firstInferenceMs() : 0);
            c.completedAtMs = end;
            out.add(c);
        }
        // Only once the whole batch has succeeded: a failed batch is retried in halves from scratch.
        secondLooks.addAll(unsureNow);
        return out;
    }

    private static CaptionRecord captionRecord(Pending p, Captioner.Caption caption, ModelConfig cfg) {
        CaptionRecord c = new CaptionRecord();
        c.request = p.image().request;
        c.caption = caption.text();
        c.tokens = caption.tokens();
        c.confidence = caption.confidence();
        c.views = caption.views();
        c.model = cfg.displayName();
        c.prompt = p.image().request.prompt != null ? p.image().request.prompt : cfg.defaultPrompt;
        return c;
    }

    /** Records waiting for a batch or decoding in the running one, first looks and second (tests). */
    int buffered() {
        return continuous() ? continuousBatching.held() : staticBatching.size() + secondLooks.size();
    }

    /** Images in the decoding batch now: the batch's size while a forward runs (continuous: between steps too), else 0. */
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
        if (continuousBatching != null && continuousBatching.running() != null) {
            model.lock().lock();
            try {
                continuousBatching.dropBatch();
            } finally {
                model.lock().unlock();
            }
        }
        if (model != null) {
            model.close();
            model = null;
        }
        super.close();
    }
}
