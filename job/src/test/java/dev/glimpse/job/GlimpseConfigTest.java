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
    @Test
    void shouldReadTheUriAllowListFromAYamlListOrFromSemicolonsOnTheCommandLine(@TempDir Path dir) throws Exception {
        Path yaml = dir.resolve("g.yaml");
        Files.writeString(yaml, "decoder:\n  allowed-uris:\n    - file:///data/images/\n    - https://a.example/x;y\n"
                + "  allow-private-addresses: true\n");
        GlimpseConfig fromYaml = GlimpseConfig.load(yaml, Map.of());
        assertThat(fromYaml.get(GlimpseOptions.ALLOWED_URIS)).containsExactly("file:///data/images/", "https://a.example/x;y");
        assertThat(fromYaml.get(GlimpseOptions.ALLOW_PRIVATE_ADDRESSES)).isTrue();
        GlimpseConfig fromFlag = GlimpseConfig.load(yaml, Map.of("decoder.allowed-uris", "s3://bucket/a/;https://b.example/"));
        assertThat(fromFlag.get(GlimpseOptions.ALLOWED_URIS)).containsExactly("s3://bucket/a/", "https://b.example/");
        assertThat(GlimpseConfig.load(null, Map.of()).get(GlimpseOptions.ALLOWED_URIS)).isEmpty();
        assertThat(GlimpseConfig.load(null, Map.of()).get(GlimpseOptions.ALLOW_PRIVATE_ADDRESSES)).isFalse();
    }

    @Test
    void shouldPassKafkaPropertiesOnAndMaskTheirSecrets(@TempDir Path dir) throws Exception {
        Path yaml = dir.resolve("g.yaml");
        Files.writeString(yaml, "kafka:\n  properties:\n    security.protocol: SASL_SSL\n    sasl.mechanism: PLAIN\n");
        String jaas = "org.apache.kafka.common.security.plain.PlainLoginModule required username=\"u\" password=\"s3cr3t\";";
        GlimpseConfig c = GlimpseConfig.load(yaml, Map.of("kafka.properties.sasl.jaas.config", jaas,
                "kafka.properties.ssl.truststore.password", "hunter2"));
        assertThat(c.kafkaProperties()).containsOnly(Map.entry("security.protocol", "SASL_SSL"),
                Map.entry("sasl.mechanism", "PLAIN"), Map.entry("sasl.jaas.config", jaas),
                Map.entry("ssl.truststore.password", "hunter2"));
        assertThat(c.kafkaPropertiesMasked().toString()).contains("SASL_SSL", "PLAIN", "sasl.jaas.config")
                .doesNotContain("s3cr3t", "hunter2", "username");
        assertThatThrownBy(() -> GlimpseConfig.load(null, Map.of("kafka.properties.bootstrap.servers", "evil:9092")))
                .hasMessageContaining("'kafka.properties.bootstrap.servers'").hasMessageContaining("kafka.bootstrap-servers")
                .hasMessageNotContaining("evil");
        assertThatThrownBy(() -> GlimpseConfig.load(null, Map.of("kafka.propertie.sasl.jaas.config", jaas)))
                .hasMessageContaining("unknown option 'kafka.propertie.sasl.jaas.config'").hasMessageNotContaining("s3cr3t");
    }
}
