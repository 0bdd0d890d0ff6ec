package dev.glimpse.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDManager;
import dev.glimpse.model.SmolVlmLoadingTest.Stored;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Qwen2-VL folders load through their name table: F32, F16, BF16, sharded, tied or not; every problem named as stored. */
class Qwen2VlLoadingTest {
    static Map<String, Stored> goldenTensors() throws Exception {
        Map<String, Stored> out = new LinkedHashMap<>();
        try (NDManager m = NDManager.newBaseManager()) {
            for (var e : Safetensors.read(m, Qwen2VlPromptTest.golden().resolve("model.safetensors")).entrySet()) {
                out.put(e.getKey(), new Stored("F32", e.getValue().getShape().getShape(), e.getValue().toFloatArray()));
            }
        }
        return out;
    }

    /** The golden folder's files except its weights. */
    static Path copyFolder(Path dir) throws Exception {
        try (Stream<Path> s = Files.list(Qwen2VlPromptTest.golden())) {
            for (Path p : s.toList()) {
                if (!p.getFileName().toString().equals("model.safetensors")) {
                    Files.copy(p, dir.resolve(p.getFileName()));
                }
            }
        }
        return dir;
    }

    static Path folderWith(Path dir, UnaryOperator<Map<String, Stored>> edit) throws Exception {
        copyFolder(dir);
        SmolVlmLoadingTest.write(dir.resolve("model.safetensors"), edit.apply(goldenTensors()));
        return dir;
    }

    static List<ReferenceVerifier.Stage> verify(Path dir) throws Exception {
        try (Qwen2VlModel model = Qwen2VlModel.load(dir)) {
            return Qwen2VlVerifier.verify(model, dir.resolve("expected.safetensors"));
        }
    }

    @Test
    void shouldRefuseAnUnknownModelTypeInOneLineNamingItAndTheSupportedOnes(@TempDir Path dir) throws Exception {
        copyFolder(dir);
        Path config = dir.resolve("config.json");
        Files.writeString(config, Files.readString(config).replace("\"model_type\": \"qwen2_vl\",", "\"model_type\": \"llava\","));
        assertThatThrownBy(() -> VisionLanguageModel.load(dir))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("model_type 'llava' is not supported")
                .hasMessageContaining("idefics3")
                .hasMessageContaining("qwen2_vl")
                .hasMessageContaining("nanoVLM")
                .satisfies(e -> assertThat(e.getMessage()).doesNotContain("\n"));
    }

    @Test
    void shouldSendAQwen2VlFolderToItsOwnLoaderInsteadOfReadingItAsNanoVlm() throws Exception {
        Path config = Qwen2VlPromptTest.golden().resolve("config.json");
        assertThat(Qwen2VlConfig.isQwen2Vl(config.getParent())).isTrue();
        assertThatThrownBy(() -> VisionLanguageModel.load(config.getParent()))
                .hasMessageContaining("Qwen2-VL (model_type qwen2_vl)")
                .satisfies(e -> assertThat(e.getMessage()).doesNotContain("missing tensor").doesNotContain("\n"));
        // What the job reads without loading the model.
        ModelConfig summary = ModelConfig.read(config);
        assertThat(summary.format()).isEqualTo(ModelConfig.Format.QWEN2VL);
        assertThat(summary.displayName()).isEqualTo("qwen2vl-tiny");
        assertThat(summary.defaultPrompt).isEqualTo(Qwen2VlConfig.DEFAULT_PROMPT);
        assertThat(summary.decodeTargetSize()).isEqualTo(112); // a 9408-pixel square, rounded up to 28
        assertThat(summary.copy().format()).isEqualTo(ModelConfig.Format.QWEN2VL);
    }

