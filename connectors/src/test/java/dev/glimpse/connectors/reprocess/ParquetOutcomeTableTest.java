package dev.glimpse.connectors.reprocess;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.glimpse.operators.CaptionRecord;
import dev.glimpse.operators.DeadLetter;
import dev.glimpse.operators.ErrorCode;
import dev.glimpse.operators.ImageDecoder;
import dev.glimpse.operators.ImageRequest;
import dev.glimpse.operators.OutputJson;
import dev.glimpse.operators.SourceRef;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.parquet.hadoop.ParquetWriter;
import org.apache.parquet.hadoop.util.HadoopOutputFile;
import org.apache.parquet.schema.GroupType;
import org.apache.parquet.schema.LogicalTypeAnnotation;
import org.apache.parquet.schema.Type;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The Parquet tables against the topics' JSON contract they are made from. */
class ParquetOutcomeTableTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void shouldHaveAColumnForEveryFieldOfTheCaptionContractFromKafkaAndFromAFile() throws Exception {
        for (SourceRef source : List.of(new SourceRef("images", 3, 42, 1_700_000_000_000L),
                SourceRef.ofUri("file:///archive/manifest.jsonl", 7, 1_700_000_000_000L))) {
            JsonNode caption = JSON.readTree(OutputJson.caption(caption(source)));
            assertThat(missingColumns(ParquetOutcomeTable.CAPTIONS.schema(), caption, ""))
                    .as("fields of %s without a column", caption).isEmpty();
        }
    }

    @Test
    void shouldHaveAColumnForEveryFieldOfTheDeadLetterContract() throws Exception {
        DeadLetter d = new DeadLetter("a.jpg", ErrorCode.IMAGE_DECODE_FAILED, "truncated", "ImageDecoder",
                new SourceRef("images", 0, 1, 2), 10, new byte[] {1, 2, 3});
        JsonNode dead = JSON.readTree(OutputJson.deadLetter(d));
        assertThat(missingColumns(ParquetOutcomeTable.DEAD_LETTERS.schema(), dead, "")).isEmpty();
    }

    @Test
    void shouldSendEachOutcomeToItsTable() {
        assertThat(ParquetOutcomeTable.of(new OutputLine("a", null, new byte[0]))).isEqualTo(ParquetOutcomeTable.CAPTIONS);
        assertThat(ParquetOutcomeTable.of(new OutputLine("a", "EMPTY_PAYLOAD", new byte[0])))
                .isEqualTo(ParquetOutcomeTable.DEAD_LETTERS);
    }

    @Test
    void shouldReadBackEachRowAsTheJsonItWasWrittenFrom(@TempDir Path dir) throws Exception {
        DeadLetter d = new DeadLetter("a.jpg", ErrorCode.IMAGE_DECODE_FAILED, "truncated", "ImageDecoder",
                SourceRef.ofUri("file:///archive/a.jpg", -1, 1_700_000_000_000L), 10, new byte[] {1, 2, 3});
        List<JsonNode> written = new ArrayList<>();
        for (ParquetOutcomeTable table : ParquetOutcomeTable.values()) {
            Path folder = Files.createDirectories(dir.resolve(table.folder()));
            try (ParquetWriter<OutputLine> w = ParquetOutcomeSinks.writer(HadoopOutputFile.fromPath(
                    new org.apache.hadoop.fs.Path(folder.resolve("part-0-0.parquet").toUri()), new Configuration()), table)) {
                List<byte[]> outcomes = table == ParquetOutcomeTable.CAPTIONS
                        ? List.of(OutputJson.caption(caption(new SourceRef("images", 3, 42, 1_700_000_000_000L))),
                                OutputJson.caption(caption(SourceRef.ofUri("file:///archive/b.jpg", 7, 0))))
                        : List.of(OutputJson.deadLetter(d));
                for (byte[] json : outcomes) {
                    w.write(new OutputLine("id", table == ParquetOutcomeTable.CAPTIONS ? null : "IMAGE_DECODE_FAILED", json));
                    written.add(JSON.readTree(json));
                }
            }
            // The FileSink's in-progress files are never outcomes.
            Files.writeString(folder.resolve(".part-1-0.parquet.inprogress"), "half a file");
        }

        List<JsonNode> read = ParquetRowJson.readAll(List.of(dir.resolve("captions").toUri().toString(),
                dir.resolve("dead-letters").toUri().toString()));

        assertThat(read).hasSameSizeAs(written);
        for (int i = 0; i < written.size(); i++) {
            // Numbers compare by value: a Parquet int64 reads back as a long where the JSON had a small int.
            assertThat(read.get(i).equals((a, b) -> a.isNumber() && b.isNumber()
                    ? Double.compare(a.doubleValue(), b.doubleValue()) : a.equals(b) ? 0 : 1, written.get(i)))
                    .as("row %d: %s read back as %s", i, written.get(i), read.get(i)).isTrue();
        }
        assertThat(read.get(0).path("metadata").path("camera").asText()).as("JSON column parsed back").isEqualTo("x");
    }

    private static CaptionRecord caption(SourceRef source) {
        ImageRequest r = new ImageRequest();
        r.id = "scene-1.png";
        r.source = source;
        r.metadataJson = "{\"camera\":\"x\"}";
        CaptionRecord c = new CaptionRecord();
        c.request = r;
        c.caption = "a red circle";
        c.model = "glimpse-scenes";
        c.prompt = "describe the image";
        c.tokens = 4;
        c.confidence = 0.9;
        c.views = 1;
        c.batchSize = 16;
        return c;
    }

    /** The dotted names of the JSON's fields that have no column (a JSON-typed column takes a whole object). */
    private static List<String> missingColumns(GroupType group, JsonNode node, String prefix) {
        List<String> missing = new ArrayList<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> f = it.next();
            if (!group.containsField(f.getKey())) {
                missing.add(prefix + f.getKey());
                continue;
            }
            Type column = group.getType(f.getKey());
            if (f.getValue().isObject() && !column.isPrimitive()) {
                missing.addAll(missingColumns(column.asGroupType(), f.getValue(), prefix + f.getKey() + "."));
            } else if (f.getValue().isObject()
                    && !(column.getLogicalTypeAnnotation() instanceof LogicalTypeAnnotation.JsonLogicalTypeAnnotation)) {
                missing.add(prefix + f.getKey() + " (an object in a plain column)");
            }
        }
        return missing;
    }
}
