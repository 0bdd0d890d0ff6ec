package dev.glimpse.job.reprocess;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.glimpse.operators.CaptionRecord;
import dev.glimpse.operators.DeadLetter;
import dev.glimpse.operators.ErrorCode;
import dev.glimpse.operators.ImageRequest;
import dev.glimpse.operators.OutputJson;
import dev.glimpse.operators.SourceRef;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import org.apache.parquet.schema.GroupType;
import org.apache.parquet.schema.LogicalTypeAnnotation;
import org.apache.parquet.schema.Type;
import org.junit.jupiter.api.Test;

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
