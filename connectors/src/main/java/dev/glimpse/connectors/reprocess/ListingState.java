package dev.glimpse.connectors.reprocess;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.apache.flink.core.io.SimpleVersionedSerializer;

/**
 * The enumerator's checkpoint: where the listing's walk stands (its cursor, and the order the cursor
 * follows: {@link Listing#NAME_ORDER}, or {@link Listing#KEY_ORDER} where the cursor is S3's start-after
 * key), the splits readers gave back after a failure and not yet handed out again, and the number of
 * the next split.
 */
public record ListingState(String cursor, String order, List<ImageSplit> givenBack, long nextSplit) {
    /**
     * Version 2 adds the cursor's order; version 1 (cursor, next split, splits given back) is read as a
     * cursor in {@link Listing#NAME_ORDER}, the only order of its time.
     */
    static final SimpleVersionedSerializer<ListingState> SERIALIZER = new SimpleVersionedSerializer<>() {
        @Override
        public int getVersion() {
            return 2;
        }

        @Override
        public byte[] serialize(ListingState state) throws IOException {
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            try (DataOutputStream out = new DataOutputStream(bytes)) {
                ImageSplitSerializer.writeNullable(out, state.cursor());
                out.writeUTF(state.order());
                out.writeLong(state.nextSplit());
                out.writeInt(state.givenBack().size());
                for (ImageSplit s : state.givenBack()) {
                    ImageSplitSerializer.write(out, s);
                }
            }
            return bytes.toByteArray();
        }

        @Override
        public ListingState deserialize(int version, byte[] serialized) throws IOException {
            if (version != 1 && version != 2) {
                throw new IOException("unknown version " + version + " of the listing's checkpoint (this build reads 1 and 2)");
            }
            try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(serialized))) {
                String cursor = ImageSplitSerializer.readNullable(in);
                String order = version == 1 ? Listing.NAME_ORDER : in.readUTF();
                long next = in.readLong();
                int n = in.readInt();
                List<ImageSplit> back = new ArrayList<>(n);
                for (int i = 0; i < n; i++) {
                    back.add(ImageSplitSerializer.read(in));
                }
                return new ListingState(cursor, order, back, next);
            }
        }
    };
}
