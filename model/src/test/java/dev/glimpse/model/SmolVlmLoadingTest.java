package dev.glimpse.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** SmolVLM folders load through Idefics3's name table: F32, F16, BF16, sharded; every problem named as stored. */
class SmolVlmLoadingTest {
    /** A stored tensor: its dtype, shape and values as floats. */
    record Stored(String dtype, long[] shape, float[] values) {}

    static Map<String, Stored> goldenTensors() throws Exception {
        Map<String, Stored> out = new LinkedHashMap<>();
        try (NDManager m = NDManager.newBaseManager()) {
            for (var e : Safetensors.read(m, SmolVlmReferenceParityTest.golden().resolve("model.safetensors")).entrySet()) {
                out.put(e.getKey(), new Stored("F32", e.getValue().getShape().getShape(), e.getValue().toFloatArray()));
            }
        }
        return out;
    }

    /** The golden folder's files except its weights. */
    static Path copyFolder(Path dir) throws Exception {
        try (Stream<Path> s = Files.list(SmolVlmReferenceParityTest.golden())) {
            for (Path p : s.toList()) {
                if (!p.getFileName().toString().equals("model.safetensors")) {
                    Files.copy(p, dir.resolve(p.getFileName()));
                }
            }
        }
        return dir;
    }

    /** Writes tensors as safetensors, each in its own dtype (F32, F16 or BF16, rounded to nearest). */
    static void write(Path file, Map<String, Stored> tensors) throws Exception {
        StringBuilder header = new StringBuilder("{\"__metadata__\":{\"format\":\"pt\"}");
        ByteArrayOutputStream data = new ByteArrayOutputStream();
        for (var e : tensors.entrySet()) {
            Stored t = e.getValue();
            int begin = data.size();
            for (float v : t.values()) {
                if (t.dtype().equals("F32")) {
                    int bits = Float.floatToIntBits(v);
                    for (int b = 0; b < 4; b++) {
                        data.write((bits >>> (8 * b)) & 0xFF);
                    }
                } else {
                    short h = t.dtype().equals("BF16") ? (short) ((Float.floatToIntBits(v) + 0x8000) >>> 16)
                            : WeightsLoadingTest.floatToHalf(v);
                    data.write(h & 0xFF);
                    data.write((h >>> 8) & 0xFF);
                }
            }
            header.append(",\"").append(e.getKey()).append("\":{\"dtype\":\"").append(t.dtype()).append("\",\"shape\":")
                    .append(Arrays.toString(t.shape()).replace(" ", ""))
                    .append(",\"data_offsets\":[").append(begin).append(',').append(data.size()).append("]}");
        }
        byte[] h = header.append('}').toString().getBytes(StandardCharsets.UTF_8);
        try (OutputStream out = Files.newOutputStream(file)) {
            out.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(h.length).array());
            out.write(h);
            data.writeTo(out);
        }
    }

    static Path folderWith(Path dir, UnaryOperator<Map<String, Stored>> edit) throws Exception {
        copyFolder(dir);
        write(dir.resolve("model.safetensors"), edit.apply(goldenTensors()));
        return dir;
    }

    static List<ReferenceVerifier.Stage> verify(Path dir) throws Exception {
        try (VisionLanguageModel model = VisionLanguageModel.load(dir)) {
            return ReferenceVerifier.verify(model, dir.resolve("expected.safetensors"));
        }
    }

    @Test
    void shouldLoadF16AndBf16WidenedExactlyToF32(@TempDir Path f16, @TempDir Path bf16) throws Exception {
        Map<String, Stored> golden = goldenTensors();
        for (var c : List.of(new Object[] {f16, "F16"}, new Object[] {bf16, "BF16"})) {
            String dtype = (String) c[1];
            Path dir = folderWith((Path) c[0], t -> {
                Map<String, Stored> half = new LinkedHashMap<>();
                t.forEach((k, v) -> half.put(k, new Stored(dtype, v.shape(), v.values())));
                return half;
            });
            try (VisionLanguageModel model = VisionLanguageModel.load(dir)) {
                float want = golden.get("model.text_model.norm.weight").values()[5];
                float got = model.weights().get("decoder.norm.weight").toFloatArray()[5];
                float rounded = dtype.equals("BF16")
                        ? Float.intBitsToFloat(((Float.floatToIntBits(want) + 0x8000) >>> 16) << 16)
                        : Safetensors.halfToFloat(WeightsLoadingTest.floatToHalf(want));
                assertThat(got).as(dtype).isEqualTo(rounded);
                assertThat(got).as(dtype).isNotEqualTo(want);
                List<ReferenceVerifier.Stage> stages = ReferenceVerifier.verify(model, dir.resolve("expected.safetensors"));
                // The preprocessing and the prompt do not depend on the weights; the model stages move by the rounding only.
                assertThat(stages).filteredOn(s -> s.name().contains("pixel") || s.name().endsWith("ids") && !s.name().startsWith("greedy"))
                        .allSatisfy(s -> assertThat(s.pass()).as(dtype + " " + s.name()).isTrue());
                assertThat(stages).filteredOn(s -> s.name().equals("prefill_logits"))
                        .allSatisfy(s -> assertThat(s.maxAbsDiff()).as(dtype).isLessThan(dtype.equals("F16") ? 0.05 : 0.5));
            }
        }
    }

    @Test
    void shouldLoadAShardedCheckpointThroughItsIndex(@TempDir Path dir) throws Exception {
        copyFolder(dir);
        Map<String, Stored> all = goldenTensors();
        Map<String, Stored> first = new LinkedHashMap<>();
        Map<String, Stored> second = new LinkedHashMap<>();
        StringBuilder index = new StringBuilder("{\"metadata\":{\"total_size\":0},\"weight_map\":{");
        List<String> entries = new ArrayList<>();
        for (var e : all.entrySet()) {
            boolean text = e.getKey().startsWith("model.text_model") || e.getKey().equals("lm_head.weight");
            (text ? second : first).put(e.getKey(), e.getValue());
            entries.add("\"" + e.getKey() + "\":\"model-0000" + (text ? 2 : 1) + "-of-00002.safetensors\"");
        }
        write(dir.resolve("model-00001-of-00002.safetensors"), first);
        write(dir.resolve("model-00002-of-00002.safetensors"), second);
        Files.writeString(dir.resolve("model.safetensors.index.json"), index.append(String.join(",", entries)).append("}}"));
        assertThat(verify(dir)).isNotEmpty().allSatisfy(s -> assertThat(s.pass()).as(s.name()).isTrue());
    }

    @Test
    void shouldUseTheUntiedLmHeadAsStored() throws Exception {
        Map<String, Stored> golden = goldenTensors();
        try (VisionLanguageModel model = VisionLanguageModel.load(SmolVlmReferenceParityTest.golden())) {
            assertThat(model.config().lmTieWeights).isFalse();
            NDArray head = model.weights().get("decoder.head.weight");
            assertThat(head.toFloatArray()).containsExactly(golden.get("lm_head.weight").values());
            assertThat(head.toFloatArray()).isNotEqualTo(golden.get("model.text_model.embed_tokens.weight").values());
        }
    }

    @Test
    void shouldNameEveryMissingMisShapedOrUnexpectedTensorAsStored(@TempDir Path dir) throws Exception {
        folderWith(dir, t -> {
            t.remove("model.text_model.norm.weight");
            t.remove("model.vision_model.encoder.layers.1.self_attn.k_proj.bias");
            Stored proj = t.get("model.connector.modality_projection.proj.weight");
            t.put("model.connector.modality_projection.proj.weight", new Stored("F32", new long[] {96, 64}, proj.values()));
            t.put("model.surprise", new Stored("F32", new long[] {3}, new float[3]));
            return t;
        });
        assertThatThrownBy(() -> VisionLanguageModel.load(dir))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("4 problem(s)")
                .hasMessageContaining("missing tensor model.text_model.norm.weight (48)")
                .hasMessageContaining("missing tensor model.vision_model.encoder.layers.1.self_attn.k_proj.bias (32)")
                .hasMessageContaining("tensor model.connector.modality_projection.proj.weight has shape (96, 64), expected (48, 128)")
                .hasMessageContaining("unexpected tensor model.surprise (3)");
    }

    @Test
    void shouldRefuseWhatTheImplementationDoesNotCompute(@TempDir Path dir) throws Exception {
        copyFolder(dir);
        Path config = dir.resolve("config.json");
        Files.writeString(config, Files.readString(config).replace("\"attention_bias\": false", "\"attention_bias\": true"));
        assertThatThrownBy(() -> ModelConfig.read(config))
                .hasMessageContaining("text_config.attention_bias=true is not supported");
        Files.delete(dir.resolve("chat_template.json"));
        Files.writeString(config, Files.readString(config).replace("\"attention_bias\": true", "\"attention_bias\": false"));
        // The template is also in tokenizer_config.json, as older saves keep it.
        assertThat(ModelConfig.read(config).idefics3.chatTemplate()).startsWith("<|im_start|>");
        Files.delete(dir.resolve("tokenizer_config.json"));
        assertThatThrownBy(() -> ModelConfig.read(config)).hasMessageContaining("has no chat template");
    }

    @Test
    void shouldReadTheShapesAndTheProcessorSettings() throws Exception {
        ModelConfig cfg = ModelConfig.read(SmolVlmReferenceParityTest.golden().resolve("config.json"));
        assertThat(cfg.format()).isEqualTo(ModelConfig.Format.IDEFICS3);
        assertThat(new int[] {cfg.vitHiddenDim, cfg.vitNBlocks, cfg.vitPatchSize, cfg.vitImgSize, cfg.lmHiddenDim,
                cfg.lmNHeads, cfg.lmNKvHeads, cfg.lmVocabSize, cfg.mpPixelShuffleFactor, cfg.lmEosTokenId, cfg.lmPadTokenId})
                .containsExactly(32, 2, 8, 32, 48, 6, 2, 120, 2, 119, 2);
        Idefics3Settings s = cfg.idefics3;
        assertThat(s.imageTokenId()).isEqualTo(118);
        assertThat(s.imageSeqLen()).isEqualTo(4);
        assertThat(s.longestEdge()).isEqualTo(96);
        assertThat(s.tileSize()).isEqualTo(32);
        assertThat(s.doImageSplitting()).isTrue();
        assertThat(s.resample()).isEqualTo(PillowResampler.LANCZOS);
        assertThat(cfg.defaultPrompt).isEqualTo("Can you describe this image?");
        assertThat(cfg.copy().idefics3.chatTemplate()).isEqualTo(s.chatTemplate());
    }
}
