package dev.glimpse.operators;

import java.lang.reflect.Type;
import java.util.Map;
import org.apache.flink.api.common.serialization.SerializerConfig;
import org.apache.flink.api.common.typeinfo.TypeInfoFactory;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeutils.TypeSerializer;

/**
 * {@link EmbeddedImage}'s type wherever Flink extracts it ({@code @TypeInfo} on the class): one
 * field-less value written by {@link EmbeddedImageSerializer}, patch embeddings in F16.
 */
public final class EmbeddedImageTypeInfo extends TypeInformation<EmbeddedImage> {
    private static final long serialVersionUID = 1L;

    /** The transport every graph gets. */
    public static final EmbeddedImageSerializer.Encoding DEFAULT = EmbeddedImageSerializer.Encoding.FLOAT16;

    /** What {@code TypeInformation.of(EmbeddedImage.class)} returns. */
    public static final class Factory extends TypeInfoFactory<EmbeddedImage> {
        @Override
        public TypeInformation<EmbeddedImage> createTypeInfo(Type t, Map<String, TypeInformation<?>> generics) {
            return new EmbeddedImageTypeInfo();
        }
    }

    @Override
    public boolean isBasicType() {
        return false;
    }

    @Override
    public boolean isTupleType() {
        return false;
    }

    @Override
    public int getArity() {
        return 1;
    }

    @Override
    public int getTotalFields() {
        return 1;
    }

    @Override
    public Class<EmbeddedImage> getTypeClass() {
        return EmbeddedImage.class;
    }

    @Override
    public boolean isKeyType() {
        return false;
    }

    @Override
    public TypeSerializer<EmbeddedImage> createSerializer(SerializerConfig config) {
        return new EmbeddedImageSerializer(DEFAULT);
    }

    @Override
    public String toString() {
        return "EmbeddedImage(patches " + DEFAULT.name().toLowerCase(java.util.Locale.ROOT) + ")";
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof EmbeddedImageTypeInfo;
    }

    @Override
    public int hashCode() {
        return EmbeddedImageTypeInfo.class.hashCode();
    }

    @Override
    public boolean canEqual(Object o) {
        return o instanceof EmbeddedImageTypeInfo;
    }
}
