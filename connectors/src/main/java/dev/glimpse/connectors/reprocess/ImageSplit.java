package dev.glimpse.connectors.reprocess;

import java.util.List;
import org.apache.flink.api.connector.source.SourceSplit;

/**
 * A few images of a listing, handed to one reader; {@code position} is how many of them the reader
 * has already emitted (what a checkpoint keeps of a split in progress).
 */
public record ImageSplit(String splitId, List<ListedImage> images, int position) implements SourceSplit {
    ImageSplit advancedTo(int newPosition) {
        return new ImageSplit(splitId, images, newPosition);
    }

    boolean finished() {
        return position >= images.size();
    }
}
