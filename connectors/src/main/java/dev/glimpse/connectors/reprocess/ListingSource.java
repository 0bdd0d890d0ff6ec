package dev.glimpse.connectors.reprocess;

import dev.glimpse.operators.ImageEvent;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.connector.source.Boundedness;
import org.apache.flink.api.connector.source.Source;
import org.apache.flink.api.connector.source.SourceReader;
import org.apache.flink.api.connector.source.SourceReaderContext;
import org.apache.flink.api.connector.source.SplitEnumerator;
import org.apache.flink.api.connector.source.SplitEnumeratorContext;
import org.apache.flink.api.java.typeutils.ResultTypeQueryable;
import org.apache.flink.core.io.SimpleVersionedSerializer;

/**
 * A bounded source over a {@link Listing} (a folder tree, a manifest): the enumerator walks it
 * lazily as readers request splits of a few images, unlike Flink's {@code FileSource}, which lists
 * every path into the JobManager at start (and once more to infer its parallelism).
 */
public final class ListingSource implements Source<ImageEvent, ImageSplit, ListingState>, ResultTypeQueryable<ImageEvent> {
    /** Small splits: readers share the work evenly and a restored split replays little. */
    static final int IMAGES_PER_SPLIT = 8;

    private final Listing listing;
    private final String defaultPrompt;

    /** {@code defaultPrompt}: the prompt of every image whose envelope gives none (null: the model's). */
    public ListingSource(Listing listing, String defaultPrompt) {
        this.listing = listing;
        this.defaultPrompt = defaultPrompt;
    }

    @Override
    public Boundedness getBoundedness() {
        return Boundedness.BOUNDED;
    }

    @Override
    public SourceReader<ImageEvent, ImageSplit> createReader(SourceReaderContext context) {
        return new ListingReader(context, defaultPrompt);
    }

    @Override
    public SplitEnumerator<ImageSplit, ListingState> createEnumerator(SplitEnumeratorContext<ImageSplit> context) {
        return new ListingEnumerator(context, listing, IMAGES_PER_SPLIT, null);
    }

    @Override
    public SplitEnumerator<ImageSplit, ListingState> restoreEnumerator(SplitEnumeratorContext<ImageSplit> context,
                                                                      ListingState checkpoint) {
        return new ListingEnumerator(context, listing, IMAGES_PER_SPLIT, checkpoint);
    }

    @Override
    public SimpleVersionedSerializer<ImageSplit> getSplitSerializer() {
        return ImageSplitSerializer.INSTANCE;
    }

    @Override
    public SimpleVersionedSerializer<ListingState> getEnumeratorCheckpointSerializer() {
        return ListingState.SERIALIZER;
    }

    @Override
    public TypeInformation<ImageEvent> getProducedType() {
        return TypeInformation.of(ImageEvent.class);
    }
}
