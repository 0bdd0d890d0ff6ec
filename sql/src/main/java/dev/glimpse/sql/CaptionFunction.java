package dev.glimpse.sql;

import dev.glimpse.job.Engines;
import dev.glimpse.operators.CaptionEngine;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import org.apache.flink.table.data.RowData;
import org.apache.flink.table.functions.FunctionContext;
import org.apache.flink.table.functions.PredictFunction;

/**
 * {@code ML_PREDICT(..., MAP['async', 'false'])}: each row captioned alone, on the task's thread, by
 * the engine the asynchronous function runs (its batch flushed at once, so no timer or step waits).
 */
public final class CaptionFunction extends PredictFunction {
    private final CaptionModelSpec spec;
    private transient RowCaptioner captioner;
    private transient List<RowData> out;

    CaptionFunction(CaptionModelSpec spec) {
        this.spec = spec;
    }

    @Override
    public void open(FunctionContext context) {
        Engines.configureThreads(spec.engineThreads());
        out = new ArrayList<>(1);
        captioner = new RowCaptioner(spec, context, new CaptionEngine.Host() {
            @Override
            public long now() {
                return System.currentTimeMillis();
            }

            @Override
            public void queueStep() {
                // predict flushes the engine before it returns: nothing waits for a step.
            }

            @Override
            public void setTimer(long atMs, Runnable onTimer) {
                // Likewise for a batch's delay.
            }
        }, (id, row) -> out.add(row));
    }

    @Override
    public Collection<RowData> predict(RowData input) {
        RowCaptioner.Prepared p = captioner.prepare(input);
        if (p.failed() != null) {
            return List.of(p.failed());
        }
        out.clear();
        captioner.engine().add(p.image());
        captioner.engine().flush();
        return List.copyOf(out);
    }

    @Override
    public void close() throws Exception {
        if (captioner != null) {
            captioner.close();
            captioner = null;
        }
    }
}
