package dev.glimpse.connectors.reprocess;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * Whether {@code parquet:DIR/} can run here. Parquet brings Hadoop's client (about 50 MB), which
 * Glimpse keeps off its default class path: the check names what is missing and where to get it,
 * before a job starts rather than as a {@code NoClassDefFoundError} in a TaskManager. No Parquet or
 * Hadoop class is touched here.
 */
public final class ParquetSupport {
    /** A class of each jar that writing Parquet needs, and the jar. */
    static final Map<String, String> PROBES = new LinkedHashMap<>();

    static {
        PROBES.put("org.apache.flink.formats.parquet.ParquetWriterFactory", "org.apache.flink:flink-parquet:2.2.0");
        PROBES.put("org.apache.parquet.hadoop.ParquetWriter", "org.apache.parquet:parquet-hadoop (with flink-parquet)");
        PROBES.put("org.apache.hadoop.conf.Configuration", "org.apache.hadoop:hadoop-client-api:3.4.1");
        PROBES.put("org.apache.hadoop.shaded.com.ctc.wstx.stax.WstxInputFactory", "org.apache.hadoop:hadoop-client-runtime:3.4.1");
    }

    private ParquetSupport() {}

    /** Throws with what to add when the Parquet jars are not on this class path. */
    public static void require() {
        missing(ParquetSupport.class.getClassLoader()).ifPresent(m -> {
            throw new IllegalArgumentException(m);
        });
    }

    /** What {@code loader} lacks for Parquet, as a message for the user; empty when it has it all. */
    static Optional<String> missing(ClassLoader loader) {
        StringBuilder absent = new StringBuilder();
        PROBES.forEach((probe, jar) -> {
            try {
                Class.forName(probe, false, loader);
            } catch (ClassNotFoundException | LinkageError e) {
                absent.append(absent.isEmpty() ? "" : ", ").append(jar);
            }
        });
        if (absent.isEmpty()) {
            return Optional.empty();
        }
        return Optional.of("parquet:DIR/ (reprocess --to, gallery --from) needs Flink's Parquet format and Hadoop's client, which Glimpse keeps "
                + "off its default class path (about 50 MB). Missing: " + absent + ". Locally, run once "
                + "`mvn -B -q -Pparquet -DskipTests package`: it copies them into job/target/parquet-lib/, which "
                + "bin/glimpse adds to the class path when it exists. On a cluster, put those jars in Flink's lib/.");
    }
}
