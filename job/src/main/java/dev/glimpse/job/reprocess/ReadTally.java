package dev.glimpse.job.reprocess;

import dev.glimpse.operators.ImageEvent;
import dev.glimpse.operators.ImageIds;
import org.apache.flink.util.Collector;

/**
 * Right after the source: drops the images that already have an outcome in the sink (with
 * {@code --skip-existing}), before anything decodes them, and counts those it lets through and those
 * it skips.
 */
final class ReadTally extends Tally<ImageEvent, ImageEvent> {
    static final String NAME = "read";
    static final String IMAGES = "images";
    static final String SKIPPED = "skipped";

    /** Null: skip nothing. */
    private final ExistingIds.Loader existing;
    private transient ExistingIds ids;

    ReadTally(String runId, ExistingIds.Loader existing) {
        super(runId, NAME);
        this.existing = existing;
    }

    @Override
    public void open(org.apache.flink.api.common.functions.OpenContext openContext) throws Exception {
        super.open(openContext);
        ids = existing == null ? ExistingIds.NONE : existing.load();
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
