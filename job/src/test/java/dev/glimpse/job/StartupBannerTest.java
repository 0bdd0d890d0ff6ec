package dev.glimpse.job;

import static org.assertj.core.api.Assertions.assertThat;

import dev.glimpse.model.TestModels;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class StartupBannerTest {
    @TempDir
    Path work;

    @Test
    void shouldShowWhatRunsAndWhereButNoSecret() {
        Path model = TestModels.writeTinyScenesModel(work.resolve("model"));
        Map<String, String> o = new LinkedHashMap<>();
        o.put("model.dir", model.toString());
        o.put("kafka.bootstrap-servers", "kafka-1:9093");
        o.put("kafka.images-topic", "photos");
        o.put("decoder.allowed-uris", "file:///data/images/;https://cdn.example/");
        o.put("kafka.properties.security.protocol", "SASL_SSL");
        o.put("kafka.properties.sasl.jaas.config",
                "org.apache.kafka.common.security.plain.PlainLoginModule required username=\"u\" password=\"hunter2\";");
        o.put("kafka.properties.ssl.truststore.password", "s3cr3t-truststore");
        o.put("batching.max-batch-size", "8");
        GlimpseConfig c = GlimpseConfig.load(null, o);

        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        StartupBanner.print(new PrintStream(bytes, true, StandardCharsets.UTF_8), "Glimpse run", c, null);
        String banner = bytes.toString(StandardCharsets.UTF_8);

        assertThat(banner).startsWith("Glimpse run\n")
                .contains("model:        tiny-random (")
                .contains("parameters) from " + model)
                .contains("up to 8 images")
                .contains("kafka-1:9093: photos -> captions, dead letters -> captions-dlq")
                .contains("security.protocol=SASL_SSL")
                .contains("sasl.jaas.config=******")
                .contains("allowed URIs: file:///data/images/, https://cdn.example/")
                .doesNotContain("hunter2").doesNotContain("s3cr3t-truststore").doesNotContain("PlainLoginModule");
    }
}
