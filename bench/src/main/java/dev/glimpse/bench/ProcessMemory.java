package dev.glimpse.bench;

import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;

/** The process's resident memory (native memory included), for benchmarks and soaks. */
final class ProcessMemory {
    private ProcessMemory() {}

    /** Resident set size in MB from /proc; on other systems the used heap, which misses native memory. */
    static long rssMb() {
        return status("VmRSS:");
    }

    /** The largest resident set size since the start or the last {@link #resetPeak} (Linux: VmHWM). */
    static long peakRssMb() {
        return status("VmHWM:");
    }

    /**
     * Starts a new peak from a collected heap: a full collection first, so that the heap the JVM
     * gives back (G1 shrinks its committed heap after one) is not counted, and one row's peak does not
     * carry the garbage of the set-up (random weights) or of the row before.
     */
    static void resetPeakAfterGc() {
        System.gc();
        resetPeak();
    }

    /** Starts a new peak: Linux resets VmHWM to the current RSS when 5 is written to clear_refs. */
    static void resetPeak() {
        try {
            Files.writeString(Path.of("/proc/self/clear_refs"), "5");
        } catch (Exception ignored) {
            // not Linux, or not allowed: the peak then spans the whole process
        }
    }

    private static long status(String key) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith(key)) {
                    return Long.parseLong(line.replaceAll("\\D", "")) / 1024;
                }
            }
        } catch (Exception ignored) {
            // not Linux: fall through
        }
        return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed() >> 20;
    }
}
