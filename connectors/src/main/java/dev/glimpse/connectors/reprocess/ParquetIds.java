package dev.glimpse.connectors.reprocess;

import java.io.IOException;
import java.util.List;
import org.apache.parquet.schema.MessageType;

/**
 * The ids of a {@code parquet:DIR/} sink's committed part files, for {@code --skip-existing}: the
 * {@code id} column alone of every part file under the tables' folders ({@link ParquetParts}),
 * required (captions) or optional (dead letters) as the file has it.
 */
record ParquetIds(List<String> uris) implements ExistingIds.Loader {
    @Override
    public ExistingIds load() throws IOException {
        ExistingIds.Builder ids = new ExistingIds.Builder();
        ParquetParts.read(uris, file -> new MessageType(file.getName(), file.getType("id")), row -> {
            if (row.getFieldRepetitionCount("id") > 0) {
                ids.add(row.getString("id", 0));
            }
        });
        return ids.build();
    }
}
