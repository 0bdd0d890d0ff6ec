package dev.glimpse.sql;

import dev.glimpse.job.Engines;
import java.util.Collection;
import java.util.List;
import org.apache.flink.table.data.RowData;
import org.apache.flink.table.functions.FunctionContext;
import org.apache.flink.table.functions.PredictFunction;

/** {@code ML_PREDICT(..., MAP['async', 'false'])}: each row captioned alone, on the task's thread. */
public final class CaptionFunction extends PredictFunction {
    private final CaptionModelSpec spec;
    private transient RowCaptioner captioner;

    CaptionFunction(CaptionModelSpec spec) {
        this.spec = spec;
    }

    @Override
    public void open(FunctionContext context) {
        Engines.configureThreads(spec.engineThreads());
        captioner = new RowCaptioner(spec, context.getExternalResourceInfos("gpu"));
    }

    @Override
    public Collection<RowData> predict(RowData input) {
        RowCaptioner.Prepared p = captioner.prepare(input);
        return p.failed() != null ? List.of(p.failed()) : captioner.caption(List.of(p.image()));
    }

    @Override
    public void close() throws Exception {
        if (captioner != null) {
            captioner.close();
            captioner = null;
        }
    }
}
