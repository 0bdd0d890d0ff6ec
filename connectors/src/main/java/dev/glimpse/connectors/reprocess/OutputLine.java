package dev.glimpse.connectors.reprocess;

import dev.glimpse.operators.CaptionRecord;
import dev.glimpse.operators.DeadLetter;
import dev.glimpse.operators.OutputJson;

/**
 * One outcome of an image, as the sinks write it: a caption or a dead letter, with the JSON of the
 * captions topic's contract (or the dead-letter topic's). One type for both lets a single
 * transactional sink write them together.
 */
public class OutputLine {
    public String id;
    /** The dead letter's error code; null for a caption. */
    public String code;
    public byte[] json;

    public OutputLine() {}

    public OutputLine(String id, String code, byte[] json) {
        this.id = id;
        this.code = code;
        this.json = json;
    }

    public static OutputLine of(CaptionRecord c) {
        return new OutputLine(c.request.id, null, OutputJson.caption(c));
    }

    public static OutputLine of(DeadLetter d) {
        return new OutputLine(d.id != null ? d.id : d.source.coordinates(), d.code.name(), OutputJson.deadLetter(d));
    }

    public boolean deadLetter() {
        return code != null;
    }
}
