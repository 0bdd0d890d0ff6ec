package dev.glimpse.connectors.reprocess;

import dev.glimpse.operators.ImageEvent;
import dev.glimpse.operators.ImageIds;
import java.io.IOException;
import org.apache.flink.runtime.execution.SuppressRestartsException;
import org.apache.flink.util.Collector;

/**
 * Right after the source: drops the images that already have an outcome in the sink (with
 * {@code --skip-existing}), before anything decodes them, and counts those it lets through and those
 * it skips.
 */
public final class ReadTally extends Tally<ImageEvent, ImageEvent> {
    static final String NAME = "read";
    static final String IMAGES = "images";
    static final String SKIPPED = "skipped";

    /** Null: skip nothing. */
    private final ExistingIds.Loader existing;
    private transient ExistingIds ids;

    public ReadTally(String runId, ExistingIds.Loader existing) {
        super(runId, NAME);
        this.existing = existing;
    }

    @Override
    public void open(org.apache.flink.api.common.functions.OpenContext openContext) throws Exception {
        super.open(openContext);
        try {
            ids = existing == null ? ExistingIds.NONE : existing.load();
        } catch (IOException | RuntimeException e) {
            // A restart would read the same sink and fail the same way: end the run (exit 1) rather
            // than restart it until --timeout.
            throw new SuppressRestartsException(new IOException(
                    "--skip-existing: cannot read the ids of the outcomes already in the sink: "
                    + (e.getMessage() != null ? e.getMessage() : e.toString()), e));
        }
    }

    @Override
    public void flatMap(ImageEvent event, Collector<ImageEvent> out) {
        if (ids.size() > 0 && ids.contains(ImageIds.of(event))) {
            count(SKIPPED);
            return;
        }
        count(IMAGES);
        out.collect(event);
    }
}
