package dev.glimpse.job;

import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;

/** The process's resident memory (native memory included), for benchmarks and soaks. */
final class ProcessMemory {
    private ProcessMemory() {}

    /** Resident set size in MB from /proc; on other systems the used heap, which misses native memory. */
    static long rssMb() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmRSS:")) {
                    return Long.parseLong(line.replaceAll("\\D", "")) / 1024;
                }
            }
        } catch (Exception ignored) {
            // not Linux: fall through
        }
        return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed() >> 20;
    }
}
