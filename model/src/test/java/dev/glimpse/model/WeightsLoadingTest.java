package dev.glimpse.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** nanoVLM folders load with an explicit name table: every tensor checked, every problem named. */
class WeightsLoadingTest {
    /** Copies the reference model folder, rewriting its tensors with {@code edit}. */
    static Path copyWith(Path dir, UnaryOperator<NDList> edit) throws Exception {
        Path golden = ReferenceParityTest.golden();
        Files.copy(golden.resolve("config.json"), dir.resolve("config.json"));
        try (NDManager m = NDManager.newBaseManager(); InputStream in = Files.newInputStream(golden.resolve("model.safetensors"))) {
            NDList edited = edit.apply(NDList.decode(m, in));
            try (OutputStream out = Files.newOutputStream(dir.resolve("model.safetensors"))) {
                edited.encode(out, NDList.Encoding.SAFETENSORS);
            }
        }
        return dir;
    }

    /** Rewrites the reference weights as F16 or BF16, byte by byte (DJL aborts the JVM casting to BF16). */
    static Path copyAsHalf(Path dir, String dtype) throws Exception {
        Path golden = ReferenceParityTest.golden();
        Files.copy(golden.resolve("config.json"), dir.resolve("config.json"));
        StringBuilder header = new StringBuilder("{");
        java.io.ByteArrayOutputStream data = new java.io.ByteArrayOutputStream();
        try (NDManager m = NDManager.newBaseManager()) {
            for (var e : Safetensors.read(m, golden.resolve("model.safetensors")).entrySet()) {
                float[] f = e.getValue().toFloatArray();
                int begin = data.size();
                for (float v : f) {
                    int bits = Float.floatToIntBits(v);
                    short h = dtype.equals("BF16") ? (short) ((bits + 0x8000) >>> 16) : floatToHalf(v);
                    data.write(h & 0xFF);
                    data.write((h >>> 8) & 0xFF);
                }
                if (header.length() > 1) {
                    header.append(',');
                }
                header.append('"').append(e.getKey()).append("\":{\"dtype\":\"").append(dtype).append("\",\"shape\":")
                        .append(java.util.Arrays.toString(e.getValue().getShape().getShape()).replace(" ", ""))
                        .append(",\"data_offsets\":[").append(begin).append(',').append(data.size()).append("]}");
            }
        }
        byte[] h = header.append('}').toString().getBytes(java.nio.charset.StandardCharsets.UTF_8);
        java.nio.ByteBuffer len = java.nio.ByteBuffer.allocate(8).order(java.nio.ByteOrder.LITTLE_ENDIAN).putLong(h.length);
        try (OutputStream out = Files.newOutputStream(dir.resolve("model.safetensors"))) {
            out.write(len.array());
            out.write(h);
            data.writeTo(out);
        }
        return dir;
    }

    /** Round-to-nearest float to IEEE half, for the weights' range (no subnormal or overflow handling needed). */
    static short floatToHalf(float v) {
        int bits = Float.floatToIntBits(v);
        int sign = (bits >>> 16) & 0x8000;
        int exp = ((bits >>> 23) & 0xFF) - 127 + 15;
        if (exp <= 0) {
            return (short) sign;
        }
        int mantissa = (bits & 0x7FFFFF) + 0x1000;
        if ((mantissa & 0x800000) != 0) {
            mantissa = 0;
            exp++;
        }
        return (short) (sign | (exp << 10) | (mantissa >>> 13));
    }

    static List<ReferenceVerifier.Stage> verify(Path dir) throws Exception {
        try (VisionLanguageModel model = VisionLanguageModel.load(dir)) {
            return ReferenceVerifier.verify(model, ReferenceParityTest.golden().resolve("expected.safetensors"));
        }
    }

    @Test
    void shouldLoadHalfPrecisionCheckpoints(@TempDir Path f16, @TempDir Path bf16) throws Exception {
        for (var c : List.of(new Object[] {f16, "F16", 2e-2}, new Object[] {bf16, "BF16", 2e-1})) {
            Path dir = copyAsHalf((Path) c[0], (String) c[1]);
            List<ReferenceVerifier.Stage> stages = verify(dir);
            // Rounding the weights moves the floats a little; the pipeline still runs the same maths.
            assertThat(stages).filteredOn(s -> !s.exact())
                    .allSatisfy(s -> assertThat(s.maxAbsDiff()).as(c[1] + " " + s.name()).isLessThan((double) c[2]));
        }
    }

    @Test
    void shouldAcceptTheTiedHeadUnderTheEmbeddingName(@TempDir Path dir) throws Exception {
        copyWith(dir, l -> {
            for (NDArray a : l) {
                if (a.getName().equals("decoder.head.weight")) {
                    a.setName("decoder.token_embedding.weight");
                }
            }
            return l;
        });
        assertThat(verify(dir)).allSatisfy(s -> assertThat(s.pass()).as(s.name()).isTrue());
    }

    @Test
    void shouldNameEveryMissingUnexpectedOrMisShapedTensor(@TempDir Path dir) throws Exception {
        copyWith(dir, l -> {
            NDList out = new NDList();
            for (NDArray a : l) {
                String n = a.getName();
                if (n.equals("decoder.norm.weight")) {
                    continue; // missing
                }
                if (n.equals("MP.proj.weight")) {
                    NDArray wrong = a.reshape(96, 64);
                    wrong.setName(n);
                    out.add(wrong);
                    continue;
                }
                out.add(a);
            }
            NDArray extra = l.get(0).getManager().zeros(new ai.djl.ndarray.types.Shape(3));
            extra.setName("decoder.surprise");
            out.add(extra);
            return out;
        });
        assertThatThrownBy(() -> VisionLanguageModel.load(dir))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("missing tensor decoder.norm.weight")
                .hasMessageContaining("tensor MP.proj.weight has shape (96, 64), expected (48, 128)")
                .hasMessageContaining("unexpected tensor decoder.surprise");
    }

    @Test
    void shouldRecogniseTheFormatFromConfig() throws Exception {
        ModelConfig nano = ModelConfig.read(ReferenceParityTest.golden().resolve("config.json"));
        assertThat(nano.format()).isEqualTo(ModelConfig.Format.NANOVLM);
        assertThat(nano.promptTemplate).isEqualTo("Question: {prompt} Answer:");
        assertThat(nano.imageMean).isNull();
        assertThat(TestModels.tinyScenesConfig().format()).isEqualTo(ModelConfig.Format.GLIMPSE);
    }
}
