package dev.glimpse.bench;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDManager;
import dev.glimpse.model.EngineDtype;
import dev.glimpse.model.Qwen2VlConfig;
import dev.glimpse.model.Qwen2VlFlops;
import dev.glimpse.model.Qwen2VlModel;
import org.junit.jupiter.api.Test;

/** {@code bench} on a Qwen2-VL model: its rows carry the floor of their type, as the other presets' rows. */
class Qwen2VlBenchTest {

    /** A Qwen2-VL of a few thousand weights (and the 2B model's vocabulary, whose token ids the rows use). */
    private static Qwen2VlConfig tiny() {
        return new Qwen2VlConfig(1, 16, 2, 32, 14, 2, 2,
                32, 64, 4, 2, 1, 151936, 1e-6, 1_000_000.0, new int[] {2, 1, 1}, true,
                151655, 151652, 151653, new long[0], 151643,
                3136, 4 * 3136, new float[] {0.5f, 0.5f, 0.5f}, new float[] {0.5f, 0.5f, 0.5f}, 1 / 255.0,
                3, "", "qwen2vl-test (random weights)");
    }

    @Test
    void shouldPutEachRowBesideTheFloorOfItsType() {
        System.setProperty("ai.djl.offline", "true");
        Qwen2VlBench bench = new Qwen2VlBench(56, 3, 0, false);
        MachineFloor[] floors = new MachineFloor[2];
        EngineDtype[] dtypes = {EngineDtype.FLOAT32, EngineDtype.BFLOAT16};
        for (int d = 0; d < 2; d++) {
            try (Qwen2VlModel m = Qwen2VlModel.random(tiny(), 7, null)) {
                m.castTo(dtypes[d]);
                try (NDManager scratch = m.manager().newSubManager()) {
                    floors[d] = MachineFloor.measure(scratch, 128, 1 << 18, 1, m.dtype());
                    bench.add(m, new int[] {1, 2}, floors[d]);
                }
            }
        }
        BenchReport report = bench.report();
        assertThat(report.size()).isEqualTo(4);
        assertThat(report.columns()).contains("GFLOP/s", "% matmul", "floor ms", "% floor");
        // A 56 px photo: 4 x 4 patches, 2 x 2 merged tokens; 8 + 1 + 4 + 1 + 8 prompt ids.
        Qwen2VlFlops flops = new Qwen2VlFlops(tiny(), 16);
        for (int i = 0; i < 4; i++) {
            assertThat(report.value(i, "prefill")).isEqualTo(22);
            double latency = ((Number) report.value(i, "latency ms")).doubleValue();
            double gflops = ((Number) report.value(i, "GFLOP/s")).doubleValue();
            int batch = ((Number) report.value(i, "batch")).intValue();
            assertThat(gflops).isCloseTo(batch * flops.caption(1, 22, 3) / latency / 1e6, org.assertj.core.data.Percentage.withPercentage(1e-6));
            // The floor of the row's own type: the F32 rows' from the F32 model's floor, the BF16 rows' from the BF16 one's.
            MachineFloor floor = floors[i / 2];
            double floorMs = ((Number) report.value(i, "floor ms")).doubleValue();
            assertThat(floorMs).isPositive().isEqualTo(floor.captionFloorMs(flops, batch, 1, 22, 3));
            assertThat(((Number) report.value(i, "% floor")).doubleValue()).isCloseTo(100 * floorMs / latency,
                    org.assertj.core.data.Percentage.withPercentage(1e-6));
            assertThat(((Number) report.value(i, "% matmul")).doubleValue()).isCloseTo(100 * gflops / floor.modelGflops(),
                    org.assertj.core.data.Percentage.withPercentage(1e-6));
        }
        assertThat(report.value(2, "dtype")).isEqualTo("bfloat16");
        assertThat(report.notes()).anyMatch(n -> n.startsWith("float32: floor measured in this run"))
                .anyMatch(n -> n.startsWith("bfloat16: floor measured in this run") && n.contains("BF16"))
                .anyMatch(n -> n.startsWith("FLOPs of one caption"))
                .anyMatch(n -> n.startsWith("float32: the decoder's matrices laid out"))
                .anyMatch(n -> n.startsWith("bfloat16: the decoder's matrices laid out"));
    }

    /** {@code --decode-step}: op-by-op rows first (nothing laid out yet), then laid-out ones, each beside its floor. */
    @Test
    void shouldTimeTheDecodeStepOpByOpThenLaidOut() {
        System.setProperty("ai.djl.offline", "true");
        try (Qwen2VlModel m = Qwen2VlModel.random(tiny(), 7, null); NDManager scratch = m.manager().newSubManager()) {
            MachineFloor floor = MachineFloor.measure(scratch, 128, 1 << 18, 1, m.dtype());
            BenchReport report = Qwen2VlBench.decodeSteps(null, m, 56, new int[] {1, 2}, 3, floor);
            assertThat(report.size()).isEqualTo(4);
            Qwen2VlFlops flops = new Qwen2VlFlops(tiny(), 16);
            for (int i = 0; i < 4; i++) {
                assertThat(report.value(i, "products")).isEqualTo(i < 2 ? "op by op" : "laid out");
                assertThat(report.value(i, "batch")).isEqualTo(i % 2 == 0 ? 1 : 2);
                assertThat(report.value(i, "keys")).isEqualTo(22 + 4 + 1 + 1); // the prefill's 22, 4 untimed steps, the middle of 3 timed ones (its own token included)
                double step = ((Number) report.value(i, "step ms")).doubleValue();
                assertThat(step).isPositive();
                int batch = ((Number) report.value(i, "batch")).intValue();
                double floorMs = Math.max(floor.computeMs((double) batch * flops.decodeStep(28)),
                        floor.memoryMs(floor.decodeWeightBytes(flops) + (double) batch * flops.kvBytes(28)));
                assertThat(((Number) report.value(i, "floor ms")).doubleValue()).isEqualTo(floorMs);
                assertThat(((Number) report.value(i, "tokens/s")).doubleValue()).isCloseTo(batch * 1000 / step,
                        org.assertj.core.data.Percentage.withPercentage(1e-6));
                double opByOp = ((Number) report.value(i % 2, "step ms")).doubleValue();
                assertThat(((Number) report.value(i, "x op by op")).doubleValue()).isCloseTo(opByOp / step,
                        org.assertj.core.data.Percentage.withPercentage(1e-6));
            }
            assertThat(report.notes()).anyMatch(n -> n.startsWith("float32: floor measured in this run"))
                    .anyMatch(n -> n.contains("a step reads") && n.contains("at 28 keys"));
        }
    }
}
