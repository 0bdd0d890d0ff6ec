package dev.glimpse.connectors.reprocess;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.parquet.conf.ParquetConfiguration;
import org.apache.parquet.hadoop.api.WriteSupport;
import org.apache.parquet.io.api.Binary;
import org.apache.parquet.io.api.RecordConsumer;
import org.apache.parquet.schema.GroupType;
import org.apache.parquet.schema.LogicalTypeAnnotation;
import org.apache.parquet.schema.PrimitiveType;
import org.apache.parquet.schema.Type;

/**
 * Writes an outcome's JSON (the topics' contract, which the other sinks write as it is) as a row of
 * its table's schema: each column takes the JSON field of its name, groups take nested objects, an
 * absent or null field is a null; a JSON-annotated column takes the field's JSON text.
 */
final class JsonParquetWriteSupport extends WriteSupport<OutputLine> {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final ParquetOutcomeTable table;
    private RecordConsumer out;

    JsonParquetWriteSupport(ParquetOutcomeTable table) {
        this.table = table;
    }

    @Override
    public WriteContext init(Configuration configuration) {
        return context();
    }

    @Override
    public WriteContext init(ParquetConfiguration configuration) {
        return context();
    }

    private WriteContext context() {
        return new WriteContext(table.schema(), Map.of("glimpse.table", table.folder()));
    }

    @Override
    public void prepareForWrite(RecordConsumer recordConsumer) {
        this.out = recordConsumer;
    }

    @Override
    public void write(OutputLine line) {
        JsonNode root;
        try {
            root = JSON.readTree(line.json);
        } catch (IOException e) {
            throw new UncheckedIOException("an outcome of " + line.id + " is not JSON", e);
        }
        out.startMessage();
        writeFields(table.schema(), root);
        out.endMessage();
    }

    private void writeFields(GroupType group, JsonNode node) {
        for (int i = 0; i < group.getFieldCount(); i++) {
            Type field = group.getType(i);
            JsonNode value = node.get(field.getName());
            if (value == null || value.isNull()) {
                if (field.isRepetition(Type.Repetition.REQUIRED)) {
                    throw new IllegalArgumentException("outcome without " + field.getName() + ": " + node);
                }
                continue;
            }
            out.startField(field.getName(), i);
            if (field.isPrimitive()) {
                writeValue(field.asPrimitiveType(), value);
            } else {
                out.startGroup();
                writeFields(field.asGroupType(), value);
                out.endGroup();
            }
            out.endField(field.getName(), i);
        }
    }

    private void writeValue(PrimitiveType type, JsonNode value) {
        switch (type.getPrimitiveTypeName()) {
            case INT32 -> out.addInteger(value.asInt());
            case INT64 -> out.addLong(value.asLong());
            case DOUBLE -> out.addDouble(value.asDouble());
            case BOOLEAN -> out.addBoolean(value.asBoolean());
            case BINARY -> out.addBinary(Binary.fromString(
                    type.getLogicalTypeAnnotation() instanceof LogicalTypeAnnotation.JsonLogicalTypeAnnotation
                            ? value.toString() : value.asText()));
            default -> throw new IllegalStateException("no JSON mapping for column type " + type);
        }
    }
}
