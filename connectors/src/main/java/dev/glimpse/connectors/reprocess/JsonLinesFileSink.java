package dev.glimpse.connectors.reprocess;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import org.apache.flink.api.connector.sink2.Committer;
import org.apache.flink.api.connector.sink2.CommitterInitContext;
import org.apache.flink.api.connector.sink2.CommittingSinkWriter;
import org.apache.flink.api.connector.sink2.Sink;
import org.apache.flink.api.connector.sink2.SinkWriter;
import org.apache.flink.api.connector.sink2.StatefulSinkWriter;
import org.apache.flink.api.connector.sink2.SupportsCommitter;
import org.apache.flink.api.connector.sink2.SupportsWriterState;
import org.apache.flink.api.connector.sink2.WriterInitContext;
import org.apache.flink.core.io.SimpleVersionedSerializer;

/**
 * {@code jsonl:FILE}: captions as JSON lines in one local file, dead letters in its sibling
 * {@code *.dead-letters.jsonl}, exactly one line per image. Run it at parallelism 1.
 *
 * <p>The writer keeps the lines of a checkpoint in memory; they travel in the checkpoint as a
 * committable and are appended to the files only when the checkpoint completes, then fsynced. A
 * commit log beside the files ({@code .NAME.commit}, written by rename) records, per run, the last
 * committable appended and the files' lengths after it: a commit retried after a failover truncates
 * whatever a crashed attempt appended beyond those lengths and appends again, and skips committables
 * already appended. A {@code kill -9} of the whole run can leave at most a partial last line, which
 * the next run's committer truncates before it appends anything; complete lines are outcomes, so
 * {@code --skip-existing} counts them.
 */
