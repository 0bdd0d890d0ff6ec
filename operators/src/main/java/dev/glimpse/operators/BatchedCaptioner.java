package dev.glimpse.operators;

import dev.glimpse.model.EngineDtype;
import dev.glimpse.model.ViewPlan;
import java.nio.file.Path;
import java.util.List;
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
 * {@link SecondLooks}, the forwards run in {@link CaptionEngine} (which the SQL provider runs too);
 * this class keeps the operator's life: its mailbox, timers, barriers and outputs.
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
    /** {@code engine.dtype}, carried to the TaskManagers with the job; null: each JVM's {@link EngineDtype#configured()}. */
    private final EngineDtype dtype;
    private final BatchingSettings batching;
    private transient CaptionEngine engine;
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

    /** A captioner of the model in {@code modelDir}, its matrices in this JVM's {@link EngineDtype#configured()} type. */
    public BatchedCaptioner(String modelDir, BatchingSettings batching) {
        this(modelDir, null, batching);
    }

    /** A captioner of the model in {@code modelDir}, its matrices in {@code dtype} (null: as above). */
    public BatchedCaptioner(String modelDir, EngineDtype dtype, BatchingSettings batching) {
        this.modelDir = modelDir;
        this.dtype = dtype;
        this.batching = batching;
    }

    @Override
    public void open() throws Exception {
        super.open();
        mailbox = getContainingTask().getMailboxExecutorFactory().createExecutor(getOperatorConfig().getChainIndex());
        // The GPU Flink's external resource framework assigned to this TaskManager, if DJL can use it.
        SharedModels.Handle model = SharedModels.acquire(Path.of(modelDir),
                Devices.pick(getRuntimeContext().getExternalResourceInfos("gpu")), dtype);
        engine = new CaptionEngine(STAGE, batching, model, getRuntimeContext().getMetricGroup(), new CaptionEngine.Host() {
            @Override
            public long now() {
                return getProcessingTimeService().getCurrentProcessingTime();
            }

            @Override
            public void queueStep() {
                if (!stepQueued) {
                    stepQueued = true;
                    mailbox.execute(BatchedCaptioner.this::stepFromMailbox, "BatchedCaptioner decoding step");
                }
            }

            @Override
            public void setTimer(long atMs, Runnable onTimer) {
                getProcessingTimeService().registerTimer(atMs, t -> onTimer.run());
            }
        }, new CaptionEngine.Outputs() {
            @Override
            public void caption(CaptionRecord caption) {
                output.collect(new StreamRecord<>(caption));
            }

            @Override
            public void deadLetter(DeadLetter deadLetter) {
                output.collect(DeadLetters.TAG, new StreamRecord<>(deadLetter));
            }
        }, new CaptionEngine.Forwards() {
            @Override
            public List<CaptionRecord> caption(List<Pending> batch) {
                return BatchedCaptioner.this.caption(batch);
            }

            @Override
            public List<ContinuousBatch.Finished> step(ContinuousBatch batch, List<ContinuousBatch.Look> joining) {
                return BatchedCaptioner.this.step(batch, joining);
            }
        });
    }

    @Override
    public void processElement(StreamRecord<EmbeddedImage> element) throws Exception {
        engine.add(element.getValue());
    }

    /** One step per mail, so that input records and steps take turns on the task's thread. */
    private void stepFromMailbox() {
        stepQueued = false;
        engine.step();
    }

    @Override
    public void prepareSnapshotPreBarrier(long checkpointId) throws Exception {
        super.prepareSnapshotPreBarrier(checkpointId);
        engine.flush();
    }

    @Override
    public void endInput() {
        engine.flush();
    }

    @Override
    public void finish() throws Exception {
        engine.flush();
        super.finish();
    }

    /**
     * Joins {@code joining} to {@code batch} and decodes one step of every image in it; throws if
     * the model fails.
     */
    protected List<ContinuousBatch.Finished> step(ContinuousBatch batch, List<ContinuousBatch.Look> joining) {
        return engine.stepBatch(batch, joining);
    }

    /** One batched forward over {@code batch}; throws if the model fails. */
    protected List<CaptionRecord> caption(List<Pending> batch) {
        return engine.captionBatch(batch);
    }

    /** Records waiting for a batch or decoding in the running one, first looks and second (tests). */
    int buffered() {
        return engine.buffered();
    }

    /** The shared model it captions with, while open. */
    public SharedModels.Handle model() {
        return engine.model();
    }

    /** Images in the decoding batch now: the batch's size while a forward runs (continuous: between steps too), else 0. */
    public int rowsActive() {
        return engine == null ? 0 : engine.rowsActive();
    }

    @Override
    public void notifyCheckpointComplete(long checkpointId) throws Exception {
        super.notifyCheckpointComplete(checkpointId);
        engine.metrics().logCheckpoint(LOG, checkpointId, "captions", true);
    }

    @Override
    public void close() throws Exception {
        if (engine != null) {
            engine.close();
            engine = null;
        }
        super.close();
    }
}
