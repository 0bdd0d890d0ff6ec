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
        int exponent = (bits >>> 23) & 0xff;
        int mantissa = bits & 0x7fffff;
        if (exponent == 0xff) { // infinity stays infinity, NaN stays a (quiet) NaN
            return (short) (sign | 0x7c00 | (mantissa != 0 ? 0x200 : 0));
        }
        int e = exponent - 127 + 15; // the F16 exponent
        if (e >= 0x1f) {
            return (short) (sign | 0x7c00);
        }
        if (e <= 0) { // a subnormal F16 (or zero): value = m * 2^-24
            if (e < -10) {
                return (short) sign;
            }
            int full = mantissa | 0x800000;
            int shift = 14 - e;
            return (short) (sign | roundShift(full, shift));
        }
        // A carry out of the mantissa moves to the next exponent, up to infinity: still the nearest.
        return (short) (sign | ((e << 10) + roundShift(mantissa, 13)));
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
