package dev.glimpse.model;

/**
 * IEEE 754 half precision (F16) from and to F32 in plain Java (Java 17 has no
 * {@code Float.floatToFloat16}): rounding to nearest, ties to even, subnormals kept, beyond
 * ±65504 infinity. Patch embeddings cross the network in it at half their F32 bytes; their
 * values (a few units at most) keep 11 significant bits.
 */
public final class Float16 {
    /** Every F16 bit pattern's value: decoding is one table read. */
    private static final float[] VALUES = new float[1 << 16];

    static {
        for (int h = 0; h < VALUES.length; h++) {
            VALUES[h] = decode(h);
        }
    }

    private Float16() {}

    /** The F16 nearest to {@code f} (ties to even), as its 16 bits. */
    public static short fromFloat(float f) {
        int bits = Float.floatToRawIntBits(f);
        int sign = (bits >>> 16) & 0x8000;
        int abs = bits & 0x7fffffff;
        if (abs >= 0x38800000 && abs < 0x477ff000) {
            // A normal F16 (the common case, no branch on the rounding): add just under half a unit of
            // the kept bits, plus one when the kept part is odd, then rebias the exponent (127 -> 15).
            // A carry out of the mantissa moves to the next exponent: still the nearest.
            int rounded = abs + 0xfff + ((abs >>> 13) & 1);
            return (short) (sign | ((rounded - 0x38000000) >>> 13));
        }
        int exponent = abs >>> 23;
        int mantissa = abs & 0x7fffff;
        if (exponent == 0xff) { // infinity stays infinity, NaN stays a (quiet) NaN
            return (short) (sign | 0x7c00 | (mantissa != 0 ? 0x200 : 0));
        }
        if (abs >= 0x477ff000) { // 65520 and above round past the largest F16, 65504
            return (short) (sign | 0x7c00);
        }
        int e = exponent - 127 + 15; // at most 0 here: a subnormal F16 (or zero), value = m * 2^-24
        if (e < -10) {
            return (short) sign;
        }
        return (short) (sign | roundShift(mantissa | 0x800000, 14 - e));
    }

    /** {@code value >> shift}, rounded to nearest, ties to even. */
    private static int roundShift(int value, int shift) {
        int kept = value >> shift;
        int rest = value & ((1 << shift) - 1);
        int half = 1 << (shift - 1);
        return rest > half || (rest == half && (kept & 1) != 0) ? kept + 1 : kept;
    }

    /** Replaces each of {@code values} by its nearest F16, as a round trip through F16 leaves it; returns {@code values}. */
    public static float[] round(float[] values) {
        for (int i = 0; i < values.length; i++) {
            values[i] = toFloat(fromFloat(values[i]));
        }
        return values;
    }

    /** The value of the F16 {@code h}. */
    public static float toFloat(short h) {
        return VALUES[h & 0xffff];
    }

    private static float decode(int h) {
        int sign = (h & 0x8000) << 16;
        int e = (h >>> 10) & 0x1f;
        int m = h & 0x3ff;
        if (e == 0) {
            float v = m * 0x1p-24f;
            return sign != 0 ? -v : v;
        }
        if (e == 0x1f) {
            return Float.intBitsToFloat(sign | 0x7f800000 | (m << 13));
        }
        return Float.intBitsToFloat(sign | ((e - 15 + 127) << 23) | (m << 13));
    }
}