public final class JsonLinesFileSink implements Sink<OutputLine>, SupportsCommitter<JsonLinesFileSink.Commit>,
        SupportsWriterState<OutputLine, Long> {
    private final String captions;
    private final String deadLetters;
    private final String commitLog;
    private final String runId;

    /** {@code runId}: unique per run, so a new run never takes an old run's commit log for its own. */
    public JsonLinesFileSink(Path captionsFile, String runId) {
        Path abs = captionsFile.toAbsolutePath();
        this.captions = abs.toString();
        this.deadLetters = deadLettersFile(abs).toString();
        this.commitLog = abs.resolveSibling("." + abs.getFileName() + ".commit").toString();
        this.runId = runId;
    }

    /** {@code captions.jsonl} → {@code captions.dead-letters.jsonl}; another name gets the suffix appended. */
    public static Path deadLettersFile(Path captionsFile) {
        String name = captionsFile.getFileName().toString();
        String base = name.endsWith(".jsonl") ? name.substring(0, name.length() - ".jsonl".length()) : name;
        return captionsFile.resolveSibling(base + ".dead-letters.jsonl");
    }

    /** The lines of one checkpoint, numbered in the run's order. */
    public record Commit(String runId, long sequence, byte[] captions, byte[] deadLetters) {}

    @Override
    public SinkWriter<OutputLine> createWriter(WriterInitContext context) {
        return new Writer(0);
    }

    @Override
    public StatefulSinkWriter<OutputLine, Long> restoreWriter(WriterInitContext context, Collection<Long> state) {
        return new Writer(state.stream().mapToLong(Long::longValue).max().orElse(0));
    }

    @Override
    public SimpleVersionedSerializer<Long> getWriterStateSerializer() {
        return new SimpleVersionedSerializer<>() {
            @Override
            public int getVersion() {
                return 1;
            }

            @Override
            public byte[] serialize(Long value) {
                return ByteBuffer.allocate(8).putLong(value).array();
            }

            @Override
            public Long deserialize(int version, byte[] serialized) {
                return ByteBuffer.wrap(serialized).getLong();
            }
        };
    }

    @Override
    public Committer<Commit> createCommitter(CommitterInitContext context) throws IOException {
        return new FileCommitter(Path.of(captions), Path.of(deadLetters), Path.of(commitLog), runId);
    }

    @Override
    public SimpleVersionedSerializer<Commit> getCommittableSerializer() {
        return new SimpleVersionedSerializer<>() {
            @Override
            public int getVersion() {
                return 1;
            }

            @Override
            public byte[] serialize(Commit c) throws IOException {
                ByteArrayOutputStream bytes = new ByteArrayOutputStream();
                try (DataOutputStream out = new DataOutputStream(bytes)) {
                    out.writeUTF(c.runId());
                    out.writeLong(c.sequence());
                    out.writeInt(c.captions().length);
                    out.write(c.captions());
                    out.writeInt(c.deadLetters().length);
                    out.write(c.deadLetters());
                }
                return bytes.toByteArray();
            }

            @Override
            public Commit deserialize(int version, byte[] serialized) throws IOException {
                try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(serialized))) {
                    String run = in.readUTF();
                    long seq = in.readLong();
                    byte[] c = in.readNBytes(in.readInt());
                    byte[] d = in.readNBytes(in.readInt());
                    return new Commit(run, seq, c, d);
                }
            }
        };
    }

    /** Collects a checkpoint's lines; its state is the number of the last committable it made. */
    private final class Writer implements CommittingSinkWriter<OutputLine, Commit>, StatefulSinkWriter<OutputLine, Long> {
        private final ByteArrayOutputStream captionLines = new ByteArrayOutputStream();
        private final ByteArrayOutputStream deadLetterLines = new ByteArrayOutputStream();
        private long sequence;

        Writer(long sequence) {
            this.sequence = sequence;
        }

        @Override
        public void write(OutputLine line, Context context) {
            ByteArrayOutputStream target = line.deadLetter() ? deadLetterLines : captionLines;
            target.writeBytes(line.json);
            target.write('\n');
        }

        @Override
        public void flush(boolean endOfInput) {
            // Lines reach the files only through a completed checkpoint.
        }

        @Override
        public Collection<Commit> prepareCommit() {
            if (captionLines.size() == 0 && deadLetterLines.size() == 0) {
                return List.of();
            }
            Commit c = new Commit(runId, ++sequence, captionLines.toByteArray(), deadLetterLines.toByteArray());
            captionLines.reset();
            deadLetterLines.reset();
            return List.of(c);
        }

        @Override
        public List<Long> snapshotState(long checkpointId) {
            return List.of(sequence);
        }

        @Override
        public void close() {}
    }

    /** Appends committables in order, once each, and records each in the commit log. */
    static final class FileCommitter implements Committer<Commit> {
        private final Path captions;
        private final Path deadLetters;
        private final Path log;
        private final String runId;

        FileCommitter(Path captions, Path deadLetters, Path log, String runId) throws IOException {
            this.captions = captions;
            this.deadLetters = deadLetters;
            this.log = log;
            this.runId = runId;
            CommitLog last = CommitLog.read(log);
            if (last == null || !last.runId().equals(runId)) {
                // A new run: what an earlier run appended stays, but not a line a kill cut short.
                long c = truncatePartialLine(captions);
                long d = truncatePartialLine(deadLetters);
                new CommitLog(runId, 0, c, d).write(log);
            }
        }

        @Override
        public void commit(Collection<CommitRequest<Commit>> requests) throws IOException {
            List<CommitRequest<Commit>> ordered = new ArrayList<>(requests);
            ordered.sort(Comparator.comparingLong(r -> r.getCommittable().sequence()));
            for (CommitRequest<Commit> request : ordered) {
                Commit c = request.getCommittable();
                CommitLog last = CommitLog.read(log);
                if (!c.runId().equals(runId) || c.sequence() <= last.sequence()) {
                    request.signalAlreadyCommitted();
                    continue;
                }
                long c1 = append(captions, last.captionsBytes(), c.captions());
                long d1 = append(deadLetters, last.deadLettersBytes(), c.deadLetters());
                new CommitLog(runId, c.sequence(), c1, d1).write(log);
            }
        }

        /** Cuts {@code file} back to {@code length} (a crashed attempt's tail), appends, fsyncs; the new length. */
        private static long append(Path file, long length, byte[] lines) throws IOException {
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
                if (ch.size() > length) {
                    ch.truncate(length);
                }
                ch.position(length);
                ByteBuffer buf = ByteBuffer.wrap(lines);
                while (buf.hasRemaining()) {
                    ch.write(buf);
                }
                ch.force(true);
                return ch.size();
            }
        }

        /** Removes an unterminated last line; the file's length after (0 when it does not exist). */
        static long truncatePartialLine(Path file) throws IOException {
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ,
                    StandardOpenOption.WRITE)) {
                long end = ch.size();
                ByteBuffer one = ByteBuffer.allocate(8192);
                long pos = end;
                while (pos > 0) {
                    int n = (int) Math.min(one.capacity(), pos);
                    one.clear().limit(n);
                    ch.read(one, pos - n);
                    for (int i = n - 1; i >= 0; i--) {
                        if (one.get(i) == '\n') {
                            long keep = pos - n + i + 1;
                            if (keep < end) {
                                ch.truncate(keep);
                                ch.force(true);
                            }
                            return keep;
                        }
                    }
                    pos -= n;
                }
                if (end > 0) {
                    ch.truncate(0);
                    ch.force(true);
                }
                return 0;
            }
        }

        @Override
        public void close() {}
    }

    /** The commit log's one record: the run, its last committable appended, the files' lengths after it. */
    record CommitLog(String runId, long sequence, long captionsBytes, long deadLettersBytes) {
        static CommitLog read(Path log) throws IOException {
            if (!Files.exists(log)) {
                return null;
            }
            String[] f = Files.readString(log, StandardCharsets.UTF_8).trim().split(" ");
            if (f.length != 4) {
                throw new IOException("unreadable commit log " + log + ": delete it only if no run writes to its file");
            }
            return new CommitLog(f[0], Long.parseLong(f[1]), Long.parseLong(f[2]), Long.parseLong(f[3]));
        }

        /** Written beside, fsynced, renamed over the old record: a crash leaves one or the other whole. */
        void write(Path log) throws IOException {
            Path tmp = log.resolveSibling(log.getFileName() + ".tmp");
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                    StandardOpenOption.TRUNCATE_EXISTING)) {
                ch.write(ByteBuffer.wrap((runId + " " + sequence + " " + captionsBytes + " " + deadLettersBytes + "\n")
                        .getBytes(StandardCharsets.UTF_8)));
                ch.force(true);
            }
            Files.move(tmp, log, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            try (FileChannel dir = FileChannel.open(log.toAbsolutePath().getParent(), StandardOpenOption.READ)) {
                dir.force(true);
            }
        }
    }
}
