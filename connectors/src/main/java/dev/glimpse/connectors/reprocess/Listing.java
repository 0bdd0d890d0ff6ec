package dev.glimpse.connectors.reprocess;

import java.io.Closeable;
import java.io.IOException;
import java.io.Serializable;
import java.util.List;

/**
 * What a bounded source reads, walked lazily from a cursor: the enumerator asks for a few images at
 * a time, as readers ask for work, so a listing of millions never sits in memory; the cursor (a short
 * string) is all the enumerator checkpoints.
 */
public interface Listing extends Serializable {
    /** Starts after {@code cursor} (null: from the beginning). */
    Walk open(String cursor) throws IOException;

    /** A walk in a fixed order. */
    interface Walk extends Closeable {
        /** The next images, at most {@code max}; empty at the end. */
        List<ListedImage> next(int max) throws IOException;

        /** Where the walk stands: {@link Listing#open} with it continues after the last image returned. */
        String cursor();

        @Override
        default void close() throws IOException {}
    }
}
