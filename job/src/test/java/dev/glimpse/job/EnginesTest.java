package dev.glimpse.job;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
import org.junit.jupiter.api.Test;

class EnginesTest {
    private static final int CORES = Runtime.getRuntime().availableProcessors();

    @Test
    void shouldLeaveTheDecodeSubtasksTheirCoresWhenEngineThreadsIsZero() {
        GlimpseConfig oneDecoder = GlimpseConfig.load(null, Map.of("engine.threads", "0", "parallelism.decode", "1"));
        assertThat(Engines.threads(oneDecoder)).isEqualTo(Math.max(1, CORES - 1));

        GlimpseConfig asManyDecodersAsCores = GlimpseConfig.load(null,
                Map.of("engine.threads", "0", "parallelism.decode", String.valueOf(CORES)));
        assertThat(Engines.threads(asManyDecodersAsCores)).isEqualTo(1);
    }

    @Test
    void shouldTakeEngineThreadsAsGivenWhenSet() {
        GlimpseConfig c = GlimpseConfig.load(null, Map.of("engine.threads", "3", "parallelism.decode", "2"));
        assertThat(Engines.threads(c)).isEqualTo(3);
    }
}
