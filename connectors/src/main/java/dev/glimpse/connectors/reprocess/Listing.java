package dev.glimpse.connectors.reprocess;

import java.io.Closeable;
import java.io.IOException;
import java.io.Serializable;
import java.util.List;

/**
 * What a bounded source reads, walked lazily from a cursor: the enumerator asks for a few images at
 * a time, as readers ask for work, so a listing of millions never sits in memory; the cursor (a short
 * string) and the order it follows are all the enumerator checkpoints.
 */
public interface Listing extends Serializable {
    /**
     * The order of a walk that follows its listing's own structure: a folder tree's paths in name
     * order, depth first, or a manifest's byte offsets. Every cursor of a version 1 checkpoint is one.
     */
    String NAME_ORDER = "name";

    /** The order of S3's object listing: the cursor is a key under the prefix, the listing's start-after. */
    String KEY_ORDER = "key";

    /** Starts after {@code cursor} (null: from the beginning). */
    Walk open(String cursor) throws IOException;

    /**
     * Continues after {@code cursor}, taken from a walk in {@code order} (a restored checkpoint's,
     * perhaps written before this listing's walks changed order): the walk keeps that order, so no image
     * is skipped or read twice.
     */
    default Walk resume(String cursor, String order) throws IOException {
        if (!NAME_ORDER.equals(order)) {
            throw new IOException("the listing " + this + " cannot continue a cursor in " + order + " order");
        }
        return open(cursor);
    }

    /** A walk in a fixed order. */
    interface Walk extends Closeable {
        /** The next images, at most {@code max}; empty at the end. */
        List<ListedImage> next(int max) throws IOException;

        /** Where the walk stands: {@link Listing#resume} with it and {@link #order} continues after the last image returned. */
        String cursor();

        /** The order of its cursors ({@link #NAME_ORDER}, {@link #KEY_ORDER}). */
        default String order() {
            return NAME_ORDER;
        }

        @Override
        default void close() throws IOException {}
    }
}
