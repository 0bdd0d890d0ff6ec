package dev.glimpse.connectors.reprocess;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.function.UnaryOperator;
import org.apache.parquet.example.data.Group;
import org.apache.parquet.schema.GroupType;
import org.apache.parquet.schema.LogicalTypeAnnotation;
import org.apache.parquet.schema.PrimitiveType;
import org.apache.parquet.schema.Type;

/**
 * A row of an outcome table back as the topics' JSON, the inverse of {@link JsonParquetWriteSupport}:
 * each column is the field of its name, groups are nested objects, a JSON-annotated column is parsed
 * back, and a null column is left out (as the writer read an absent field).
 */
final class ParquetRowJson {
    private static final ObjectMapper JSON = new ObjectMapper();

    private ParquetRowJson() {}

    /** Every row of the part files under {@code folderUris} ({@link ParquetParts}), as JSON. */
    static List<JsonNode> readAll(List<String> folderUris) throws IOException {
        List<JsonNode> rows = new ArrayList<>();
        ParquetParts.read(folderUris, UnaryOperator.identity(), row -> rows.add(json(row)));
        return rows;
    }

    static ObjectNode json(Group row) {
        ObjectNode node = JSON.createObjectNode();
        GroupType type = row.getType();
        for (int i = 0; i < type.getFieldCount(); i++) {
            if (row.getFieldRepetitionCount(i) == 0) {
                continue;
            }
            Type field = type.getType(i);
            String name = field.getName();
            if (!field.isPrimitive()) {
                node.set(name, json(row.getGroup(i, 0)));
                continue;
            }
            PrimitiveType column = field.asPrimitiveType();
            switch (column.getPrimitiveTypeName()) {
                case INT32 -> node.put(name, row.getInteger(i, 0));
                case INT64 -> node.put(name, row.getLong(i, 0));
                case DOUBLE -> node.put(name, row.getDouble(i, 0));
                case BOOLEAN -> node.put(name, row.getBoolean(i, 0));
                case BINARY -> node.set(name, text(column, row.getString(i, 0)));
                default -> throw new IllegalStateException("no JSON mapping for column type " + column);
            }
        }
        return node;
    }

    private static JsonNode text(PrimitiveType column, String value) {
        if (!(column.getLogicalTypeAnnotation() instanceof LogicalTypeAnnotation.JsonLogicalTypeAnnotation)) {
            return JSON.getNodeFactory().textNode(value);
        }
        try {
            return JSON.readTree(value);
        } catch (IOException e) {
            throw new UncheckedIOException("column " + column.getName() + " is not JSON", e);
        }
    }
}
