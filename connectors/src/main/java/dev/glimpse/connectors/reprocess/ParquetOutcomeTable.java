package dev.glimpse.connectors.reprocess;

import org.apache.parquet.schema.MessageType;
import org.apache.parquet.schema.MessageTypeParser;

/**
 * The two tables of a {@code parquet:DIR/} sink, each a folder of part files with one schema: the
 * fields of the captions topic's JSON (docs/contracts.md) and of the dead-letter
 * topic's, by the same names and nesting, so a query reads {@code source.uri} or {@code
 * timings_ms.inference} as a consumer of the topic would. {@code metadata} is the producer's own
 * JSON, kept as a JSON-annotated string; {@code source.timestamp} is epoch milliseconds, annotated
 * as a UTC timestamp.
 */
public enum ParquetOutcomeTable {
    CAPTIONS("captions", """
            message caption {
              required binary id (STRING);
              optional binary caption (STRING);
              optional binary model (STRING);
              optional binary prompt (STRING);
              optional int32 tokens;
              optional double confidence;
              optional int32 views;
              %s
              optional group timings_ms {
                optional int64 decode;
                optional int64 embed;
                optional int64 queue;
                optional int64 inference;
                optional int64 total;
                optional int32 batch_size;
              }
              optional binary metadata (JSON);
            }
            """),
    DEAD_LETTERS("dead-letters", """
            message dead_letter {
              optional binary id (STRING);
              optional group error {
                optional binary code (STRING);
                optional binary message (STRING);
                optional binary stage (STRING);
              }
              %s
              optional int64 payload_bytes;
              optional binary payload_head_base64 (STRING);
            }
            """);

    /** A Kafka record's coordinates, or a bounded source's file (and manifest line). */
    private static final String SOURCE = """
            optional group source {
                optional binary topic (STRING);
                optional int32 partition;
                optional int64 offset;
                optional binary uri (STRING);
                optional int64 line;
                optional int64 timestamp (TIMESTAMP(MILLIS,true));
              }""";

    private final String folder;
    private final String schemaText;
    private transient MessageType schema;

    ParquetOutcomeTable(String folder, String schemaText) {
        this.folder = folder;
        this.schemaText = schemaText.formatted(SOURCE);
    }

    /** The table's folder under the sink's {@code DIR/}. */
    public String folder() {
        return folder;
    }

    public MessageType schema() {
        if (schema == null) {
            schema = MessageTypeParser.parseMessageType(schemaText);
        }
        return schema;
    }

    /** The table an outcome belongs to. */
    public static ParquetOutcomeTable of(OutputLine line) {
        return line.deadLetter() ? DEAD_LETTERS : CAPTIONS;
    }
}
