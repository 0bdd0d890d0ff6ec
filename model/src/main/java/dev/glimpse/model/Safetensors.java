package dev.glimpse.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Reads safetensors files tensor by tensor from a memory map, widening F16 and BF16 to F32 in Java.
 * DJL's own reader loads a file whole (2 GB at most) and aborts the JVM on BF16 tensors, which real
 * checkpoints use; this one does neither.
 */
public final class Safetensors {
    private static final ObjectMapper JSON = new ObjectMapper();

    private Safetensors() {}

    /** Every tensor of {@code file} as an F32 (floats) or I64 (integers, bytes) array, by name, in file order. */
    public static Map<String, NDArray> read(NDManager manager, Path file) throws IOException {
        Map<String, NDArray> out = new LinkedHashMap<>();
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long headerLength = headerLength(ch, file);
            JsonNode root = header(ch, headerLength);
            long dataStart = 8 + headerLength;
            Iterator<Map.Entry<String, JsonNode>> it = root.fields();
            while (it.hasNext()) {
                Map.Entry<String, JsonNode> e = it.next();
                if (e.getKey().equals("__metadata__")) {
                    continue;
                }
                JsonNode t = e.getValue();
                long[] dims = new long[t.get("shape").size()];
                for (int i = 0; i < dims.length; i++) {
                    dims[i] = t.get("shape").get(i).asLong();
                }
                long begin = t.get("data_offsets").get(0).asLong();
                long end = t.get("data_offsets").get(1).asLong();
                if (begin < 0 || end < begin || dataStart + end > ch.size()) {
                    throw new IOException(file + ": tensor " + e.getKey() + " lies outside the file");
                }
                ByteBuffer data = ch.map(FileChannel.MapMode.READ_ONLY, dataStart + begin, end - begin)
                        .order(ByteOrder.LITTLE_ENDIAN);
                NDArray a = toArray(manager, t.get("dtype").asText(), new Shape(dims), data, e.getKey());
                a.setName(e.getKey());
                out.put(e.getKey(), a);
            }
        }
        return out;
    }

    /** The number of values in all tensors of {@code file}, from its header alone (no tensor is read). */
    public static long parameterCount(Path file) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long count = 0;
            Iterator<Map.Entry<String, JsonNode>> it = header(ch, headerLength(ch, file)).fields();
            while (it.hasNext()) {
                Map.Entry<String, JsonNode> e = it.next();
                if (!e.getKey().equals("__metadata__")) {
                    long n = 1;
                    for (JsonNode d : e.getValue().get("shape")) {
                        n *= d.asLong();
                    }
                    count += n;
                }
            }
            return count;
        }
    }

    private static long headerLength(FileChannel ch, Path file) throws IOException {
        ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
        ch.read(len, 0);
        long headerLength = len.getLong(0);
        if (headerLength <= 0 || headerLength > Math.min(ch.size() - 8, 100L << 20)) {
            throw new IOException(file + " is not a safetensors file (header length " + headerLength + ")");
        }
        return headerLength;
    }

    private static JsonNode header(FileChannel ch, long headerLength) throws IOException {
        ByteBuffer header = ByteBuffer.allocate((int) headerLength);
        ch.read(header, 8);
        return JSON.readTree(header.array());
    }

    private static NDArray toArray(NDManager m, String dtype, Shape shape, ByteBuffer data, String name) throws IOException {
        int n = Math.toIntExact(shape.size());
        switch (dtype) {
            case "F32": {
                float[] f = new float[n];
                data.asFloatBuffer().get(f);
                return m.create(f, shape);
            }
            case "F16": {
                float[] f = new float[n];
                for (int i = 0; i < n; i++) {
                    f[i] = halfToFloat(data.getShort(2 * i));
                }
                return m.create(f, shape);
            }
            case "BF16": {
                float[] f = new float[n];
                for (int i = 0; i < n; i++) {
                    f[i] = Float.intBitsToFloat((data.getShort(2 * i) & 0xFFFF) << 16);
                }
                return m.create(f, shape);
            }
            case "F64": {
                float[] f = new float[n];
                for (int i = 0; i < n; i++) {
                    f[i] = (float) data.getDouble(8 * i);
                }
                return m.create(f, shape);
            }
            case "I64": {
                long[] l = new long[n];
                data.asLongBuffer().get(l);
                return m.create(l, shape);
            }
            case "U8": {
                long[] l = new long[n];
                for (int i = 0; i < n; i++) {
                    l[i] = data.get(i) & 0xFF;
                }
                return m.create(l, shape);
            }
            case "I32": {
                long[] l = new long[n];
                for (int i = 0; i < n; i++) {
                    l[i] = data.getInt(4 * i);
                }
                return m.create(l, shape);
            }
            default:
                throw new IOException("tensor " + name + " has unsupported dtype " + dtype);
        }
    }

    /** IEEE 754 half precision to float, subnormals, infinities and NaN included. */
    static float halfToFloat(short h) {
        int bits = h & 0xFFFF;
        int sign = (bits & 0x8000) << 16;
        int exp = (bits >>> 10) & 0x1F;
        int mantissa = bits & 0x3FF;
        if (exp == 0x1F) {
            return Float.intBitsToFloat(sign | 0x7F800000 | (mantissa << 13));
        }
        if (exp == 0) {
            if (mantissa == 0) {
                return Float.intBitsToFloat(sign);
            }
            float v = mantissa / 1024f * (1f / 16384f); // 2^-14 · m/2^10
            return sign == 0 ? v : -v;
        }
        return Float.intBitsToFloat(sign | ((exp + 112) << 23) | (mantissa << 13));
    }
}
