package dev.glimpse.operators;

import dev.glimpse.model.Float16;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.apache.flink.api.common.serialization.SerializerConfigImpl;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.api.common.typeutils.TypeSerializerSchemaCompatibility;
import org.apache.flink.api.common.typeutils.TypeSerializerSnapshot;
import org.apache.flink.core.memory.DataInputView;
import org.apache.flink.core.memory.DataOutputView;

/**
 * An {@link EmbeddedImage} on the wire between the CPU stages and the captioner: the request as
 * Flink's POJO serializer writes it, the view, tile and Qwen2-VL grid fields, then the patch
 * embeddings in the {@link Encoding} chosen (a Qwen2-VL record's pixels always in F32), F16 by default: half the bytes of F32 (a split SmolVLM image's 13 tiles
 * of {@code 1024 x 768} floats: 20.4 MB instead of 40.9 MB), each value rounded to 11 significant
 * bits. In-process copies ({@link #copy(EmbeddedImage)}) stay exact; no state holds these records.
 */
public final class EmbeddedImageSerializer extends TypeSerializer<EmbeddedImage> {
    private static final long serialVersionUID = 1L;

    /** How the patch embeddings travel. */
    public enum Encoding {
        FLOAT32(Float.BYTES), FLOAT16(2);

        final int bytes;

        Encoding(int bytes) {
            this.bytes = bytes;
        }
    }

    private final Encoding encoding;
    private final TypeSerializer<ImageRequest> requests;

    public EmbeddedImageSerializer(Encoding encoding) {
        this.encoding = encoding;
        this.requests = TypeInformation.of(ImageRequest.class).createSerializer(new SerializerConfigImpl());
    }

    public Encoding encoding() {
        return encoding;
    }

    @Override
    public boolean isImmutableType() {
        return false;
    }

    @Override
    public TypeSerializer<EmbeddedImage> duplicate() {
        return new EmbeddedImageSerializer(encoding);
    }

    @Override
    public EmbeddedImage createInstance() {
        return new EmbeddedImage();
    }

    @Override
    public EmbeddedImage copy(EmbeddedImage from) {
        EmbeddedImage e = new EmbeddedImage();
        e.request = from.request == null ? null : requests.copy(from.request);
        e.patches = from.patches == null ? null : from.patches.clone();
        e.views = from.views;
        e.viewConfidence = from.viewConfidence;
        e.tileRows = from.tileRows;
        e.tileCols = from.tileCols;
        e.gridT = from.gridT;
        e.gridH = from.gridH;
        e.gridW = from.gridW;
        return e;
    }

    @Override
    public EmbeddedImage copy(EmbeddedImage from, EmbeddedImage reuse) {
        return copy(from);
    }

    @Override
    public int getLength() {
        return -1;
    }

    @Override
    public void serialize(EmbeddedImage e, DataOutputView out) throws IOException {
        requests.serialize(e.request, out);
        out.writeInt(e.views);
        out.writeDouble(e.viewConfidence);
        out.writeInt(e.tileRows);
        out.writeInt(e.tileCols);
        out.writeInt(e.gridT);
        out.writeInt(e.gridH);
        out.writeInt(e.gridW);
        // A Qwen2-VL record carries the image's preprocessed pixels, not patch embeddings: exact, in F32.
        Encoding encoding = e.gridT > 0 ? Encoding.FLOAT32 : this.encoding;
        out.writeByte(encoding.ordinal());
        if (e.patches == null) {
            out.writeInt(-1);
            return;
        }
        float[] p = e.patches;
        out.writeInt(p.length);
        byte[] raw = new byte[p.length * encoding.bytes];
        if (encoding == Encoding.FLOAT16) {
            for (int i = 0; i < p.length; i++) { // little-endian, written by hand: a ByteBuffer's putShort is slower
                short h = Float16.fromFloat(p[i]);
                raw[2 * i] = (byte) h;
                raw[2 * i + 1] = (byte) (h >>> 8);
            }
        } else {
            ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().put(p);
        }
        out.write(raw);
    }

    @Override
    public EmbeddedImage deserialize(DataInputView in) throws IOException {
        EmbeddedImage e = new EmbeddedImage();
        e.request = requests.deserialize(in);
        e.views = in.readInt();
        e.viewConfidence = in.readDouble();
        e.tileRows = in.readInt();
        e.tileCols = in.readInt();
        e.gridT = in.readInt();
        e.gridH = in.readInt();
        e.gridW = in.readInt();
        Encoding written = Encoding.values()[in.readByte()]; // the writer's, whatever this serializer's
        int n = in.readInt();
        if (n < 0) {
            return e;
        }
        byte[] raw = new byte[n * written.bytes];
        in.readFully(raw);
        ByteBuffer bytes = ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN);
        float[] p = new float[n];
        if (written == Encoding.FLOAT16) {
            for (int i = 0; i < n; i++) {
                p[i] = Float16.toFloat((short) ((raw[2 * i] & 0xff) | (raw[2 * i + 1] << 8)));
            }
        } else {
            bytes.asFloatBuffer().get(p);
        }
        e.patches = p;
        return e;
    }

    @Override
    public EmbeddedImage deserialize(EmbeddedImage reuse, DataInputView in) throws IOException {
        return deserialize(in);
    }

    @Override
    public void copy(DataInputView in, DataOutputView out) throws IOException {
        serialize(deserialize(in), out);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof EmbeddedImageSerializer s && s.encoding == encoding;
    }

    @Override
    public int hashCode() {
        return encoding.hashCode();
    }

    @Override
    public TypeSerializerSnapshot<EmbeddedImage> snapshotConfiguration() {
        return new Snapshot(encoding);
    }

    /** The encoding is the serializer's whole configuration; every version reads every encoding. */
    public static final class Snapshot implements TypeSerializerSnapshot<EmbeddedImage> {
        private Encoding encoding = Encoding.FLOAT16;

        public Snapshot() {}

        Snapshot(Encoding encoding) {
            this.encoding = encoding;
        }

        @Override
        public int getCurrentVersion() {
            return 1;
        }

        @Override
        public void writeSnapshot(DataOutputView out) throws IOException {
            out.writeUTF(encoding.name());
        }

        @Override
        public void readSnapshot(int version, DataInputView in, ClassLoader loader) throws IOException {
            encoding = Encoding.valueOf(in.readUTF());
        }

        @Override
        public TypeSerializer<EmbeddedImage> restoreSerializer() {
            return new EmbeddedImageSerializer(encoding);
        }

        @Override
        public TypeSerializerSchemaCompatibility<EmbeddedImage> resolveSchemaCompatibility(
                TypeSerializerSnapshot<EmbeddedImage> old) {
            return old instanceof Snapshot ? TypeSerializerSchemaCompatibility.compatibleAsIs()
                    : TypeSerializerSchemaCompatibility.incompatible();
        }
    }
}
