package dev.glimpse.connectors.reprocess;

import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.flink.api.common.functions.RichFlatMapFunction;
import org.apache.flink.api.common.state.ListState;
import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.java.tuple.Tuple2;
import org.apache.flink.runtime.state.FunctionInitializationContext;
import org.apache.flink.runtime.state.FunctionSnapshotContext;
import org.apache.flink.streaming.api.checkpoint.CheckpointedFunction;

/**
 * Counts the records passing through by key, in operator state, so the counts a run reports agree
 * with what its checkpoints committed even after a failover; published through {@link Tallies}.
 */
abstract class Tally<IN, OUT> extends RichFlatMapFunction<IN, OUT> implements CheckpointedFunction {
    private final String runId;
    private final String name;
    private transient ListState<Tuple2<String, Long>> state;
    private transient Map<String, Long> restored;
    private transient Map<String, AtomicLong> counts;
    private transient boolean counted;

    Tally(String runId, String name) {
        this.runId = runId;
        this.name = name;
    }

    protected final void count(String key) {
        counts.computeIfAbsent(key, k -> new AtomicLong()).incrementAndGet();
        if (!counted) {
            counted = true;
            Tallies.counted(runId, name);
        }
    }

    @Override
    public void initializeState(FunctionInitializationContext context) throws Exception {
        state = context.getOperatorStateStore().getListState(
                new ListStateDescriptor<>(name + "-counts", Types.TUPLE(Types.STRING, Types.LONG)));
        restored = new HashMap<>();
        for (Tuple2<String, Long> t : state.get()) {
            restored.merge(t.f0, t.f1, Long::sum);
        }
    }

    @Override
    public void open(org.apache.flink.api.common.functions.OpenContext openContext) throws Exception {
        counts = Tallies.slot(runId, name, getRuntimeContext().getTaskInfo().getIndexOfThisSubtask(), restored);
    }

    @Override
    public void snapshotState(FunctionSnapshotContext context) throws Exception {
        state.clear();
        for (Map.Entry<String, AtomicLong> e : counts.entrySet()) {
            state.add(Tuple2.of(e.getKey(), e.getValue().get()));
        }
    }
}