    @Test
    void shouldApplyTheDefaultsThatConfigJsonLeavesOut() throws Exception {
        Qwen2VlConfig cfg = Qwen2VlConfig.read(Qwen2VlPromptTest.golden());
        // vision_config omits patch_size, temporal_patch_size, spatial_merge_size, in_channels, hidden_act.
        assertThat(new int[] {cfg.patchSize(), cfg.temporalPatchSize(), cfg.mergeSize(), cfg.visionDepth(),
                cfg.visionEmbedDim(), cfg.visionHeads(), cfg.visionMlpDim(), cfg.hiddenSize(), cfg.heads(), cfg.kvHeads(),
                cfg.layers(), cfg.vocabSize(), cfg.imageTokenId(), cfg.visionStartTokenId(), cfg.minPixels(), cfg.maxPixels()})
                .containsExactly(14, 2, 2, 2, 32, 2, 64, 64, 4, 2, 2, 352, 340, 337, 3136, 9408);
        assertThat(cfg.mropeSection()).containsExactly(2, 3, 3);
        assertThat(cfg.stopTokenIds()).containsExactlyInAnyOrder(330, 328);
        assertThat(cfg.tieWordEmbeddings()).isTrue();
        assertThat(cfg.maxImageTokens()).isEqualTo(12);
        assertThat(cfg.withMaxImageTokens(4).maxPixels()).isEqualTo(4 * 28 * 28);
    }

    @Test
    void shouldReadAHubConfigThatSpellsMropeAndLeavesOutTheProcessorsDefaults(@TempDir Path dir) throws Exception {
        copyFolder(dir);
        Path config = dir.resolve("config.json");
        Files.writeString(config, Files.readString(config).replace("\"type\": \"default\"", "\"type\": \"mrope\"")
                .replace("\"rope_type\": \"default\",", ""));
        Files.writeString(dir.resolve("preprocessor_config.json"), "{\"image_processor_type\": \"Qwen2VLImageProcessor\"}");
        Qwen2VlConfig cfg = Qwen2VlConfig.read(dir);
        assertThat(new int[] {cfg.minPixels(), cfg.maxPixels(), cfg.resample()}).containsExactly(3136, 1003520, 3);
        assertThat(cfg.imageMean()).containsExactly(0.48145466f, 0.4578275f, 0.40821073f);
    }

