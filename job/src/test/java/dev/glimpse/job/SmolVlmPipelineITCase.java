package dev.glimpse.job;

import static org.assertj.core.api.Assertions.assertThat;

import dev.glimpse.kafka.EmbeddedKafka;
import dev.glimpse.model.Captioner;
import dev.glimpse.model.Float16;
import dev.glimpse.model.Idefics3ImageProcessor;
import dev.glimpse.model.ImagePreprocessor;
import dev.glimpse.model.TestModels;
import dev.glimpse.model.VisionLanguageModel;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.nio.FloatBuffer;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import javax.imageio.ImageIO;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The whole job with a SmolVLM (Idefics3) folder as a user downloads it (the tiny golden folder
 * made by transformers), on a real Kafka broker and a Flink MiniCluster: images of three aspect
 * ratios, an RGBA image and a per-request prompt each get the caption the model gives them alone.
 */
class SmolVlmPipelineITCase {
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
        model = TestModels.copyGolden("smolvlm-tiny", TestModels.SMOLVLM_FILES, work.resolve("smolvlm-tiny"));
    }

    @AfterAll
    static void stop() {
        kafka.close();
    }

    @Test
    void shouldCaptionEverySmolVlmImageAsTheModelDoesAlone() throws Exception {
        Map<String, byte[]> images = new LinkedHashMap<>();
        Random rnd = new Random(3);
        images.put("wide", png(rnd, 64, 40, false));
        images.put("square", png(rnd, 40, 40, false));
        images.put("tall", png(rnd, 24, 56, false));
        images.put("rgba", png(rnd, 48, 36, true));
        Map<String, String> prompts = Map.of("square", "What colour is it?");
        int cap = 6;

        GlimpseConfig c = KafkaPipelineHarness.config(kafka.bootstrapServers(), model, work, "smolvlm", "500ms");
        Map<String, KafkaPipelineHarness.Output> byId =
                KafkaPipelineHarness.captionWithABrokenRecord(kafka, c, "it-smolvlm", images, prompts, cap);
        assertThat(byId).hasSize(images.size() + 1);
        assertThat(byId.get("broken").topic()).isEqualTo(c.get(GlimpseOptions.DEAD_LETTER_TOPIC));
        assertThat(byId.get("broken").json().path("error").path("code").asText()).isEqualTo("UNSUPPORTED_FORMAT");
        try (VisionLanguageModel m = VisionLanguageModel.load(model)) {
            Captioner captioner = new Captioner(m);
            Idefics3ImageProcessor tiler = new Idefics3ImageProcessor(m.config().idefics3);
            int tokens = 0;
            for (Map.Entry<String, byte[]> e : images.entrySet()) {
                Idefics3ImageProcessor.Tiles tiles = tiler.process(ImagePreprocessor.decodeRgb(e.getValue(),
                        ImagePreprocessor.Limits.DEFAULT, m.config().decodeTargetSize()));
                // Its patch embeddings rounded to F16, as they travel from the patch embedder to the captioner.
                float[] patches = Float16.round(captioner.patchEmbed(tiles.pixels()));
                Captioner.Caption alone = captioner.captionTileBuffers(List.of(FloatBuffer.wrap(patches)),
                        new int[][] {{tiles.rows(), tiles.cols()}},
                        java.util.Collections.singletonList(prompts.get(e.getKey())), new int[] {cap}).get(0);
                KafkaPipelineHarness.Output o = byId.get(e.getKey());
                assertThat(o.topic()).as(e.getKey()).isEqualTo(c.get(GlimpseOptions.CAPTIONS_TOPIC));
                assertThat(o.json().path("caption").asText()).as(e.getKey()).isEqualTo(alone.text());
                assertThat(o.json().path("tokens").asInt()).as(e.getKey()).isEqualTo(alone.tokens());
                tokens += alone.tokens();
            }
            assertThat(tokens).as("the captions are not all empty").isGreaterThan(0);
            assertThat(byId.get("square").json().path("prompt").asText()).isEqualTo("What colour is it?");
        }
    }

    /** A PNG of random pixels; with {@code alpha}, TYPE_INT_ARGB with a varying alpha (0 to 255). */
    static byte[] png(Random rnd, int w, int h, boolean alpha) throws Exception {
        BufferedImage image = new BufferedImage(w, h, alpha ? BufferedImage.TYPE_INT_ARGB : BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                int a = alpha ? Math.min(255, x * 255 / (w / 2)) : 255;
                image.setRGB(x, y, (a << 24) | (rnd.nextInt(1 << 24)));
            }
        }
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        ImageIO.write(image, "png", bytes);
        return bytes.toByteArray();
    }
}
