package dev.glimpse.operators;

import static org.assertj.core.api.Assertions.assertThat;

import dev.glimpse.model.EngineDtype;
import dev.glimpse.model.ImagePreprocessor;
import dev.glimpse.model.LowPrecision;
import dev.glimpse.model.ModelConfig;
import dev.glimpse.model.Qwen2VlModel;
import java.awt.Color;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.Base64;
import java.util.Comparator;
import java.util.List;
import org.apache.flink.streaming.api.operators.ProcessOperator;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.OneInputStreamOperatorTestHarness;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A Qwen2-VL folder as transformers saves it runs through the decoder, the patch embedder (its own
 * preprocessing: each image at its own size) and the batched captioner unchanged: images of three
 * aspect ratios, hence three numbers of image tokens, in one batch (static, continuous, and
 * continuous with room for two, so that the third joins the running batch when a row frees), with
 * default and per-request prompts, each caption the one the model gives that image alone.
 */
class Qwen2VlOperatorsHarnessTest {
    static final String[] FILES = {"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json",
        "preprocessor_config.json", "chat_template.json", "generation_config.json", "image_0.png", "image_1.png"};

    static Path qwen2VlFolder(Path dir) throws Exception {
        // The reference folder ships in the model module's test jar.
        for (String f : FILES) {
            try (var in = Qwen2VlOperatorsHarnessTest.class.getResourceAsStream("/golden/qwen2vl-tiny/" + f)) {
                Files.copy(in, dir.resolve(f));
            }
        }
        return dir;
    }

    static List<EmbeddedImage> embed(Path dir, List<byte[]> images, List<String> prompts, int maxImageTokens) throws Exception {
        int target = ModelConfig.read(dir.resolve("config.json")).decodeTargetSize();
        DecoderSettings settings = new DecoderSettings(1 << 20, 1_000_000, 200, 6, 8, Duration.ofSeconds(1), target, List.of(), false);
        List<DecodedImage> decoded;
        try (var h = new OneInputStreamOperatorTestHarness<>(new ProcessOperator<>(new ImageDecoder(settings)))) {
            h.open();
            for (int i = 0; i < images.size(); i++) {
                String prompt = prompts.get(i) == null ? "" : ",\"prompt\":\"" + prompts.get(i) + "\"";
                String envelope = "{\"id\":\"" + (char) ('a' + i) + "\"" + prompt + ",\"image_base64\":\""
                        + Base64.getEncoder().encodeToString(images.get(i)) + "\"}";
                h.processElement(new StreamRecord<>(new ImageEvent(null, envelope.getBytes(), null, null,
                        new SourceRef("images", 0, i, 0))));
            }
            decoded = h.extractOutputValues();
        }
        try (var h = new OneInputStreamOperatorTestHarness<>(new ProcessOperator<>(
                new PatchEmbedder(dir.toString(), true, true, maxImageTokens)))) {
            h.open();
            for (DecodedImage d : decoded) {
                h.processElement(new StreamRecord<>(d));
            }
            return h.extractOutputValues();
        }
    }

    static List<CaptionRecord> caption(Path dir, List<EmbeddedImage> embedded, BatchingSettings settings) throws Exception {
        try (var h = new OneInputStreamOperatorTestHarness<>(new BatchedCaptioner(dir.toString(), settings))) {
            h.open();
            for (EmbeddedImage e : embedded) {
                h.processElement(new StreamRecord<>(e));
            }
            HarnessMailbox.runAll(h);
            return h.extractOutputValues().stream().sorted(Comparator.comparing(c -> c.request.id)).toList();
        }
    }

    /** engine.dtype bfloat16 reaches a Qwen2-VL model too: held in BF16, each caption the one it gives that image alone. */
    @Test
    void shouldCaptionWithAQwen2VlFolderInBf16ThroughTheOperators(@TempDir Path dir) throws Exception {
        qwen2VlFolder(dir);
        List<byte[]> images = List.of(Files.readAllBytes(dir.resolve("image_0.png")), Files.readAllBytes(dir.resolve("image_1.png")));
        List<String> prompts = Arrays.asList(null, "What is it?");
        List<EmbeddedImage> embedded = embed(dir, images, prompts, 0);
        embedded.forEach(e -> e.request.maxNewTokens = 6);
        List<CaptionRecord> captions;
        BatchedCaptioner op = new BatchedCaptioner(dir.toString(), EngineDtype.BFLOAT16, new BatchingSettings(2, Duration.ofHours(1)));
        try (var h = new OneInputStreamOperatorTestHarness<>(op)) {
            h.open();
            assertThat(op.model().qwen2Vl().dtype()).isEqualTo(EngineDtype.BFLOAT16);
            assertThat(LowPrecision.typeOf(op.model().qwen2Vl().weights().get("model.layers.0.self_attn.q_proj.weight")))
                    .isEqualTo(EngineDtype.BFLOAT16);
            for (EmbeddedImage e : embedded) {
                h.processElement(new StreamRecord<>(e));
            }
            HarnessMailbox.runAll(h);
            captions = h.extractOutputValues().stream().sorted(Comparator.comparing(c -> c.request.id)).toList();
        }
        assertThat(captions).extracting(c -> c.request.id).containsExactly("a", "b");
        try (Qwen2VlModel model = Qwen2VlModel.load(dir, null, 0, EngineDtype.BFLOAT16)) {
            for (int i = 0; i < images.size(); i++) {
                var row = model.prepare(ImagePreprocessor.decodeRgb(images.get(i), ImagePreprocessor.Limits.DEFAULT, 112),
                        prompts.get(i));
                Qwen2VlModel.Result alone = model.generate(List.of(row), new int[] {6}, false).get(0);
                assertThat(captions.get(i).caption).as("image %d", i).isEqualTo(model.decode(alone.tokens()));
            }
        }
    }

