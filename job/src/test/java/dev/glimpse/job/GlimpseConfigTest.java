package dev.glimpse.job;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.apache.flink.configuration.ConfigOption;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GlimpseConfigTest {
    static final Path SHIPPED = Path.of("..", "conf", "glimpse.yaml");

    @Test
    void shouldDocumentEveryOptionWithItsDefaultInTheShippedYaml() throws Exception {
        JsonNode root = new ObjectMapper(new YAMLFactory()).readTree(Files.readAllBytes(SHIPPED));
        Set<String> keys = new TreeSet<>();
        collect("", root, keys);
        Set<String> declared = new TreeSet<>();
        GlimpseOptions.ALL.stream().filter(ConfigOption::hasDefaultValue).map(ConfigOption::key).forEach(declared::add);
        assertThat(keys).isEqualTo(declared);
        GlimpseConfig fromFile = GlimpseConfig.load(SHIPPED, Map.of());
        for (ConfigOption<?> o : GlimpseOptions.ALL) {
            if (o.hasDefaultValue()) {
                assertThat((Object) fromFile.get(o)).as(o.key()).isEqualTo(o.defaultValue());
            }
        }
    }

    private static void collect(String prefix, JsonNode node, Set<String> out) {
        if (node.isObject()) {
            node.fields().forEachRemaining(f -> collect(prefix.isEmpty() ? f.getKey() : prefix + "." + f.getKey(), f.getValue(), out));
        } else if (!node.isNull()) {
            out.add(prefix);
        }
    }

    @Test
    void shouldLetTheCommandLineOverrideTheFile(@TempDir Path dir) throws Exception {
        Path yaml = dir.resolve("g.yaml");
        Files.writeString(yaml, "batching:\n  max-batch-size: 4\n  max-batch-delay: 10 ms\n");
        GlimpseConfig c = GlimpseConfig.load(yaml, Map.of("batching.max-batch-size", "12"));
        assertThat(c.get(GlimpseOptions.MAX_BATCH_SIZE)).isEqualTo(12);
        assertThat(c.get(GlimpseOptions.MAX_BATCH_DELAY)).isEqualTo(Duration.ofMillis(10));
    }

    @Test
    void shouldNameTheOptionOfAnUnknownKeyOrABadValue(@TempDir Path dir) throws Exception {
        Path yaml = dir.resolve("g.yaml");
        Files.writeString(yaml, "batching:\n  max-bach-size: 4\n");
        assertThatThrownBy(() -> GlimpseConfig.load(yaml, Map.of()))
                .hasMessageContaining("unknown option 'batching.max-bach-size'");
        assertThatThrownBy(() -> GlimpseConfig.load(null, Map.of("batching.max-batch-size", "many")))
                .hasMessageContaining("'batching.max-batch-size'");
        assertThatThrownBy(() -> GlimpseConfig.load(null, Map.of("batching.max-batch-size", "0")))
                .hasMessageContaining("'batching.max-batch-size' must be at least 1");
        assertThatThrownBy(() -> GlimpseConfig.load(null, Map.of("kafka.transaction-timeout", "1 h")))
                .hasMessageContaining("'kafka.transaction-timeout'");
        assertThatThrownBy(() -> GlimpseConfig.load(null, Map.of("kafka.starting-offsets", "yesterday")))
                .hasMessageContaining("'kafka.starting-offsets'");
    }
}
