package dev.glimpse.operators;

import static org.assertj.core.api.Assertions.assertThat;

import dev.glimpse.model.Float16;
import java.io.IOException;
import java.util.Random;
import org.apache.flink.api.common.serialization.SerializerConfigImpl;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.api.common.typeutils.TypeSerializerSnapshot;
import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.core.memory.DataOutputSerializer;
import org.junit.jupiter.api.Test;

class EmbeddedImageSerializerTest {
    private static EmbeddedImage tiledImage(int floats) {
        ImageRequest r = new ImageRequest();
        r.id = "image-7";
        r.prompt = "Describe the image.";
        r.maxNewTokens = 20;
        r.source = new SourceRef("images", 1, 42, 1000);
        float[] patches = new float[floats];
        Random rnd = new Random(5);
        for (int i = 0; i < patches.length; i++) {
            patches[i] = (float) (rnd.nextGaussian() * 2);
        }
        return EmbeddedImage.tiled(r, patches, 2, 3);
    }

    private static byte[] write(TypeSerializer<EmbeddedImage> s, EmbeddedImage e) throws IOException {
        DataOutputSerializer out = new DataOutputSerializer(1024);
        s.serialize(e, out);
        return out.getCopyOfBuffer();
    }

    @Test
    void shouldCarryAQwen2VlRecordsGridAndItsPixelsExactly() throws IOException {
        EmbeddedImage tiled = tiledImage(2 * 4 * 6 * 16);
        EmbeddedImage e = EmbeddedImage.qwen2Vl(tiled.request, tiled.patches, 2, 4, 6);
        EmbeddedImageSerializer s = new EmbeddedImageSerializer(EmbeddedImageSerializer.Encoding.FLOAT16);
        EmbeddedImage back = s.deserialize(new DataInputDeserializer(write(s, e)));
        assertThat(new int[] {back.gridT, back.gridH, back.gridW}).containsExactly(2, 4, 6);
        // Preprocessed pixels, not patch embeddings: they travel in F32 whatever the serializer's encoding.
        assertThat(back.patches).containsExactly(e.patches);
        EmbeddedImage copy = s.copy(e);
        assertThat(new int[] {copy.gridT, copy.gridH, copy.gridW}).containsExactly(2, 4, 6);
    }

    @Test
    void shouldCarryThePatchesInHalfTheBytesRoundedToTheNearestF16() throws IOException {
        EmbeddedImage e = tiledImage(7 * 64 * 48);
        byte[] half = write(new EmbeddedImageSerializer(EmbeddedImageSerializer.Encoding.FLOAT16), e);
        byte[] full = write(new EmbeddedImageSerializer(EmbeddedImageSerializer.Encoding.FLOAT32), e);
        assertThat(full.length - half.length).isEqualTo(2 * e.patches.length);

        // Whatever the reader's own encoding, it reads the writer's.
        EmbeddedImage back = new EmbeddedImageSerializer(EmbeddedImageSerializer.Encoding.FLOAT32)
                .deserialize(new DataInputDeserializer(half));
        assertThat(back.request.id).isEqualTo("image-7");
        assertThat(back.request.prompt).isEqualTo("Describe the image.");
        assertThat(back.request.source.offset).isEqualTo(42);
        assertThat(back.tileRows).isEqualTo(2);
        assertThat(back.tileCols).isEqualTo(3);
        assertThat(back.tiles()).isEqualTo(7);
        assertThat(back.patches).hasSameSizeAs(e.patches);
        boolean changed = false;
        for (int i = 0; i < e.patches.length; i++) {
            assertThat(back.patches[i]).isEqualTo(Float16.toFloat(Float16.fromFloat(e.patches[i])));
            changed |= back.patches[i] != e.patches[i];
        }
        assertThat(changed).as("F16 rounds").isTrue();

        EmbeddedImage exact = new EmbeddedImageSerializer(EmbeddedImageSerializer.Encoding.FLOAT16)
                .deserialize(new DataInputDeserializer(full));
        assertThat(exact.patches).containsExactly(e.patches);
    }

    @Test
    void shouldBeTheTypeFlinkGivesEveryGraphWithAnExactInProcessCopy() throws IOException {
        TypeInformation<EmbeddedImage> type = TypeInformation.of(EmbeddedImage.class);
        assertThat(type).isInstanceOf(EmbeddedImageTypeInfo.class);
        TypeSerializer<EmbeddedImage> s = type.createSerializer(new SerializerConfigImpl());
        assertThat(((EmbeddedImageSerializer) s).encoding()).isEqualTo(EmbeddedImageSerializer.Encoding.FLOAT16);

        EmbeddedImage e = tiledImage(300);
        EmbeddedImage copy = s.copy(e);
        assertThat(copy.patches).containsExactly(e.patches).isNotSameAs(e.patches);
        assertThat(copy.request).isNotSameAs(e.request);
        assertThat(copy.request.id).isEqualTo(e.request.id);

        TypeSerializerSnapshot<EmbeddedImage> snapshot = s.snapshotConfiguration();
        DataOutputSerializer out = new DataOutputSerializer(64);
        TypeSerializerSnapshot.writeVersionedSnapshot(out, snapshot);
        TypeSerializerSnapshot<EmbeddedImage> read = TypeSerializerSnapshot.readVersionedSnapshot(
                new DataInputDeserializer(out.getCopyOfBuffer()), getClass().getClassLoader());
        assertThat(read.restoreSerializer()).isEqualTo(s);
        assertThat(read.resolveSchemaCompatibility(snapshot).isCompatibleAsIs()).isTrue();
    }
}
