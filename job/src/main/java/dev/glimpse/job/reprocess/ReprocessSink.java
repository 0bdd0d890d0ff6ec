package dev.glimpse.job.reprocess;

import dev.glimpse.job.GlimpseConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.streaming.api.datastream.DataStream;

/** {@code --to}: where a reprocessing run writes captions and dead letters. */
public sealed interface ReprocessSink permits ReprocessSink.JsonLinesFile {
    /** {@code jsonl:FILE}. */
    static ReprocessSink parse(String text) {
        if (text != null && text.startsWith("jsonl:") && text.length() > "jsonl:".length()) {
            String target = text.substring("jsonl:".length());
            return new JsonLinesFile(Path.of(target).toAbsolutePath().normalize());
        }
        throw new IllegalArgumentException("--to " + text + ": expected jsonl:FILE");
    }

    /** Creates what must exist before the job starts (folders). */
    void prepare() throws IOException;

    /** Tallies and writes the outcomes. */
    void write(DataStream<OutputLine> lines, GlimpseConfig c, String runId);

    /** Where the sink's earlier outcomes are, for {@code --skip-existing}. */
    ExistingIds.Loader existing();

    /**
     * One file of captions and its sibling of dead letters, written by one writer: a single file
     * cannot take parallel appends, and writing JSON lines is cheap beside captioning.
     */
    record JsonLinesFile(Path file) implements ReprocessSink {
        @Override
        public void prepare() throws IOException {
            Files.createDirectories(file.getParent());
        }

        @Override
        public void write(DataStream<OutputLine> lines, GlimpseConfig c, String runId) {
            lines.flatMap(new OutcomeTally(runId)).returns(TypeInformation.of(OutputLine.class))
                    .name("outcomes").uid("outcome-tally").setParallelism(1)
                    .sinkTo(new JsonLinesFileSink(file, runId)).name("jsonl " + file.getFileName())
                    .uid("jsonl-file-sink").setParallelism(1);
        }

        @Override
        public ExistingIds.Loader existing() {
            return new ExistingIds.JsonLinesFiles(List.of(file.toUri().toString(),
                    JsonLinesFileSink.deadLettersFile(file).toUri().toString()));
        }

        @Override
        public String toString() {
            return file + " (dead letters: " + JsonLinesFileSink.deadLettersFile(file).getFileName() + ")";
        }
    }
}
