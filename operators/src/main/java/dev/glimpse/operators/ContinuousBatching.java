package dev.glimpse.operators;

import dev.glimpse.operators.BatchedCaptioner.Pending;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BiConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Continuous batching ({@link BatchingSettings.Mode#CONTINUOUS}): when the records waiting, first
 * looks and the unsure images of {@link SecondLooks}, join the running {@link ContinuousBatch}. While
 * nothing decodes, the first records wait for {@code max-batch-size} of them or {@code max-batch-delay},
 * as a static batch does, so a burst shares one prefill; while the batch decodes, they join it
 * together in the rows that finished images freed ({@link #enoughToShareAPrefill}). Its host runs
 * the decoding steps this asks for ({@link CaptionEngine.Host#queueStep}: the operator's task mailbox,
 * the SQL function's own thread), so that records arriving between two steps are taken in. Not
 * thread-safe.
 */
final class ContinuousBatching {
    private static final Logger LOG = LoggerFactory.getLogger(ContinuousBatching.class);

    /**
     * The share of the batch's rows that must be free before waiting records refill them at once
     * (else they join when the oldest has waited {@code max-batch-delay}). Measured with
     * {@code bench --pipeline --images 1500} (scenes' captions of similar lengths, batch 16): 0.5 and
     * 0.25 ran 0.89 of the model alone, one row at a time 0.83; {@code bench-batching} (caps 4 and 24)
     * was unchanged within its noise.
     */
    static final double MIN_REFILL_SHARE = 0.5;

    private final int maxBatchSize;
    private final long maxBatchDelayMs;
    private final SecondLooks secondLooks;
    private final CaptionEngine.Host host;
    /** Records waiting for their first look, oldest first. */
    private final List<Pending> firstLooks = new ArrayList<>();
    /** The deadline of the timer set for the first looks waiting; -1 when none is. */
    private long firstLooksDeadline = -1;
    /** The running batch; null before the first and after a failed one. */
    private ContinuousBatch running;
    /** Whether the waiting records join the batch at the next step. */
    private boolean admitting;
    /** Decoding everything held, before a barrier or at the end of input. */
    private boolean draining;
    /** Since when records wait beside a batch with free rows that they do not fill; -1 when none. */
    private long refillFromMs = -1;

    ContinuousBatching(BatchingSettings batching, SecondLooks secondLooks, CaptionEngine.Host host) {
        this.maxBatchSize = batching.maxBatchSize();
        this.maxBatchDelayMs = batching.maxBatchDelay().toMillis();
        this.secondLooks = secondLooks;
        this.host = host;
    }

    /** Takes in a record that arrived at {@code nowMs}. */
    void add(Pending p, long nowMs) {
        firstLooks.add(p);
        offer(nowMs);
    }

    /** A record or an unsure image now waits. */
    private void offer(long nowMs) {
        if (admitting) {
            host.queueStep();
        } else if (waiting() >= maxBatchSize) {
            startAdmitting();
        } else {
            armTimers(nowMs);
        }
    }

    /**
     * The backpressure: beside the running batch fewer than {@code max-batch-size} records wait (at
     * most one batch's refill). Beyond that the record just taken in runs {@code decodeStep} here
     * until some join, so the task takes no more input than it decodes: under a sustained stream
     * whose images need more steps than the task has records between two steps, the queue would
     * otherwise grow without bound (a split SmolVLM record holds 41 MB of patch embeddings).
     */
    void holdBackInput(Runnable decodeStep) {
        while (waiting() >= maxBatchSize) {
            int before = waiting();
            boolean decoding = decoding();
            decodeStep.run();
            if (!decoding && waiting() >= before) {
                return; // nothing could join (a failed batch went to static ones): the mailbox's step goes on
            }
        }
    }

    private void startAdmitting() {
        admitting = true;
        firstLooksDeadline = -1;
        secondLooks.disarm();
        host.queueStep();
    }

    /** While nothing decodes: start when the oldest record's delay (or oldest unsure image's) runs out. */
    private void armTimers(long nowMs) {
        long first = firstLooks.isEmpty() ? Long.MAX_VALUE : firstLooks.get(0).arrivedAtMs() + maxBatchDelayMs;
        if (Math.min(first, secondLooks.dueAtMs()) <= nowMs) {
            startAdmitting();
            return;
        }
        // A timer of records that already started a batch (by size or a barrier) must not start the next one.
        if (first != Long.MAX_VALUE && firstLooksDeadline < 0) {
            firstLooksDeadline = first;
            host.setTimer(first, () -> {
                if (first == firstLooksDeadline) {
                    startAdmitting();
                }
            });
        }
        long second = secondLooks.schedule(nowMs);
        if (second >= 0) {
            host.setTimer(second, () -> {
                if (secondLooks.isCurrent(second)) {
                    startAdmitting();
                }
            });
        }
    }

    /** Whether the waiting records join the batch at the next step. */
    boolean admitting() {
        return admitting;
    }

    /** After a step from the mailbox, at {@code nowMs}: queues the next one while there is work for it. */
    void afterStep(long nowMs) {
        // Records that waited behind a full batch go on joining; unsure images alone wait as in an idle batch.
        if (decoding() || !firstLooks.isEmpty()) {
            host.queueStep();
        } else {
            admitting = false;
            if (!secondLooks.isEmpty()) {
                offer(nowMs);
            }
        }
    }

    /**
     * Runs {@code decodeStep} until nothing waits and nothing decodes, every record joining as soon
     * as it fits: before a barrier and at the end of input.
     */
    void drain(Runnable decodeStep) {
        admitting = true;
        draining = true;
        while (waiting() > 0 || decoding()) {
            decodeStep.run();
        }
        draining = false;
        admitting = false;
        firstLooksDeadline = -1;
        secondLooks.disarm();
    }

    /**
     * Moves into {@code joining} the waiting records that fit the running batch (unsure images
     * first, each queue in order; a record that does not fit holds back those behind it, so that
     * smaller ones cannot keep it out), building a new batch when there is none or when the next
     * record does not fit the empty one. A record whose look cannot be made goes to
     * {@code deadLetter}. The caller holds the model's lock; throws if a new batch cannot be built.
     */
    void admit(List<ContinuousBatch.Look> joining, SharedModels.Handle model,
               BiConsumer<Pending, RuntimeException> deadLetter, long nowMs) {
        if (!admitting) {
            return;
        }
        if (decoding() && !draining && !enoughToShareAPrefill(running.images(), nowMs)) {
            return;
        }
        refillFromMs = -1;
        while (waiting() > 0) {
            Pending next = nextWaiting();
            ContinuousBatch.Look look;
            try {
                look = ContinuousBatch.look(model, next);
            } catch (RuntimeException e) {
                removeNextWaiting();
                deadLetter.accept(next, e);
                continue;
            }
            if (running != null && !running.fits(joining, look)) {
                if (!joining.isEmpty() || !running.isEmpty() || running.couldHold(look)) {
                    return;
                }
                running.close();
                running = null;
            }
            // Taken out of the queue first: if the new batch cannot be built, the record is retried in a static one.
            removeNextWaiting();
            joining.add(look);
            if (running == null) {
                int slots = ContinuousBatch.slotsPerImage(look);
                LOG.debug("new decoding batch: {} images of {} row(s), {} columns", maxBatchSize, slots,
                        look.columns());
                running = new ContinuousBatch(model, maxBatchSize, slots, look.columns());
            }
        }
    }

    /**
     * While {@code imagesDecoding} images decode, records join them together, in one prefill: once
     * they would fill the free rows and those are at least {@link #MIN_REFILL_SHARE} of the batch,
     * or once the oldest of them has waited {@code max-batch-delay} since it could have joined (its
     * arrival, or the step that first left a row free, whichever came later). Taken in one by one,
     * each would run the vision tower and prefill alone: under a sustained stream records always
     * wait beside a full batch, so each row that finished would be refilled by a prefill of one.
     */
    boolean enoughToShareAPrefill(int imagesDecoding, long nowMs) {
        int free = maxBatchSize - imagesDecoding;
        if (free <= 0 || waiting() == 0) {
            refillFromMs = -1;
            return false;
        }
        if (waiting() >= free && free >= Math.max(1, (int) Math.ceil(maxBatchSize * MIN_REFILL_SHARE))) {
            return true;
        }
        if (refillFromMs < 0) {
            refillFromMs = nowMs;
        }
        long oldest = Math.min(firstLooks.isEmpty() ? Long.MAX_VALUE : firstLooks.get(0).arrivedAtMs(),
                secondLooks.oldestArrivalMs());
        return Math.max(oldest, refillFromMs) + maxBatchDelayMs <= nowMs;
    }

    /** The running batch; null before the first and after a failed one. */
    ContinuousBatch running() {
        return running;
    }

    /** Closes the running batch, if any (after a failed step, or the operator's close), and returns the records it held. */
    List<Pending> dropBatch() {
        if (running == null) {
            return List.of();
        }
        List<Pending> records = running.inFlight();
        running.close();
        running = null;
        return records;
    }

    /** Records waiting to join, first looks and second. */
    int waiting() {
        return firstLooks.size() + secondLooks.size();
    }

    /** Records waiting to join or decoding in the running batch, first looks and second. */
    int held() {
        return waiting() + (running == null ? 0 : running.inFlight().size());
    }

    private boolean decoding() {
        return running != null && !running.isEmpty();
    }

    /** Unsure images first, each queue in order. */
    private Pending nextWaiting() {
        return secondLooks.isEmpty() ? firstLooks.get(0) : secondLooks.peek();
    }

    private void removeNextWaiting() {
        if (secondLooks.isEmpty()) {
            firstLooks.remove(0);
        } else {
            secondLooks.poll();
        }
    }
}
