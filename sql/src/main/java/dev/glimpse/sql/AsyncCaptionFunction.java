package dev.glimpse.sql;

import dev.glimpse.job.Engines;
import dev.glimpse.operators.EmbeddedImage;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.Gauge;
import org.apache.flink.table.data.RowData;
import org.apache.flink.table.functions.AsyncPredictFunction;
import org.apache.flink.table.functions.FunctionContext;

/**
 * The default runtime of a Glimpse model in {@code ML_PREDICT}: Flink's planner calls a model once per
 * row, so the rows are batched here. The task's thread decodes and embeds each row as it comes (the
 * DataStream job's CPU stages) and queues it; a thread of the function's own gathers up to {@code
 * max-batch-size} images, or what came within {@code max-batch-delay} of the first, runs them as one
 * batched forward and completes each row's future. Rows in flight are bounded by ML_PREDICT's {@code
 * max-concurrent-operations} (default 10): set it to at least {@code max-batch-size}, or batches never
 * fill. Flink's async operator keeps the rows whose future has not completed in its checkpoints, and
 * asks again for them after a restore.
 */
public final class AsyncCaptionFunction extends AsyncPredictFunction {
    private final CaptionModelSpec spec;
    private transient RowCaptioner captioner;
    private transient LinkedBlockingQueue<Pending> queue;
    private transient Thread batcher;
    private transient volatile boolean running;
    private transient Counter batches;
    private transient Counter rows;
    private transient AtomicInteger largestBatch;

    /** A row waiting for its batch. */
    private record Pending(EmbeddedImage image, CompletableFuture<Collection<RowData>> result) {}

    AsyncCaptionFunction(CaptionModelSpec spec) {
        this.spec = spec;
    }

    @Override
    public void open(FunctionContext context) {
        Engines.configureThreads(spec.engineThreads());
        captioner = new RowCaptioner(spec, context.getExternalResourceInfos("gpu"));
        batches = context.getMetricGroup().counter("captionBatches");
        rows = context.getMetricGroup().counter("captionedRows");
        largestBatch = new AtomicInteger();
        context.getMetricGroup().gauge("largestBatch", (Gauge<Integer>) largestBatch::get);
        queue = new LinkedBlockingQueue<>();
        running = true;
        batcher = new Thread(this::batchLoop, "glimpse-sql-batcher-" + context.getTaskInfo().getIndexOfThisSubtask());
        batcher.setDaemon(true);
        batcher.start();
    }

    @Override
    public CompletableFuture<Collection<RowData>> asyncPredict(RowData input) {
        CompletableFuture<Collection<RowData>> result = new CompletableFuture<>();
        RowCaptioner.Prepared p = captioner.prepare(input);
        if (p.failed() != null) {
            result.complete(List.of(p.failed()));
        } else {
            queue.add(new Pending(p.image(), result));
        }
        return result;
    }

    private void batchLoop() {
        int maxBatch = spec.settings().batching().maxBatchSize();
        Duration maxDelay = spec.settings().batching().maxBatchDelay();
        List<Pending> batch = new ArrayList<>(maxBatch);
        while (running) {
            try {
                Pending first = queue.poll(100, TimeUnit.MILLISECONDS);
                if (first == null) {
                    continue;
                }
                batch.add(first);
                long deadline = System.nanoTime() + maxDelay.toNanos();
                while (batch.size() < maxBatch) {
                    // What waits already joins at once; then whatever comes before the deadline.
                    Pending next = queue.poll(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
                    if (next == null) {
                        break;
                    }
                    batch.add(next);
                }
                List<RowData> out = captioner.caption(batch.stream().map(Pending::image).toList());
                batches.inc();
                rows.inc(batch.size());
                largestBatch.accumulateAndGet(batch.size(), Math::max);
                for (int i = 0; i < batch.size(); i++) {
                    batch.get(i).result().complete(List.of(out.get(i)));
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            } catch (RuntimeException | Error e) {
                batch.forEach(p -> p.result().completeExceptionally(e));
            } finally {
                batch.clear();
            }
        }
    }

    @Override
    public void close() throws Exception {
        running = false;
        if (batcher != null) {
            batcher.interrupt();
            batcher.join(Duration.ofMinutes(1).toMillis());
        }
        Pending left;
        while (queue != null && (left = queue.poll()) != null) {
            left.result().completeExceptionally(new IllegalStateException("the Glimpse model closed"));
        }
        if (captioner != null) {
            captioner.close();
            captioner = null;
        }
    }
}
