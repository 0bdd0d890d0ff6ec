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
 * The enumerator's checkpoint: where the listing's walk stands, the splits readers gave back after a
 * failure and not yet handed out again, and the number of the next split.
 */
public record ListingState(String cursor, List<ImageSplit> givenBack, long nextSplit) {
    static final SimpleVersionedSerializer<ListingState> SERIALIZER = new SimpleVersionedSerializer<>() {
        @Override
        public int getVersion() {
            return 1;
        }

        @Override
        public byte[] serialize(ListingState state) throws IOException {
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            try (DataOutputStream out = new DataOutputStream(bytes)) {
                ImageSplitSerializer.writeNullable(out, state.cursor());
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
            try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(serialized))) {
                String cursor = ImageSplitSerializer.readNullable(in);
                long next = in.readLong();
                int n = in.readInt();
                List<ImageSplit> back = new ArrayList<>(n);
                for (int i = 0; i < n; i++) {
                    back.add(ImageSplitSerializer.read(in));
                }
                return new ListingState(cursor, back, next);
            }
        }
    };
}
