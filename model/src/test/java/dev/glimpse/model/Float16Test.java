package dev.glimpse.model;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Random;
import org.junit.jupiter.api.Test;

class Float16Test {
    @Test
    void shouldGiveBackEveryF16ValueExactly() {
        for (int h = 0; h < 1 << 16; h++) {
            float f = Float16.toFloat((short) h);
            if (Float.isNaN(f)) {
                assertThat(Float16.fromFloat(f) & 0x7c00).isEqualTo(0x7c00);
                continue;
            }
            assertThat(Float16.fromFloat(f) & 0xffff).as("bits %04x", h).isEqualTo(h);
        }
    }

    @Test
    void shouldRoundToTheNearestF16TiesToEven() {
        Random rnd = new Random(3);
        for (int i = 0; i < 200_000; i++) {
            float f = (float) (rnd.nextGaussian() * Math.pow(10, rnd.nextInt(12) - 7));
            short h = Float16.fromFloat(f);
            float got = Float16.toFloat(h);
            // No other F16 is nearer: the neighbours on either side are at least as far.
            float below = Float16.toFloat((short) (h - 1));
            float above = Float16.toFloat((short) (h + 1));
            for (float neighbour : new float[] {below, above}) {
                if (!Float.isNaN(neighbour)) { // past the largest pattern of either sign
                    assertThat(Math.abs(got - f)).as("%s", f).isLessThanOrEqualTo(Math.abs(neighbour - f));
                }
            }
        }
        // 1 + 2^-11 lies halfway between 1 and 1 + 2^-10: to the even mantissa, 1.
        assertThat(Float16.toFloat(Float16.fromFloat(1f + 0x1p-11f))).isEqualTo(1f);
        assertThat(Float16.toFloat(Float16.fromFloat(1f + 3 * 0x1p-11f))).isEqualTo(1f + 0x1p-9f);
        assertThat(Float16.toFloat(Float16.fromFloat(70000f))).isEqualTo(Float.POSITIVE_INFINITY);
        assertThat(Float16.toFloat(Float16.fromFloat(-0x1p-24f))).isEqualTo(-0x1p-24f);
        assertThat(Float16.toFloat(Float16.fromFloat(0x1p-26f))).isEqualTo(0f);
    }
}
