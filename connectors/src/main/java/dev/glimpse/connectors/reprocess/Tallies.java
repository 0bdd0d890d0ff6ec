package dev.glimpse.connectors.reprocess;

import java.util.Map;
import java.util.OptionalLong;
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
    /** Per run and tally, {@link System#nanoTime()} when any of its instances first counted anything. */
    private static final Map<String, Long> FIRST_COUNTED = new ConcurrentHashMap<>();
    /** Per run and tally instance, how often it was started again (a failover of the job). */
    private static final Map<String, Map<String, Integer>> RESTARTS = new ConcurrentHashMap<>();

    private Tallies() {}

    static Map<String, AtomicLong> slot(String runId, String tally, int subtask, Map<String, Long> restored) {
        Map<String, AtomicLong> counts = new ConcurrentHashMap<>();
        restored.forEach((k, v) -> counts.put(k, new AtomicLong(v)));
        if (RUNS.computeIfAbsent(runId, r -> new ConcurrentHashMap<>()).put(tally + "#" + subtask, counts) != null) {
            RESTARTS.computeIfAbsent(runId, r -> new ConcurrentHashMap<>()).merge(tally + "#" + subtask, 1, Integer::sum);
        }
        return counts;
    }

    /** How many times the run's job failed over: the most any tally instance was started again. */
    public static int restarts(String runId) {
        return RESTARTS.getOrDefault(runId, Map.of()).values().stream().mapToInt(Integer::intValue).max().orElse(0);
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

    public static void counted(String runId, String tally) {
        FIRST_COUNTED.putIfAbsent(runId + "#" + tally, System.nanoTime());
    }

    /**
     * When {@code tally} first counted anything in this run, as {@link System#nanoTime()}: exact even
     * when a short run's outcomes all came and the job ended between two looks at {@link #read}.
     */
    public static OptionalLong firstCounted(String runId, String tally) {
        Long t = FIRST_COUNTED.get(runId + "#" + tally);
        return t == null ? OptionalLong.empty() : OptionalLong.of(t);
    }

    public static void forget(String runId) {
        RUNS.remove(runId);
        RESTARTS.remove(runId);
        FIRST_COUNTED.keySet().removeIf(k -> k.startsWith(runId + "#"));
    }
}