    @Test
    void shouldRefuseWhatTheImplementationDoesNotComputeNamingTheKey(@TempDir Path dir) throws Exception {
        copyFolder(dir);
        Path config = dir.resolve("config.json");
        String original = Files.readString(config);
        Files.writeString(config, original.replace("\"mrope_section\": [\n      2,\n      3,\n      3\n    ]",
                "\"mrope_section\": [2, 2, 2]"));
        assertThatThrownBy(() -> Qwen2VlConfig.read(dir)).hasMessageContaining("rope_scaling.mrope_section [2, 2, 2] must sum to head_dim / 2 = 8");
        Files.writeString(config, original.replace("\"num_heads\": 2", "\"num_heads\": 2, \"hidden_act\": \"gelu\""));
        assertThatThrownBy(() -> Qwen2VlConfig.read(dir)).hasMessageContaining("vision_config.hidden_act must be quick_gelu");
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
            try (Qwen2VlModel model = Qwen2VlModel.load(dir)) {
                float want = golden.get("model.norm.weight").values()[5];
                float got = model.weights().get("model.norm.weight").toFloatArray()[5];
                float rounded = dtype.equals("BF16")
                        ? Float.intBitsToFloat(((Float.floatToIntBits(want) + 0x8000) >>> 16) << 16)
                        : Safetensors.halfToFloat(WeightsLoadingTest.floatToHalf(want));
                assertThat(got).as(dtype).isEqualTo(rounded);
                assertThat(got).as(dtype).isNotEqualTo(want);
                List<ReferenceVerifier.Stage> stages = Qwen2VlVerifier.verify(model, dir.resolve("expected.safetensors"));
                // The preprocessing and the prompt do not depend on the weights; the model stages move by the rounding only.
                assertThat(stages).filteredOn(s -> List.of("pixel_values", "image_grid_thw", "input_ids", "position_ids")
                        .contains(s.name())).hasSize(4).allSatisfy(s -> assertThat(s.pass()).as(dtype + " " + s.name()).isTrue());
                assertThat(stages).filteredOn(s -> s.name().equals("prefill_logits")).singleElement()
                        .satisfies(s -> assertThat(s.maxAbsDiff()).as(dtype).isGreaterThan(0).isLessThan(dtype.equals("F16") ? 0.05 : 0.5));
            }
        }
    }

    @Test
    void shouldLoadAShardedCheckpointThroughItsIndex(@TempDir Path dir) throws Exception {
        copyFolder(dir);
        Map<String, Stored> first = new LinkedHashMap<>();
        Map<String, Stored> second = new LinkedHashMap<>();
        List<String> entries = new ArrayList<>();
        for (var e : goldenTensors().entrySet()) {
            boolean text = e.getKey().startsWith("model.");
            (text ? second : first).put(e.getKey(), e.getValue());
            entries.add("\"" + e.getKey() + "\":\"model-0000" + (text ? 2 : 1) + "-of-00002.safetensors\"");
        }
        SmolVlmLoadingTest.write(dir.resolve("model-00001-of-00002.safetensors"), first);
        SmolVlmLoadingTest.write(dir.resolve("model-00002-of-00002.safetensors"), second);
        Files.writeString(dir.resolve("model.safetensors.index.json"),
                "{\"metadata\":{\"total_size\":0},\"weight_map\":{" + String.join(",", entries) + "}}");
        assertThat(verify(dir)).isNotEmpty().allSatisfy(s -> assertThat(s.pass()).as(s.name()).isTrue());
    }

    @Test
    void shouldUseAnUntiedLmHeadAndIgnoreAStoredCopyOfATiedOne(@TempDir Path untied, @TempDir Path tiedWithCopy)
            throws Exception {
        folderWith(tiedWithCopy, t -> {
            t.put(Qwen2VlWeights.LM_HEAD, t.get(Qwen2VlWeights.EMBED));
            return t;
        });
        assertThat(verify(tiedWithCopy)).allSatisfy(s -> assertThat(s.pass()).as(s.name()).isTrue());

        // Untied with the embedding as the head: the same logits, read through lm_head.weight.
        folderWith(untied, t -> {
            t.put(Qwen2VlWeights.LM_HEAD, t.get(Qwen2VlWeights.EMBED));
            return t;
        });
        Path config = untied.resolve("config.json");
        Files.writeString(config, Files.readString(config).replace("\"tie_word_embeddings\": true", "\"tie_word_embeddings\": false"));
        try (Qwen2VlModel model = Qwen2VlModel.load(untied)) {
            assertThat(model.weights().get(Qwen2VlWeights.LM_HEAD)).isNotSameAs(model.weights().get(Qwen2VlWeights.EMBED));
        }
        assertThat(verify(untied)).allSatisfy(s -> assertThat(s.pass()).as(s.name()).isTrue());
        SmolVlmLoadingTest.write(untied.resolve("model.safetensors"), goldenTensors());
        assertThatThrownBy(() -> Qwen2VlModel.load(untied)).hasMessageContaining("missing tensor lm_head.weight (352, 64)");
    }

    @Test
    void shouldNameEveryMissingMisShapedOrUnexpectedTensorAsStored(@TempDir Path dir) throws Exception {
        folderWith(dir, t -> {
            t.remove("model.norm.weight");
            t.remove("model.layers.1.self_attn.k_proj.bias");
            Stored merger = t.get("visual.merger.mlp.2.weight");
            t.put("visual.merger.mlp.2.weight", new Stored("F32", new long[] {128, 64}, merger.values()));
            t.put("model.surprise", new Stored("F32", new long[] {3}, new float[3]));
            return t;
        });
        assertThatThrownBy(() -> Qwen2VlModel.load(dir))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("4 problem(s)")
                .hasMessageContaining("missing tensor model.norm.weight (64)")
                .hasMessageContaining("missing tensor model.layers.1.self_attn.k_proj.bias (32)")
                .hasMessageContaining("tensor visual.merger.mlp.2.weight has shape (128, 64), expected (64, 128)")
                .hasMessageContaining("unexpected tensor model.surprise (3)");
    }
}
