package dev.glimpse.connectors.reprocess;

import java.io.IOException;
import java.util.List;
import java.util.function.Consumer;
import java.util.function.UnaryOperator;
import org.apache.flink.formats.parquet.ParquetInputFile;
import org.apache.parquet.example.data.Group;
import org.apache.parquet.hadoop.ParquetReader;
import org.apache.parquet.hadoop.api.InitContext;
import org.apache.parquet.hadoop.api.ReadSupport;
import org.apache.parquet.hadoop.example.GroupReadSupport;
import org.apache.parquet.io.InputFile;
import org.apache.parquet.io.SeekableInputStream;
import org.apache.parquet.schema.MessageType;

/**
 * The rows of the committed part files under a {@code parquet:DIR/} sink's table folders ({@link
 * CommittedFiles}: any Flink file system, in path order, in-progress files skipped). A file that
 * cannot be read fails with its path.
 */
final class ParquetParts {
    private ParquetParts() {}

    /** Every row of every part file under {@code folderUris} (absent folders have none), with the columns {@code columns} keeps of each file's schema. */
    static void read(List<String> folderUris, UnaryOperator<MessageType> columns, Consumer<Group> rows) throws IOException {
        CommittedFiles.forEach(folderUris, (fs, status) -> {
            String path = status.getPath().toString();
            try {
                readFile(named(new ParquetInputFile(fs.open(status.getPath()), status.getLen()), path), columns, rows);
            } catch (IOException | RuntimeException e) {
                String m = String.valueOf(e.getMessage());
                throw new IOException(m.contains(path) ? m : path + ": " + m, e);
            }
        });
    }

    /** Flink's input file, named by its path in parquet-hadoop's messages ("PATH is not a Parquet file"). */
    private static InputFile named(InputFile file, String path) {
        return new InputFile() {
            @Override
            public long getLength() throws IOException {
                return file.getLength();
            }

            @Override
            public SeekableInputStream newStream() throws IOException {
                return file.newStream();
            }

            @Override
            public String toString() {
                return path;
            }
        };
    }

    private static void readFile(InputFile file, UnaryOperator<MessageType> columns, Consumer<Group> rows) throws IOException {
        try (ParquetReader<Group> reader = new Reader(file, columns).build()) {
            for (Group row = reader.read(); row != null; row = reader.read()) {
                rows.accept(row);
            }
        }
    }

    /** parquet-hadoop's row reader over any {@link InputFile}, with its example {@link Group} rows. */
    private static final class Reader extends ParquetReader.Builder<Group> {
        private final UnaryOperator<MessageType> columns;

        Reader(InputFile file, UnaryOperator<MessageType> columns) {
            super(file);
            this.columns = columns;
        }

        @Override
        protected ReadSupport<Group> getReadSupport() {
            return new GroupReadSupport() {
                @Override
                public ReadContext init(InitContext context) {
                    return new ReadContext(columns.apply(context.getFileSchema()));
                }
            };
        }
    }
}
