package dev.glimpse.job;

import static org.assertj.core.api.Assertions.assertThat;

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
    void shouldGiveTheBufferPoolRoomForEveryGateOfTheJob() {
        Configuration conf = GlimpseJob.localCluster(shipped(Map.of()));
        MemorySize network = conf.get(TaskManagerOptions.NETWORK_MEMORY_MAX);
        assertThat(network).isEqualTo(conf.get(TaskManagerOptions.NETWORK_MEMORY_MIN));
        assertThat(network.getBytes() / conf.get(TaskManagerOptions.MEMORY_SEGMENT_SIZE).getBytes())
                .isGreaterThanOrEqualTo(GlimpseJob.NETWORK_BUFFERS);
    }
}
