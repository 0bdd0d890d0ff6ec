package dev.glimpse.job;

import static org.assertj.core.api.Assertions.assertThat;

import dev.glimpse.kafka.EmbeddedKafka;
import dev.glimpse.model.ImagePreprocessor;
import dev.glimpse.model.ModelConfig;
import dev.glimpse.model.Qwen2VlModel;
import dev.glimpse.model.TestModels;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The whole job with a Qwen2-VL folder as a user downloads it (the tiny golden folder made by
 * transformers), on a real Kafka broker and a Flink MiniCluster: images of three aspect ratios (hence
 * three numbers of image tokens and M-RoPE layouts), an RGBA image and a per-request prompt each get
 * the caption the model gives them alone.
 */
class Qwen2VlPipelineITCase {
    @RegisterExtension
    static final MiniClusterExtension FLINK = new MiniClusterExtension(new MiniClusterResourceConfiguration.Builder()
            .setNumberTaskManagers(1).setNumberSlotsPerTaskManager(2).build());

    @TempDir
    static Path work;
    static EmbeddedKafka kafka;
    static Path model;

    @BeforeAll
    static void start() throws Exception {
        kafka = EmbeddedKafka.start(work.resolve("kafka"));
        model = TestModels.copyGolden("qwen2vl-tiny", TestModels.QWEN2VL_FILES, work.resolve("qwen2vl-tiny"));
    }

    @AfterAll
    static void stop() {
        kafka.close();
    }

    @Test
    void shouldCaptionEveryQwen2VlImageAsTheModelDoesAlone() throws Exception {
        Map<String, byte[]> images = new LinkedHashMap<>();
        Random rnd = new Random(3);
        images.put("wide", SmolVlmPipelineITCase.png(rnd, 160, 96, false)); // 8 image tokens
        images.put("square", SmolVlmPipelineITCase.png(rnd, 100, 100, false)); // 9
        images.put("tall", SmolVlmPipelineITCase.png(rnd, 45, 70, false)); // 4
        images.put("rgba", SmolVlmPipelineITCase.png(rnd, 60, 48, true));
        Map<String, String> prompts = Map.of("square", "What colour is it?");
        int cap = 6;

        GlimpseConfig c = KafkaPipelineHarness.config(kafka.bootstrapServers(), model, work, "qwen2vl", "500ms");
        Map<String, KafkaPipelineHarness.Output> byId =
                KafkaPipelineHarness.captionWithABrokenRecord(kafka, c, "it-qwen2vl", images, prompts, cap);
        assertThat(byId).hasSize(images.size() + 1);
        assertThat(byId.get("broken").topic()).isEqualTo(c.get(GlimpseOptions.DEAD_LETTER_TOPIC));
        assertThat(byId.get("broken").json().path("error").path("code").asText()).isEqualTo("UNSUPPORTED_FORMAT");
        int target = ModelConfig.read(model.resolve("config.json")).decodeTargetSize();
        try (Qwen2VlModel m = Qwen2VlModel.load(model)) {
            int tokens = 0;
            for (Map.Entry<String, byte[]> e : images.entrySet()) {
                Qwen2VlModel.Prepared row = m.prepare(ImagePreprocessor.decodeRgb(e.getValue(), ImagePreprocessor.Limits.DEFAULT,
                        target), prompts.get(e.getKey()));
                Qwen2VlModel.Result alone = m.generate(List.of(row), new int[] {cap}, false).get(0);
                KafkaPipelineHarness.Output o = byId.get(e.getKey());
                assertThat(o.topic()).as(e.getKey()).isEqualTo(c.get(GlimpseOptions.CAPTIONS_TOPIC));
                assertThat(o.json().path("caption").asText()).as(e.getKey()).isEqualTo(m.decode(alone.tokens()));
                assertThat(o.json().path("tokens").asInt()).as(e.getKey()).isEqualTo(alone.tokens().length);
                assertThat(o.json().path("model").asText()).isEqualTo("qwen2vl-tiny");
                tokens += alone.tokens().length;
            }
            assertThat(tokens).as("the captions are not all empty").isGreaterThan(0);
            assertThat(byId.get("square").json().path("prompt").asText()).isEqualTo("What colour is it?");
            assertThat(byId.get("wide").json().path("prompt").asText()).isEqualTo("Describe this image.");
        }
    }
}
