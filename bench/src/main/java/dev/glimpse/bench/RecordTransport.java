package dev.glimpse.bench;

import dev.glimpse.operators.EmbeddedImage;
import dev.glimpse.operators.EmbeddedImageSerializer;
import dev.glimpse.operators.EmbeddedImageTypeInfo;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;
import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.core.memory.DataOutputSerializer;

/**
 * The records between the CPU stages and the captioner on the wire: bytes per record and the time
 * to serialise and deserialise one, in each patch encoding, over the same records. On a cluster
 * those bytes cross the network at the rebalance; in one JVM they are still written and read.
 */
final class RecordTransport {
    private RecordTransport() {}

    /** A table: one row per encoding, F32 (as before F16 transport) first. */
    static BenchReport measure(String what, List<EmbeddedImage> records, int repeats) {
        BenchReport report = new BenchReport("records between the CPU stages and the captioner: " + what + ", "
                + records.size() + " record(s), best of " + repeats + " passes",
                "patches", "bytes/record", "x float32", "serialise ms", "deserialise ms", "MB/s written");
        report.format("bytes/record", "%.0f").format("x float32", "%.4f").format("serialise ms", "%.3f")
                .format("deserialise ms", "%.3f").format("MB/s written", "%.0f");
        double f32Bytes = 0;
        for (EmbeddedImageSerializer.Encoding encoding : EmbeddedImageSerializer.Encoding.values()) {
            EmbeddedImageSerializer s = new EmbeddedImageSerializer(encoding);
            long bytes = 0;
            long bestWrite = Long.MAX_VALUE;
            long bestRead = Long.MAX_VALUE;
            DataOutputSerializer out = new DataOutputSerializer(1 << 20);
            try {
                for (int pass = 0; pass <= repeats; pass++) { // the first warms up
                    long write = 0;
                    long read = 0;
                    bytes = 0;
                    for (EmbeddedImage e : records) {
                        out.clear();
                        long t0 = System.nanoTime();
                        s.serialize(e, out);
                        long t1 = System.nanoTime();
                        s.deserialize(new DataInputDeserializer(out.getSharedBuffer(), 0, out.length()));
                        long t2 = System.nanoTime();
                        write += t1 - t0;
                        read += t2 - t1;
                        bytes += out.length();
                    }
                    if (pass > 0) {
                        bestWrite = Math.min(bestWrite, write);
                        bestRead = Math.min(bestRead, read);
                    }
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            double perRecord = (double) bytes / records.size();
            if (encoding == EmbeddedImageSerializer.Encoding.FLOAT32) {
                f32Bytes = perRecord;
            }
            report.row().put("patches", encoding.name().toLowerCase(java.util.Locale.ROOT)
                            + (encoding == EmbeddedImageTypeInfo.DEFAULT ? " (default)" : ""))
                    .put("bytes/record", perRecord).put("x float32", perRecord / f32Bytes)
                    .put("serialise ms", bestWrite / 1e6 / records.size())
                    .put("deserialise ms", bestRead / 1e6 / records.size())
                    .put("MB/s written", bytes / (bestWrite / 1e9) / 1e6);
        }
        report.note("serialise / deserialise ms: per record, EmbeddedImageSerializer to and from a memory buffer "
                + "(no network); float32 is the record as it travelled before F16 transport");
        return report;
    }
}
