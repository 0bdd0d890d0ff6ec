package dev.glimpse.operators;

import static org.assertj.core.api.Assertions.assertThat;

import dev.glimpse.model.Captioner;
import dev.glimpse.model.Idefics3ImageProcessor;
import dev.glimpse.model.ImagePreprocessor;
import dev.glimpse.model.VisionLanguageModel;
import java.awt.Color;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import org.apache.flink.streaming.api.operators.ProcessOperator;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.OneInputStreamOperatorTestHarness;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A SmolVLM (Idefics3) folder as transformers saves it runs through the decoder, the patch
 * embedding (tiles instead of one view) and the batched captioner unchanged: images of three aspect
 * ratios, hence three tile counts, in one batch, with default and per-request prompts, each caption
 * the one the model gives that image alone; with image splitting off each image is one tile.
 */
class SmolVlmOperatorsHarnessTest {
    static final String[] FILES = {"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json",
        "preprocessor_config.json", "processor_config.json", "chat_template.json", "generation_config.json",
        "special_tokens_map.json", "image_0.png", "image_1.png"};

    static Path smolVlmFolder(Path dir) throws Exception {
        // The reference folder ships in the model module's test jar.
        for (String f : FILES) {
            try (var in = SmolVlmOperatorsHarnessTest.class.getResourceAsStream("/golden/smolvlm-tiny/" + f)) {
                Files.copy(in, dir.resolve(f));
            }
        }
        return dir;
    }

    static List<EmbeddedImage> embed(Path dir, List<byte[]> images, List<String> prompts, boolean splitting) throws Exception {
        DecoderSettings settings = new DecoderSettings(1 << 20, 1_000_000, 200, 6, 8, Duration.ofSeconds(1), 96, List.of(), false);
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
                new PatchEmbedder(dir.toString(), true, splitting)))) {
            h.open();
            for (DecodedImage d : decoded) {
                h.processElement(new StreamRecord<>(d));
            }
            return h.extractOutputValues();
        }
    }

    static List<CaptionRecord> caption(Path dir, List<EmbeddedImage> embedded) throws Exception {
        try (var h = new OneInputStreamOperatorTestHarness<>(
                new BatchedCaptioner(dir.toString(), new BatchingSettings(embedded.size(), Duration.ofHours(1))))) {
            h.open();
            for (EmbeddedImage e : embedded) {
                h.processElement(new StreamRecord<>(e));
            }
            HarnessMailbox.runAll(h);
            // A continuous batch emits each caption when it finishes: in id order for the checks.
            return h.extractOutputValues().stream().sorted(java.util.Comparator.comparing(c -> c.request.id)).toList();
        }
    }

    @Test
    void shouldCaptionWithASmolVlmFolderThroughTheOperators(@TempDir Path dir) throws Exception {
        smolVlmFolder(dir);
        List<byte[]> images = List.of(Files.readAllBytes(dir.resolve("image_0.png")), Files.readAllBytes(dir.resolve("image_1.png")),
                ImageDecoderHarnessTest.png(Color.ORANGE, 30, 90));
        List<String> prompts = Arrays.asList(null, "What is it?", "Look at the picture. What colors are there?");
        List<EmbeddedImage> embedded = embed(dir, images, prompts, true);
        assertThat(embedded).extracting(e -> e.tileRows + "x" + e.tileCols).containsExactly("2x3", "3x3", "3x1");
        assertThat(embedded).extracting(e -> e.patches.length).containsExactly(7 * 16 * 32, 10 * 16 * 32, 4 * 16 * 32);

        List<CaptionRecord> captions = caption(dir, embedded);
        assertThat(captions).extracting(c -> c.request.id).containsExactly("a", "b", "c");
        assertThat(captions).extracting(c -> c.batchSize).containsOnly(3);
        assertThat(captions).extracting(c -> c.prompt)
                .containsExactly("Can you describe this image?", "What is it?", "Look at the picture. What colors are there?");
        assertThat(captions).allSatisfy(c -> {
            assertThat(c.model).isEqualTo(dir.getFileName().toString());
            assertThat(c.tokens).isBetween(1, 6);
        });
        // Each caption is the one the model gives that image alone, through the model's own API.
        try (VisionLanguageModel model = VisionLanguageModel.load(dir)) {
            Captioner captioner = new Captioner(model);
            Idefics3ImageProcessor processor = new Idefics3ImageProcessor(model.config().idefics3);
            for (int i = 0; i < images.size(); i++) {
                var tiles = processor.process(ImagePreprocessor.decodeRgb(images.get(i), ImagePreprocessor.Limits.DEFAULT, 96));
                List<String> prompt = new ArrayList<>();
                prompt.add(prompts.get(i));
                Captioner.Caption alone = captioner.captionTiles(List.of(tiles), prompt, new int[] {6}).get(0);
                assertThat(captions.get(i).caption).as("image %d", i).isEqualTo(alone.text());
                assertThat(captions.get(i).tokens).as("image %d", i).isEqualTo(alone.tokens());
            }
        }
    }

    @Test
    void shouldEmbedTheGlobalImageOnlyWithSplittingOff(@TempDir Path dir) throws Exception {
        smolVlmFolder(dir);
        List<byte[]> images = List.of(Files.readAllBytes(dir.resolve("image_0.png")), ImageDecoderHarnessTest.png(Color.BLUE, 30, 90));
        List<EmbeddedImage> embedded = embed(dir, images, Arrays.asList(null, null), false);
        assertThat(embedded).extracting(e -> e.patches.length).containsOnly(16 * 32);
        assertThat(embedded).extracting(e -> e.tileRows + "x" + e.tileCols).containsOnly("0x0");
        List<CaptionRecord> captions = caption(dir, embedded);
        assertThat(captions).extracting(c -> c.request.id).containsExactly("a", "b");
        assertThat(captions).allSatisfy(c -> assertThat(c.tokens).isBetween(1, 6));
    }
}
