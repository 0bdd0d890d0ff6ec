package dev.glimpse.connectors.reprocess;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/** Outcomes written as JSON lines (a sink's files, {@code bin/glimpse tail}'s output), read back for the gallery. */
public final class OutcomeLines {
    private static final ObjectMapper JSON = new ObjectMapper();

    private OutcomeLines() {}

    /** One JSON object per non-blank line of {@code lines}; a line that is no JSON fails with {@code name} and its number. */
    public static List<JsonNode> read(BufferedReader lines, String name) throws IOException {
        List<JsonNode> records = new ArrayList<>();
        String line;
        int number = 0;
        while ((line = lines.readLine()) != null) {
            number++;
            if (!line.isBlank()) {
                try {
                    records.add(JSON.readTree(line));
                } catch (IOException e) {
                    throw new IllegalArgumentException(name + " line " + number + " is not JSON: " + e.getMessage(), e);
                }
            }
        }
        return records;
    }
}
