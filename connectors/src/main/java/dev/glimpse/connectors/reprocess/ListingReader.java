package dev.glimpse.connectors.reprocess;

import dev.glimpse.operators.ImageEvent;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.apache.flink.api.connector.source.ReaderOutput;
import org.apache.flink.api.connector.source.SourceReader;
import org.apache.flink.api.connector.source.SourceReaderContext;
import org.apache.flink.core.io.InputStatus;

/**
 * Emits the images of its splits one by one, asking the enumerator for the next split when it runs
 * dry. Every method runs in the task's mailbox thread, so no locking; a checkpoint keeps each split
 * with how far it got.
 */
final class ListingReader implements SourceReader<ImageEvent, ImageSplit> {
    private final SourceReaderContext context;
    private final String defaultPrompt;
    private final Deque<ImageSplit> splits = new ArrayDeque<>();
    private CompletableFuture<Void> available = new CompletableFuture<>();
    private boolean requested;
    private boolean noMoreSplits;

    ListingReader(SourceReaderContext context, String defaultPrompt) {
        this.context = context;
        this.defaultPrompt = defaultPrompt;
    }

    @Override
    public void start() {
        if (splits.isEmpty()) {
            request();
        }
    }

    @Override
    public InputStatus pollNext(ReaderOutput<ImageEvent> output) {
        ImageSplit split = splits.peek();
        while (split != null && split.finished()) {
            splits.poll();
            split = splits.peek();
        }
        if (split == null) {
            if (noMoreSplits) {
                return InputStatus.END_OF_INPUT;
            }
            request();
            return InputStatus.NOTHING_AVAILABLE;
        }
        output.collect(split.images().get(split.position()).toEvent(defaultPrompt));
        splits.poll();
        splits.addFirst(split.advancedTo(split.position() + 1));
        return InputStatus.MORE_AVAILABLE;
    }

    private void request() {
        if (!requested) {
            requested = true;
            if (available.isDone()) {
                available = new CompletableFuture<>();
            }
            context.sendSplitRequest();
        }
    }

    @Override
    public List<ImageSplit> snapshotState(long checkpointId) {
        List<ImageSplit> open = new ArrayList<>();
        for (ImageSplit s : splits) {
            if (!s.finished()) {
                open.add(s);
            }
        }
        return open;
    }

    @Override
    public CompletableFuture<Void> isAvailable() {
        return splits.isEmpty() && !noMoreSplits ? available : CompletableFuture.completedFuture(null);
    }

    @Override
    public void addSplits(List<ImageSplit> newSplits) {
        splits.addAll(newSplits);
        requested = false;
        available.complete(null);
    }

    @Override
    public void notifyNoMoreSplits() {
        noMoreSplits = true;
        available.complete(null);
    }

    @Override
    public void close() {}
}
