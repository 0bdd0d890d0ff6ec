package dev.glimpse.job.reprocess;

import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The counts of a local run's tallies, readable by the command that started the job in the same
 * JVM (progress, summary). Each parallel instance of a tally owns one slot; a restarted instance
 * replaces its slot with the counts restored from the checkpoint, so the sums stay exact across a
 * failover.
 */
public final class Tallies {
    private static final Map<String, Map<String, Map<String, AtomicLong>>> RUNS = new ConcurrentHashMap<>();

    private Tallies() {}

    static Map<String, AtomicLong> slot(String runId, String tally, int subtask, Map<String, Long> restored) {
        Map<String, AtomicLong> counts = new ConcurrentHashMap<>();
        restored.forEach((k, v) -> counts.put(k, new AtomicLong(v)));
        RUNS.computeIfAbsent(runId, r -> new ConcurrentHashMap<>()).put(tally + "#" + subtask, counts);
        return counts;
    }

    /** The counts of {@code tally} summed over its instances, by key. */
    public static Map<String, Long> read(String runId, String tally) {
        Map<String, Long> sum = new TreeMap<>();
        RUNS.getOrDefault(runId, Map.of()).forEach((slot, counts) -> {
            if (slot.startsWith(tally + "#")) {
                counts.forEach((k, v) -> sum.merge(k, v.get(), Long::sum));
            }
        });
        return sum;
    }

    public static void forget(String runId) {
        RUNS.remove(runId);
    }
}
