package dev.glimpse.job;

import static org.assertj.core.api.Assertions.assertThat;

import dev.glimpse.model.ModelConfig;
import dev.glimpse.model.ModelPresets;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.MemorySize;
import org.apache.flink.configuration.TaskManagerOptions;
import org.junit.jupiter.api.Test;

class LocalClusterConfigurationTest {
    private static GlimpseConfig shipped(Map<String, String> overrides) {
        Map<String, String> withModel = new HashMap<>(overrides);
        withModel.put("model.dir", Path.of("..", "models", "glimpse-scenes").toAbsolutePath().toString());
        return GlimpseConfig.load(GlimpseConfigTest.SHIPPED, withModel);
    }

    @Test
    void shouldSizeNetworkBuffersToHoldOnePatchEmbeddedImage() {
        // The built-in model: 3 views x 144 patches x 128 floats = 221,184 bytes per record.
        Configuration views = GlimpseJob.localCluster(shipped(Map.of()));
        assertThat(views.get(TaskManagerOptions.MEMORY_SEGMENT_SIZE)).isEqualTo(MemorySize.parse("256kb"));
        // One view: 73,728 bytes.
        Configuration single = GlimpseJob.localCluster(shipped(Map.of("generation.test-time-views", "false")));
        assertThat(single.get(TaskManagerOptions.MEMORY_SEGMENT_SIZE)).isEqualTo(MemorySize.parse("128kb"));
    }

    @Test
    void shouldCapTheBuffersOfLargeRecordsBecauseFlinkAllocatesTheWholePoolAtStart() {
        // nanoVLM-222M: 196 patches x 768 floats = 602 KB, one buffer each.
        assertThat(GlimpseJob.networkSegmentSize(new dev.glimpse.model.ModelConfig(), true)).isEqualTo(MemorySize.parse("1mb"));
        // A SmolVLM-256M tile: 1024 patches x 768 floats = 3 MB; 4 MB buffers would make a 1 GB pool.
        MemorySize tile = GlimpseJob.networkSegmentSize(ModelPresets.smolVlm256m(), true);
        assertThat(tile).isEqualTo(GlimpseJob.MAX_SEGMENT);
        assertThat(tile.getBytes() * GlimpseJob.NETWORK_BUFFERS).isLessThanOrEqualTo(256L << 20);
    }

    @Test
    void shouldGiveTheBufferPoolRoomForEveryGateOfTheJob() {
        Configuration conf = GlimpseJob.localCluster(shipped(Map.of()));
        MemorySize network = conf.get(TaskManagerOptions.NETWORK_MEMORY_MAX);
        assertThat(network).isEqualTo(conf.get(TaskManagerOptions.NETWORK_MEMORY_MIN));
        assertThat(network.getBytes() / conf.get(TaskManagerOptions.MEMORY_SEGMENT_SIZE).getBytes())
                .isGreaterThanOrEqualTo(GlimpseJob.NETWORK_BUFFERS);
    }
}
