package dev.glimpse.sql;

import dev.glimpse.operators.CaptionRecord;
import dev.glimpse.operators.ErrorCode;
import java.util.Locale;
import org.apache.flink.table.data.StringData;
import org.apache.flink.table.types.logical.LogicalType;
import org.apache.flink.table.types.logical.LogicalTypeFamily;
import org.apache.flink.table.types.logical.LogicalTypeRoot;

/**
 * A column a Glimpse model's OUTPUT may have, with the type it must be: the caption and its figures,
 * or the dead-letter topic's error code and message for a row that could not be captioned.
 */
enum OutputColumn {
    CAPTION("STRING"),
    CONFIDENCE("DOUBLE"),
    TOKENS("INT"),
    VIEWS("INT"),
    MODEL("STRING"),
    ERROR_CODE("STRING"),
    ERROR_MESSAGE("STRING");

    private final String type;

    OutputColumn(String type) {
        this.type = type;
    }

    /** The column's name in SQL. */
    String sqlName() {
        return name().toLowerCase(Locale.ROOT);
    }

    String sqlType() {
        return type;
    }

    /** The column named {@code name} (any case), or null. */
    static OutputColumn named(String name) {
        for (OutputColumn c : values()) {
            if (c.sqlName().equalsIgnoreCase(name)) {
                return c;
            }
        }
        return null;
    }

    boolean accepts(LogicalType t) {
        return switch (type) {
            case "STRING" -> t.is(LogicalTypeFamily.CHARACTER_STRING);
            case "DOUBLE" -> t.is(LogicalTypeRoot.DOUBLE);
            default -> t.is(LogicalTypeRoot.INTEGER);
        };
    }

    /** This column's value for a caption. */
    Object of(CaptionRecord caption) {
        return switch (this) {
            case CAPTION -> StringData.fromString(caption.caption);
            case CONFIDENCE -> caption.confidence;
            case TOKENS -> caption.tokens;
            case VIEWS -> caption.views;
            case MODEL -> StringData.fromString(caption.model);
            case ERROR_CODE, ERROR_MESSAGE -> null;
        };
    }

    /** This column's value for a row that failed with {@code code}. */
    Object of(ErrorCode code, String message) {
        return switch (this) {
            case ERROR_CODE -> StringData.fromString(code.name());
            case ERROR_MESSAGE -> StringData.fromString(message);
            default -> null;
        };
    }
}
