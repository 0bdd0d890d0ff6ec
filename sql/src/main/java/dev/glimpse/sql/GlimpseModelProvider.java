package dev.glimpse.sql;

import org.apache.flink.table.functions.AsyncPredictFunction;
import org.apache.flink.table.functions.PredictFunction;
import org.apache.flink.table.ml.AsyncPredictRuntimeProvider;
import org.apache.flink.table.ml.PredictRuntimeProvider;

/**
 * The runtime of a Glimpse model: by default the asynchronous function, which gathers rows into
 * batches ({@code ML_PREDICT(..., MAP['async', 'false'])} picks the synchronous one, one row at a
 * time).
 */
final class GlimpseModelProvider implements AsyncPredictRuntimeProvider, PredictRuntimeProvider {
    private final CaptionModelSpec spec;

    GlimpseModelProvider(CaptionModelSpec spec) {
        this.spec = spec;
    }

    @Override
    public AsyncPredictFunction createAsyncPredictFunction(Context context) {
        return new AsyncCaptionFunction(spec);
    }

    @Override
    public PredictFunction createPredictFunction(Context context) {
        return new CaptionFunction(spec);
    }

    @Override
    public GlimpseModelProvider copy() {
        return new GlimpseModelProvider(spec);
    }
}
