package dev.glimpse.connectors.reprocess;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.apache.flink.core.io.SimpleVersionedSerializer;

/** Splits, and the enumerator's state (cursor and splits given back), in checkpoints. */
final class ImageSplitSerializer implements SimpleVersionedSerializer<ImageSplit> {
    static final ImageSplitSerializer INSTANCE = new ImageSplitSerializer();

    @Override
    public int getVersion() {
        return 1;
    }

    @Override
    public byte[] serialize(ImageSplit split) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (DataOutputStream out = new DataOutputStream(bytes)) {
            write(out, split);
        }
        return bytes.toByteArray();
    }

    @Override
    public ImageSplit deserialize(int version, byte[] serialized) throws IOException {
        try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(serialized))) {
            return read(in);
        }
    }

    static void write(DataOutputStream out, ImageSplit split) throws IOException {
        out.writeUTF(split.splitId());
        out.writeInt(split.position());
        out.writeInt(split.images().size());
        for (ListedImage image : split.images()) {
            writeNullable(out, image.id());
            out.writeInt(image.value().length);
            out.write(image.value());
            out.writeBoolean(image.envelope());
            out.writeUTF(image.sourceUri());
            out.writeLong(image.offset());
            out.writeLong(image.timestamp());
        }
    }

    static ImageSplit read(DataInputStream in) throws IOException {
        String id = in.readUTF();
        int position = in.readInt();
        int n = in.readInt();
        List<ListedImage> images = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            String imageId = readNullable(in);
            byte[] value = in.readNBytes(in.readInt());
            images.add(new ListedImage(imageId, value, in.readBoolean(), in.readUTF(), in.readLong(), in.readLong()));
        }
        return new ImageSplit(id, images, position);
    }

    static void writeNullable(DataOutputStream out, String s) throws IOException {
        out.writeBoolean(s != null);
        if (s != null) {
            out.writeUTF(s);
        }
    }

    static String readNullable(DataInputStream in) throws IOException {
        return in.readBoolean() ? in.readUTF() : null;
    }
}
