package dev.glimpse.sql;

import dev.glimpse.job.GlimpseConfig;
import dev.glimpse.job.GlimpseOptions;
import dev.glimpse.job.PipelineSettings;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.apache.flink.table.api.ValidationException;
import org.apache.flink.table.catalog.Column;
import org.apache.flink.table.catalog.ResolvedSchema;
import org.apache.flink.table.types.logical.LogicalType;
import org.apache.flink.table.types.logical.LogicalTypeFamily;

/**
 * A Glimpse model as a query uses it, checked when the query is planned: the graph's settings
 * ({@link PipelineSettings}, from the model's options), whether its INPUT has a prompt column, and
 * which OUTPUT columns it fills, in order.
 */
record CaptionModelSpec(String name, PipelineSettings settings, int engineThreads, boolean promptColumn,
                        List<OutputColumn> outputs) implements Serializable {
    static final String INPUT_FORMS = "(image BYTES) or (image BYTES, prompt STRING)";

    static CaptionModelSpec of(String name, GlimpseConfig c, ResolvedSchema input, ResolvedSchema output) {
        List<Column> in = input.getColumns();
        if (in.isEmpty() || in.size() > 2) {
            throw new ValidationException("model " + name + ": INPUT has " + in.size() + " columns; a Glimpse model "
                    + "takes " + INPUT_FORMS);
        }
        requireType(name, "INPUT", in.get(0), LogicalTypeFamily.BINARY_STRING, "BYTES");
        if (in.size() == 2) {
            requireType(name, "INPUT", in.get(1), LogicalTypeFamily.CHARACTER_STRING, "STRING");
        }
        List<OutputColumn> outputs = new ArrayList<>();
        for (Column column : output.getColumns()) {
            OutputColumn o = OutputColumn.named(column.getName());
            if (o == null) {
                throw new ValidationException("model " + name + ": OUTPUT column '" + column.getName() + "' is none "
                        + "Glimpse fills; it fills " + Stream.of(OutputColumn.values())
                                .map(v -> v.sqlName() + " " + v.sqlType()).collect(Collectors.joining(", ")));
            }
            if (!o.accepts(column.getDataType().getLogicalType())) {
                throw new ValidationException("model " + name + ": OUTPUT column '" + column.getName() + "' is "
                        + column.getDataType() + "; Glimpse fills it as " + o.sqlType());
            }
            if (outputs.contains(o)) {
                throw new ValidationException("model " + name + ": OUTPUT column '" + column.getName() + "' appears twice");
            }
            outputs.add(o);
        }
        if (!outputs.contains(OutputColumn.CAPTION)) {
            throw new ValidationException("model " + name + ": OUTPUT has no 'caption STRING' column");
        }
        return new CaptionModelSpec(name, PipelineSettings.of(c), c.get(GlimpseOptions.ENGINE_THREADS), in.size() == 2,
                List.copyOf(outputs));
    }

    private static void requireType(String name, String side, Column column, LogicalTypeFamily family, String type) {
        LogicalType t = column.getDataType().getLogicalType();
        if (!t.is(family)) {
            throw new ValidationException("model " + name + ": " + side + " column '" + column.getName() + "' is "
                    + column.getDataType() + ", not " + type + "; a Glimpse model takes " + INPUT_FORMS);
        }
    }
}