    @Test
    void shouldCaptionWithAQwen2VlFolderThroughTheOperators(@TempDir Path dir) throws Exception {
        qwen2VlFolder(dir);
        List<byte[]> images = List.of(Files.readAllBytes(dir.resolve("image_0.png")), Files.readAllBytes(dir.resolve("image_1.png")),
                ImageDecoderHarnessTest.png(Color.ORANGE, 30, 90));
        List<String> prompts = Arrays.asList(null, "What is it?", "Look at the picture. What colors are there?");
        List<EmbeddedImage> embedded = embed(dir, images, prompts, 0);
        // 160x96 -> 112x56, 45x70 -> 56x56, 30x90 -> 56x112 (upscaled to min_pixels): 8, 4 and 8 image tokens.
        assertThat(embedded).extracting(e -> e.gridT + "x" + e.gridH + "x" + e.gridW).containsExactly("1x4x8", "1x4x4", "1x8x4");
        assertThat(embedded).extracting(e -> e.patches.length).containsExactly(32 * 1176, 16 * 1176, 32 * 1176);

        for (BatchingSettings settings : List.of(new BatchingSettings(3, Duration.ofHours(1)).withMode(BatchingSettings.Mode.STATIC),
                new BatchingSettings(3, Duration.ofHours(1)), new BatchingSettings(2, Duration.ofHours(1)))) {
            String mode = settings.mode() + " of " + settings.maxBatchSize();
            // With room for two, "a" stops after 2 tokens and "c" takes its row while "b" still decodes.
            int[] caps = settings.maxBatchSize() == 2 ? new int[] {2, 6, 6} : new int[] {6, 6, 6};
            for (int i = 0; i < caps.length; i++) {
                embedded.get(i).request.maxNewTokens = caps[i];
            }
            List<CaptionRecord> captions = caption(dir, embedded, settings);
            assertThat(captions).extracting(c -> c.request.id).containsExactly("a", "b", "c");
            assertThat(captions).as(mode).extracting(c -> c.batchSize).containsOnly(settings.maxBatchSize());
            assertThat(captions).extracting(c -> c.prompt)
                    .containsExactly("Describe this image.", "What is it?", "Look at the picture. What colors are there?");
            assertThat(captions).allSatisfy(c -> {
                assertThat(c.model).isEqualTo(dir.getFileName().toString());
                assertThat(c.tokens).isBetween(1, 6);
                assertThat(c.confidence).isBetween(0.0, 1.0);
            });
            // Each caption is the one the model gives that image alone, through the model's own API.
            try (Qwen2VlModel model = Qwen2VlModel.load(dir)) {
                for (int i = 0; i < images.size(); i++) {
                    var row = model.prepare(ImagePreprocessor.decodeRgb(images.get(i), ImagePreprocessor.Limits.DEFAULT, 112),
                            prompts.get(i));
                    Qwen2VlModel.Result alone = model.generate(List.of(row), new int[] {caps[i]}, false).get(0);
                    assertThat(captions.get(i).caption).as("%s image %d", mode, i).isEqualTo(model.decode(alone.tokens()));
                    assertThat(captions.get(i).tokens).as("%s image %d", mode, i).isEqualTo(alone.tokens().length);
                }
            }
        }
    }

    @Test
    void shouldCapTheImageTokensOfALargeImage(@TempDir Path dir) throws Exception {
        qwen2VlFolder(dir);
        List<EmbeddedImage> embedded = embed(dir, List.of(Files.readAllBytes(dir.resolve("image_0.png"))),
                Arrays.asList((String) null), 4);
        // max-image-tokens 4: at most 4 x 28 x 28 pixels, so 160x96 becomes 56x28 (floored, as smart_resize
        // floors when it scales down) instead of 112x56: 2 image tokens instead of 8.
        assertThat(embedded).extracting(e -> e.gridT + "x" + e.gridH + "x" + e.gridW).containsExactly("1x2x4");
        assertThat(caption(dir, embedded, new BatchingSettings(1, Duration.ZERO))).singleElement()
                .satisfies(c -> assertThat(c.tokens).isBetween(1, 6));
    }
}
