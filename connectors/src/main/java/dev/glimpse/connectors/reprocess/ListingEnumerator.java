package dev.glimpse.connectors.reprocess;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import org.apache.flink.api.connector.source.SplitEnumerator;
import org.apache.flink.api.connector.source.SplitEnumeratorContext;

/**
 * Hands out the listing a split at a time, walking it only as readers ask for work: the JobManager
 * holds the walk's cursor and a window of names, never the whole listing.
 */
final class ListingEnumerator implements SplitEnumerator<ImageSplit, ListingState> {
    private final SplitEnumeratorContext<ImageSplit> context;
    private final Listing listing;
    private final int imagesPerSplit;
    private final Deque<ImageSplit> givenBack;
    private final String restoredCursor;
    private final String restoredOrder;
    private Listing.Walk walk;
    private String cursor;
    private long nextSplit;
    private boolean exhausted;

    ListingEnumerator(SplitEnumeratorContext<ImageSplit> context, Listing listing, int imagesPerSplit, ListingState restored) {
        this.context = context;
        this.listing = listing;
        this.imagesPerSplit = imagesPerSplit;
        this.givenBack = new ArrayDeque<>(restored == null ? List.of() : restored.givenBack());
        this.restoredCursor = restored == null ? null : restored.cursor();
        this.restoredOrder = restored == null ? Listing.NAME_ORDER : restored.order();
        this.cursor = restoredCursor;
        this.nextSplit = restored == null ? 0 : restored.nextSplit();
    }

    @Override
    public void start() {
        try {
            walk = restoredCursor == null ? listing.open(null) : listing.resume(restoredCursor, restoredOrder);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot open the listing " + listing, e);
        }
    }

    @Override
    public void handleSplitRequest(int subtask, String requesterHostname) {
        ImageSplit split = givenBack.poll();
        if (split == null && !exhausted) {
            List<ListedImage> images;
            try {
                images = walk.next(imagesPerSplit);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot walk the listing " + listing, e);
            }
            cursor = walk.cursor();
            if (images.isEmpty()) {
                exhausted = true;
            } else {
                split = new ImageSplit(String.valueOf(nextSplit++), images, 0);
            }
        }
        if (split != null) {
            context.assignSplit(split, subtask);
        } else {
            context.signalNoMoreSplits(subtask);
        }
    }

    @Override
    public void addSplitsBack(List<ImageSplit> splits, int subtaskId) {
        givenBack.addAll(splits);
    }

    @Override
    public void addReader(int subtaskId) {
        // Readers ask for splits themselves when they have none.
    }

    @Override
    public ListingState snapshotState(long checkpointId) {
        String order = walk == null ? restoredOrder : walk.order();
        return new ListingState(cursor, order, new ArrayList<>(givenBack), nextSplit);
    }

    @Override
    public void close() throws IOException {
        if (walk != null) {
            walk.close();
        }
    }
}
