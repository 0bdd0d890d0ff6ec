package dev.glimpse.operators;

import dev.glimpse.model.Captioner;
import dev.glimpse.model.ModelConfig;
import dev.glimpse.model.ViewPlan;
import dev.glimpse.operators.BatchedCaptioner.Pending;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.flink.metrics.MetricGroup;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Captioning of patch-embedded images in batches, whoever runs it: the DataStream job's {@link
 * BatchedCaptioner} on its task's mailbox, and the SQL provider's predict functions on a thread of
 * their own. When records join a forward is decided by {@link StaticBatching}, {@link
 * ContinuousBatching} and {@link SecondLooks}; this class runs the forwards (static batches through
 * {@link BatchForward}, decoding steps of a {@link ContinuousBatch}), retries a failed batch in halves
 * so that one poisonous record fails alone, and hands each caption and dead letter to its {@link
 * Outputs}. Its {@link Host} gives it the clock, timers and the next decoding step, each run on the
 * thread that runs everything else here: the engine is not thread-safe.
 */
public final class CaptionEngine implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(CaptionEngine.class);

    /** What the engine asks of whoever runs it; every callback runs on the engine's one thread. */
    public interface Host {
        /** The time now, in the host's processing time (milliseconds). */
        long now();

        /** Continuous batching: run {@link #step} soon, unless it is already queued. */
        void queueStep();

        /** Runs {@code onTimer} at processing time {@code atMs}. */
        void setTimer(long atMs, Runnable onTimer);
    }

    /** Where the outcome of each record goes: one caption or one dead letter, never both. */
    public interface Outputs {
        void caption(CaptionRecord caption);

        void deadLetter(DeadLetter deadLetter);
    }

    /** The two model calls, which the operator's tests override to make them fail. */
    interface Forwards {
        /** One batched forward over {@code batch}; throws if the model fails. */
        List<CaptionRecord> caption(List<Pending> batch);

        /** Joins {@code joining} to {@code batch} and decodes one step; throws if the model fails. */
        List<ContinuousBatch.Finished> step(ContinuousBatch batch, List<ContinuousBatch.Look> joining);
    }

    private final String stage;
    private final BatchingSettings batching;
    private final Host host;
    private final Outputs outputs;
    private final Forwards forwards;
    /** Static batching: the first looks waiting for their batch; null under continuous batching. */
    private final StaticBatching staticBatching;
    /** Continuous batching: the records waiting and the running batch; null under static batching. */
    private final ContinuousBatching continuousBatching;
    /** Images an adaptive plan's first look left unsure, waiting for their second look. */
    private final SecondLooks secondLooks;
    private final SharedModels.Handle model;
    private final BatchForward forward;
    private final CaptionerMetrics metrics;
    /** Images of the batch being decoded now, 0 between forwards (a gauge reads it from another thread). */
    private volatile int rowsActive;

    /**
     * An engine on {@code model} (which it closes), reporting the captioner's metrics in {@code
     * metricGroup} and naming {@code stage} in its dead letters.
     */
    public CaptionEngine(String stage, BatchingSettings batching, SharedModels.Handle model, MetricGroup metricGroup,
                         Host host, Outputs outputs) {
        this(stage, batching, model, metricGroup, host, outputs, null);
    }

    CaptionEngine(String stage, BatchingSettings batching, SharedModels.Handle model, MetricGroup metricGroup,
                  Host host, Outputs outputs, Forwards forwards) {
        this.stage = stage;
        this.batching = batching;
        this.host = host;
        this.outputs = outputs;
        this.forwards = forwards != null ? forwards : new Forwards() {
            @Override
            public List<CaptionRecord> caption(List<Pending> batch) {
                return captionBatch(batch);
            }

            @Override
            public List<ContinuousBatch.Finished> step(ContinuousBatch batch, List<ContinuousBatch.Look> joining) {
                return stepBatch(batch, joining);
            }
        };
        this.model = model;
        this.forward = new BatchForward(model);
        this.secondLooks = new SecondLooks(batching);
        if (continuous()) {
            continuousBatching = new ContinuousBatching(batching, secondLooks, host);
            staticBatching = null;
        } else {
            staticBatching = new StaticBatching(batching);
            continuousBatching = null;
        }
        metrics = new CaptionerMetrics(metricGroup, this::rowsActive, model.manager().getDevice(),
                model.loadTimeMs());
    }

    /** Takes in a record. */
    public void add(EmbeddedImage image) {
        metrics.recordIn();
        long now = host.now();
        Pending p = new Pending(image, now);
        if (continuous()) {
            continuousBatching.add(p, now);
            continuousBatching.holdBackInput(this::decodeStep);
        } else if (staticBatching.add(p)) {
            flushFirstLooks();
        } else {
            long deadline = staticBatching.schedule(now);
            if (deadline >= 0) {
                host.setTimer(deadline, () -> onTimer(deadline));
            }
        }
    }

    /** Continuous batching: the step {@link Host#queueStep} asked for; it queues the next while there is work. */
    public void step() {
        if (!continuousBatching.admitting()) {
            return;
        }
        decodeStep();
        continuousBatching.afterStep(host.now());
    }

    /**
     * Captions everything waiting or decoding, first and second looks, before this returns: before a
     * barrier, at the end of input, or for a caller that needs the captions now.
     */
    public void flush() {
        if (continuous()) {
            continuousBatching.drain(this::decodeStep);
        } else {
            flushFirstLooks();
            flushSecondLooks();
        }
    }

    /** The shared model it runs. */
    SharedModels.Handle model() {
        return model;
    }

    /** Records waiting for a batch or decoding in the running one, first looks and second. */
    public int buffered() {
        return continuous() ? continuousBatching.held() : staticBatching.size() + secondLooks.size();
    }

    /** Images in the decoding batch now: the batch's size while a forward runs (continuous: between steps too), else 0. */
    public int rowsActive() {
        return rowsActive;
    }

    public CaptionerMetrics metrics() {
        return metrics;
    }

    /** Drops the running batch, if any, and closes the model handle. Records still held get no outcome. */
    @Override
    public void close() {
        if (continuousBatching != null && continuousBatching.running() != null) {
            model.lock().lock();
            try {
                continuousBatching.dropBatch();
            } finally {
                model.lock().unlock();
            }
        }
        model.close();
    }

    private boolean continuous() {
        return batching.mode() == BatchingSettings.Mode.CONTINUOUS;
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

    /**
     * Takes in the records waiting that fit ({@link ContinuousBatching#admit}), then decodes one step
     * and emits the captions of the images that finished. A failing step fails the whole batch: its
     * records are captioned again in static batches, split on failure.
     */
    private void decodeStep() {
        List<ContinuousBatch.Look> joining = new ArrayList<>();
        long start = System.currentTimeMillis();
        List<ContinuousBatch.Finished> finished;
        int images;
        model.lock().lock();
        try {
            continuousBatching.admit(joining, model, this::deadLetter, host.now());
            ContinuousBatch running = continuousBatching.running();
            if (running == null) {
                return;
            }
            images = running.images() + joining.size();
            finished = forwards.step(running, joining);
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
            emit(c);
        }
    }

    /** The default {@link Forwards#step}: joins {@code joining} to {@code batch} and decodes one step. */
    List<ContinuousBatch.Finished> stepBatch(ContinuousBatch batch, List<ContinuousBatch.Look> joining) {
        batch.join(joining, host.now());
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
            long deadline = secondLooks.schedule(host.now());
            if (deadline >= 0) {
                host.setTimer(deadline, () -> onUnsureTimer(deadline));
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
            captions = forwards.caption(batch);
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
        captions.forEach(this::emit);
    }

    private void emit(CaptionRecord c) {
        metrics.caption(c);
        outputs.caption(c);
    }

    private void deadLetter(Pending p, Throwable e) {
        LOG.warn("inference failed for {}: {}", p.image().request.id, e.toString());
        metrics.deadLetter(ErrorCode.INFERENCE_FAILED);
        outputs.deadLetter(DeadLetter.of(p.image().request, ErrorCode.INFERENCE_FAILED, "inference failed: " + e, stage));
    }

    /** The default {@link Forwards#caption}: one batched forward over {@code batch}; throws if the model fails. */
    List<CaptionRecord> captionBatch(List<Pending> batch) {
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
        long startProcessingTime = host.now();
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
}
