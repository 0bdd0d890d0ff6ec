package dev.glimpse.operators;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.awt.Color;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.apache.flink.streaming.api.operators.ProcessOperator;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.OneInputStreamOperatorTestHarness;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A nanoVLM folder (the tiny reference model, with a tokenizer for its 97 ids) runs through the
 * decoder, the patch embedding and the batched captioner unchanged, per-request prompts included.
 */
class NanoVlmOperatorsHarnessTest {
    /** A word-level tokenizer for ids 0..96: "&lt;eos&gt;", "&lt;unk&gt;", then w2..w96. */
    static void writeTokenizer(Path file) throws Exception {
        ObjectMapper json = new ObjectMapper();
        ObjectNode root = json.createObjectNode();
        root.put("version", "1.0");
        ObjectNode vocab = json.createObjectNode();
        vocab.put("<eos>", 0);
        vocab.put("<unk>", 1);
        for (int i = 2; i < 97; i++) {
            vocab.put("w" + i, i);
        }
        root.putObject("pre_tokenizer").put("type", "WhitespaceSplit");
        ObjectNode model = root.putObject("model");
        model.put("type", "WordLevel");
        model.set("vocab", vocab);
        model.put("unk_token", "<unk>");
        Files.write(file, json.writeValueAsBytes(root));
    }

    static byte[] png(Color c) throws Exception {
        return ImageDecoderHarnessTest.png(c, 50, 40);
    }

    @Test
    void shouldCaptionWithANanoVlmFolderThroughTheOperators(@TempDir Path dir) throws Exception {
        // The reference folder ships in the model module's test jar.
        for (String f : new String[] {"config.json", "model.safetensors"}) {
            try (var in = getClass().getResourceAsStream("/golden/nanovlm-tiny/" + f)) {
                Files.copy(in, dir.resolve(f));
            }
        }
        writeTokenizer(dir.resolve("tokenizer.json"));
        DecoderSettings settings = new DecoderSettings(1 << 20, 1_000_000, 200, 8, 8, Duration.ofSeconds(1), 32, List.of(), false);
        String[] envelopes = {
            "{\"id\":\"a\",\"prompt\":\"w5 w6 w7\",\"image_base64\":\"" + java.util.Base64.getEncoder().encodeToString(png(Color.RED)) + "\"}",
            "{\"id\":\"b\",\"prompt\":\"w9\",\"max_new_tokens\":3,\"image_base64\":\"" + java.util.Base64.getEncoder().encodeToString(png(Color.BLUE)) + "\"}",
        };
        List<DecodedImage> decoded;
        try (var h = new OneInputStreamOperatorTestHarness<>(new ProcessOperator<>(new ImageDecoder(settings)))) {
            h.open();
            for (String e : envelopes) {
                h.processElement(new StreamRecord<>(new ImageEvent(null, e.getBytes(), null, null, new SourceRef("images", 0, 0, 0))));
            }
            decoded = h.extractOutputValues();
        }
        List<EmbeddedImage> embedded;
        try (var h = new OneInputStreamOperatorTestHarness<>(new ProcessOperator<>(new PatchEmbedder(dir.toString())))) {
            h.open();
            for (DecodedImage d : decoded) {
                h.processElement(new StreamRecord<>(d));
            }
            embedded = h.extractOutputValues();
        }
        assertThat(embedded).hasSize(2);
        assertThat(embedded.get(0).patches).hasSize(16 * 32); // 16 patches of the 32-wide ViT
        try (var h = new OneInputStreamOperatorTestHarness<>(
                new BatchedCaptioner(dir.toString(), new BatchingSettings(2, Duration.ofHours(1))))) {
            h.open();
            for (EmbeddedImage e : embedded) {
                h.processElement(new StreamRecord<>(e));
            }
            HarnessMailbox.runAll(h);
            // A continuous batch emits each caption when it finishes: in id order for the checks below.
            List<CaptionRecord> captions = h.extractOutputValues().stream()
                    .sorted(java.util.Comparator.comparing(c -> c.request.id)).toList();
            assertThat(captions).extracting(c -> c.request.id).containsExactly("a", "b");
            assertThat(captions.get(0).prompt).isEqualTo("w5 w6 w7");
            assertThat(captions.get(1).tokens).isBetween(0, 3);
            assertThat(captions.get(0).tokens).isBetween(0, 8);
            assertThat(captions).allSatisfy(c -> {
                assertThat(c.model).isEqualTo("nanovlm");
                assertThat(c.caption).matches("(w\\d+( w\\d+)*)?");
            });
        }
    }
}
