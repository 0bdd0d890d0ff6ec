package dev.glimpse.operators;

import java.util.EnumMap;
import java.util.Map;
import java.util.stream.Collectors;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.Histogram;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.runtime.metrics.DescriptiveStatisticsHistogram;
import org.apache.flink.runtime.metrics.scope.ScopeFormat;
import org.slf4j.Logger;

/**
 * What every stage reports under its operator's {@value #GROUP} metric group: records in and out,
 * dead letters with a counter per {@link ErrorCode} (a {@code code} label in Prometheus), and the
 * time each record took. It also keeps the counts since the last completed checkpoint for the
 * stage's one log line per checkpoint.
 */
public class StageMetrics {
    public static final String GROUP = "glimpse";
    /** Histograms keep the statistics of this many recent values (their count is of all values). */
    static final int HISTOGRAM_WINDOW = 1000;

    private final MetricGroup group;
    /** "subtask i" (from 0) for the log lines, from the group's scope variables. */
    private final String subtask;
    private final Counter recordsIn;
    private final Counter recordsOut;
    private final Map<ErrorCode, Counter> deadLetters = new EnumMap<>(ErrorCode.class);
    private final Histogram recordMs;
    private long outAtLastCheckpoint;
    private final Map<ErrorCode, Long> deadAtLastCheckpoint = new EnumMap<>(ErrorCode.class);

    /** Registers the metrics in {@code operatorGroup}'s {@value #GROUP} group; {@code recordTime} names the time histogram. */
    public StageMetrics(MetricGroup operatorGroup, String recordTime) {
        group = operatorGroup.addGroup(GROUP);
        Map<String, String> scope = operatorGroup.getAllVariables();
        subtask = "subtask " + scope.getOrDefault(ScopeFormat.SCOPE_TASK_SUBTASK_INDEX, "?");
        recordsIn = group.counter("numRecordsIn");
        recordsOut = group.counter("numRecordsOut");
        for (ErrorCode code : ErrorCode.values()) {
            deadLetters.put(code, group.addGroup("code", code.name()).counter("numDeadLetters"));
            deadAtLastCheckpoint.put(code, 0L);
        }
        recordMs = group.histogram(recordTime, new DescriptiveStatisticsHistogram(HISTOGRAM_WINDOW));
    }

    /** The {@value #GROUP} group, for a stage's own metrics. */
    public MetricGroup group() {
        return group;
    }

    public void recordIn() {
        recordsIn.inc();
    }

    /** A record passed on to the next stage after {@code millis} of this stage's work. */
    public void recordOut(long millis) {
        recordsOut.inc();
        recordMs.update(millis);
    }

    public void deadLetter(ErrorCode code) {
        deadLetters.get(code).inc();
    }

    protected Counter recordsOutCounter() {
        return recordsOut;
    }

    /**
     * Logs what this subtask produced since its previous completed checkpoint: {@code outName}
     * records and dead letters by code. With {@code always} false it logs at INFO only when there
     * were dead letters (a CPU stage's records are counted again by the captioner), else at DEBUG.
     */
    public void logCheckpoint(Logger log, long checkpointId, String outName, boolean always) {
        long out = recordsOut.getCount() - outAtLastCheckpoint;
        outAtLastCheckpoint = recordsOut.getCount();
        Map<ErrorCode, Long> dead = new EnumMap<>(ErrorCode.class);
        deadLetters.forEach((code, counter) -> {
            long since = counter.getCount() - deadAtLastCheckpoint.put(code, counter.getCount());
            if (since > 0) {
                dead.put(code, since);
            }
        });
        long deadTotal = dead.values().stream().mapToLong(Long::longValue).sum();
        String line = "checkpoint {} complete: {} {}, {} dead letters{} since the last ({})";
        String byCode = dead.isEmpty() ? "" : " " + dead.entrySet().stream()
                .map(e -> e.getKey() + "=" + e.getValue()).collect(Collectors.joining(", ", "[", "]"));
        if (always || deadTotal > 0) {
            log.info(line, checkpointId, out, outName, deadTotal, byCode, subtask);
        } else if (log.isDebugEnabled()) {
            log.debug(line, checkpointId, out, outName, deadTotal, byCode, subtask);
        }
    }
}
