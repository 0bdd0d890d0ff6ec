package dev.glimpse.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import ai.djl.ndarray.NDManager;
import dev.glimpse.model.EngineDtype;
import dev.glimpse.model.ModelConfig;
import dev.glimpse.model.ModelFlops;
import org.junit.jupiter.api.Test;

class MachineFloorTest {
    @Test
    void shouldMeasurePlausibleRatesOnTheModelsDevice() {
        System.setProperty("ai.djl.offline", "true");
        try (NDManager manager = NDManager.newBaseManager()) {
            MachineFloor floor = MachineFloor.measure(manager, 256, 1 << 20, 2, EngineDtype.BFLOAT16);
            assertThat(floor.device()).isEqualTo(manager.getDevice().toString());
            assertThat(floor.threads()).isPositive();
            // Any CPU or GPU of this decade, even a loaded one, lies between these.
            assertThat(floor.matmulGflops()).isBetween(0.05, 1e6);
            assertThat(floor.bandwidthGbs()).isBetween(0.05, 1e5);
            assertThat(floor.addBytes()).isEqualTo(4L << 20);
            assertThat(floor.lowMatmulGflops()).isBetween(0.05, 1e6);
            assertThat(floor.modelGflops()).isEqualTo(floor.lowMatmulGflops());
            assertThat(floor.toString()).contains("matmul 256x256 F32").contains("two 4 MiB F32 tensors")
                    .contains("matmul 256x256 BF16");
        }
    }

    /** ModelFlopsTest's tiny model: vision 1792 FLOPs, prefill of 3 tokens 896, steps 384 and 400. */
    @Test
    void shouldTakeEachDecodeStepAtTheSlowerOfItsFlopsAndItsBytes() {
        ModelConfig c = new ModelConfig();
        c.vitHiddenDim = 4;
        c.vitInterDim = 8;
        c.vitPatchSize = 2;
        c.vitImgSize = 4;
        c.vitNHeads = 2;
        c.vitNBlocks = 1;
        c.lmHiddenDim = 4;
        c.lmInterDim = 6;
        c.lmNHeads = 2;
        c.lmNKvHeads = 1;
        c.lmNBlocks = 1;
        c.lmVocabSize = 10;
        ModelFlops f = new ModelFlops(c.validated("test"));
        // 1 GFLOP/s: 1e6 FLOPs a ms; 0.5 GB/s: 5e5 bytes a ms
        MachineFloor floor = new MachineFloor("cpu()", 1, 2048, 1.0, 1 << 20, 0.5, 4);
        // one row: vision + prefill compute-bound; steps memory-bound: weights 640 B + keys/values 16 B a key
        double oneRow = (1792 + 896) / 1e6 + (640 + 16 * 4) / 5e5 + (640 + 16 * 5) / 5e5;
        assertThat(floor.captionFloorMs(f, 1, 1, 3, 3)).isCloseTo(oneRow, within(1e-12));
        // 100 rows: the steps' FLOPs (38,400 and 40,000) outweigh their bytes (7,040 and 8,640)
        double hundredRows = 100 * (1792 + 896) / 1e6 + 100 * 384 / 1e6 + 100 * 400 / 1e6;
        assertThat(floor.captionFloorMs(f, 100, 1, 3, 3)).isCloseTo(hundredRows, within(1e-12));
        // BF16 at 2 GFLOP/s: half the compute time, and each step reads half the weights' bytes (320 B)
        MachineFloor bf16 = new MachineFloor("cpu()", 1, 2048, 1.0, 1 << 20, 0.5, 4, EngineDtype.BFLOAT16, 2.0);
        double oneRowBf16 = (1792 + 896) / 2e6 + (320 + 16 * 4) / 5e5 + (320 + 16 * 5) / 5e5;
        assertThat(bf16.captionFloorMs(f, 1, 1, 3, 3)).isCloseTo(oneRowBf16, within(1e-12));
    }
}
