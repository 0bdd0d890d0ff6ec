package dev.glimpse.sql;

import dev.glimpse.job.Engines;
import dev.glimpse.operators.CaptionEngine;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.apache.flink.table.data.RowData;
import org.apache.flink.table.functions.AsyncPredictFunction;
import org.apache.flink.table.functions.FunctionContext;

/**
 * The default runtime of a Glimpse model in {@code ML_PREDICT}: Flink's planner calls a model once per
 * row, so the rows are batched here, by the DataStream job's own {@link CaptionEngine}. The task's
 * thread decodes and embeds each row as it comes (the job's CPU stages) and hands it to a thread of
 * the function's own, which runs the engine as the job's task mailbox does: records, decoding steps
 * and batch timers take turns on it. Under continuous batching (the default) a row joins the running
 * batch at its next step and its future completes the step its caption ends; under static batching
 * rows gather up to {@code max-batch-size}, or for {@code max-batch-delay}, and decode together. Rows
 * in flight are bounded by ML_PREDICT's {@code max-concurrent-operations} (default 10): set it to at
 * least {@code max-batch-size}, or batches never fill. Flink's async operator keeps the rows whose
 * future has not completed in its checkpoints, and asks again for them after a restore.
 */
public final class AsyncCaptionFunction extends AsyncPredictFunction {
    private final CaptionModelSpec spec;
    private transient RowCaptioner captioner;
    /** The engine's one thread: every call into the engine and every callback of its host run on it. */
    private transient ScheduledExecutorService engineThread;
    /** The rows handed to the engine, by id, until their output row comes. */
    private transient Map<String, CompletableFuture<Collection<RowData>>> inFlight;
    /** Whether a decoding step is queued on the engine's thread; that thread only. */
    private transient boolean stepQueued;

    AsyncCaptionFunction(CaptionModelSpec spec) {
        this.spec = spec;
    }

    @Override
    public void open(FunctionContext context) {
        Engines.configureThreads(spec.engineThreads());
        inFlight = new ConcurrentHashMap<>();
        int subtask = context.getTaskInfo().getIndexOfThisSubtask();
        engineThread = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "glimpse-sql-captioner-" + subtask);
            t.setDaemon(true);
            return t;
        });
        captioner = new RowCaptioner(spec, context, new CaptionEngine.Host() {
            @Override
            public long now() {
                return System.currentTimeMillis();
            }

            @Override
            public void queueStep() {
                if (!stepQueued) {
                    stepQueued = true;
                    onEngineThread(() -> {
                        stepQueued = false;
                        captioner.engine().step();
                    });
                }
            }

            @Override
            public void setTimer(long atMs, Runnable onTimer) {
                engineThread.schedule(() -> guarded(onTimer), Math.max(0, atMs - now()), TimeUnit.MILLISECONDS);
            }
        }, (id, row) -> {
            CompletableFuture<Collection<RowData>> result = inFlight.remove(id);
            if (result != null) {
                result.complete(List.of(row));
            }
        });
    }

    @Override
    public CompletableFuture<Collection<RowData>> asyncPredict(RowData input) {
        CompletableFuture<Collection<RowData>> result = new CompletableFuture<>();
        RowCaptioner.Prepared p = captioner.prepare(input);
        if (p.failed() != null) {
            result.complete(List.of(p.failed()));
            return result;
        }
        inFlight.put(p.image().request.id, result);
        onEngineThread(() -> captioner.engine().add(p.image()));
        return result;
    }

    private void onEngineThread(Runnable work) {
        try {
            engineThread.execute(() -> guarded(work));
        } catch (RejectedExecutionException e) {
            failInFlight(new IllegalStateException("the Glimpse model closed", e));
        }
    }

    /**
     * Runs {@code work} of the engine. The engine turns a failing model into error rows itself; what
     * escapes it is a fault of the engine's own, which fails the rows in flight (and so the job,
     * which restarts them from its checkpoint) rather than leaving them to their timeout.
     */
    private void guarded(Runnable work) {
        try {
            work.run();
        } catch (RuntimeException | Error e) {
            failInFlight(e);
        }
    }

    private void failInFlight(Throwable e) {
        for (String id : List.copyOf(inFlight.keySet())) {
            CompletableFuture<Collection<RowData>> result = inFlight.remove(id);
            if (result != null) {
                result.completeExceptionally(e);
            }
        }
    }

    @Override
    public void close() throws Exception {
        if (engineThread != null) {
            engineThread.shutdownNow();
            engineThread.awaitTermination(1, TimeUnit.MINUTES);
        }
        if (inFlight != null) {
            failInFlight(new IllegalStateException("the Glimpse model closed"));
        }
        if (captioner != null) {
            captioner.close();
            captioner = null;
        }
    }
}
