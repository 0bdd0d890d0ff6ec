package dev.glimpse.job.reprocess;

import java.io.IOException;
import java.util.List;
import org.apache.flink.core.fs.FileStatus;
import org.apache.flink.core.fs.FileSystem;
import org.apache.flink.core.fs.Path;
import org.apache.flink.formats.parquet.ParquetInputFile;
import org.apache.parquet.example.data.Group;
import org.apache.parquet.hadoop.ParquetReader;
import org.apache.parquet.hadoop.api.InitContext;
import org.apache.parquet.hadoop.api.ReadSupport;
import org.apache.parquet.hadoop.example.GroupReadSupport;
import org.apache.parquet.io.InputFile;
import org.apache.parquet.schema.MessageType;

/**
 * The ids of a {@code parquet:DIR/} sink's committed part files, for {@code --skip-existing}: the
 * {@code id} column alone of every file under the tables' folders, read through Flink's file
 * systems (so {@code s3://} works where Flink's does). Names starting with "." or "_" are skipped:
 * they are the {@code FileSink}'s in-progress files, never outcomes.
 */
record ParquetIds(List<String> uris) implements ExistingIds.Loader {
    @Override
    public ExistingIds load() throws IOException {
        ExistingIds.Builder ids = new ExistingIds.Builder();
        for (String uri : uris) {
            Path p = new Path(uri);
            FileSystem fs = p.getFileSystem();
            if (fs.exists(p)) {
                addAll(fs, fs.getFileStatus(p), ids);
            }
        }
        return ids.build();
    }

    private static void addAll(FileSystem fs, FileStatus status, ExistingIds.Builder ids) throws IOException {
        if (!status.isDir()) {
            try {
                addIds(new ParquetInputFile(fs.open(status.getPath()), status.getLen()), ids);
            } catch (IOException | RuntimeException e) {
                throw new IOException(status.getPath() + ": " + e.getMessage(), e);
            }
            return;
        }
        for (FileStatus child : fs.listStatus(status.getPath())) {
            String name = child.getPath().getName();
            if (!name.startsWith(".") && !name.startsWith("_")) {
                addAll(fs, child, ids);
            }
        }
    }

    private static void addIds(InputFile file, ExistingIds.Builder ids) throws IOException {
        try (ParquetReader<Group> rows = new IdReader(file).build()) {
            for (Group row = rows.read(); row != null; row = rows.read()) {
                if (row.getFieldRepetitionCount("id") > 0) {
                    ids.add(row.getString("id", 0));
                }
            }
        }
    }

    /** parquet-hadoop's row reader over any {@link InputFile}, with its example {@link Group} rows. */
    private static final class IdReader extends ParquetReader.Builder<Group> {
        IdReader(InputFile file) {
            super(file);
        }

        @Override
        protected ReadSupport<Group> getReadSupport() {
            return new IdColumn();
        }
    }

    /** Reads the {@code id} column alone, required (captions) or optional (dead letters) as the file has it. */
    private static final class IdColumn extends GroupReadSupport {
        @Override
        public ReadContext init(InitContext context) {
            MessageType file = context.getFileSchema();
            return new ReadContext(new MessageType(file.getName(), file.getType("id")));
        }
    }
}
