package dev.glimpse.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import ai.djl.Device;
import ai.djl.engine.Engine;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The reference parity again, on a GPU: skipped, visibly, on machines without one. */
class GpuParityTest {
    @Test
    void shouldMatchTheReferenceOnTheGpu() throws Exception {
        assumeTrue(Engine.getInstance().getGpuCount() > 0, "no GPU visible to the PyTorch engine: GPU parity skipped");
        Path dir = ReferenceParityTest.golden();
        try (VisionLanguageModel model = VisionLanguageModel.load(dir, Device.gpu())) {
            List<ReferenceVerifier.Stage> stages = ReferenceVerifier.verify(model, dir.resolve("expected.safetensors"));
            System.out.print(ReferenceVerifier.table(stages));
            assertThat(stages).allSatisfy(s -> assertThat(s.pass()).as(s.name()).isTrue());
        }
    }
}
