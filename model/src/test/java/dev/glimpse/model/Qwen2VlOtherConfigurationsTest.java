package dev.glimpse.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.awt.image.BufferedImage;
import java.awt.image.IndexColorModel;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Qwen2-VL parity beyond the one reference made by transformers. An independent loop implementation
 * ({@link NaiveQwen2Vl}, reading the stored names) is first checked against that reference, then makes
 * references for grouped-query attention 4:1, deeper towers, an untied head, another
 * {@code mrope_section}, and images that are upscaled (to min_pixels), downscaled (to max_pixels) and
 * read from a palette PNG; {@code verify-reference}'s checker must pass on each, from the folder's
 * PNG files and prompt.txt to the greedy ids.
 */
class Qwen2VlOtherConfigurationsTest {
    static final int STEPS = 6;
    static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void naiveImplementationShouldMatchTransformersOwnReference() throws Exception {
        Path golden = Qwen2VlPromptTest.golden();
        Qwen2VlConfig c = Qwen2VlConfig.read(golden);
        try (NDManager m = NDManager.newBaseManager()) {
            Map<String, float[]> w = OtherConfigurationsParityTest.floats(Safetensors.read(m, golden.resolve("model.safetensors")));
            Map<String, NDArray> expected = Safetensors.read(m, golden.resolve("expected.safetensors"));
            int[][] grids = {{1, 4, 8}, {1, 4, 4}};
            NaiveQwen2Vl.Outputs o = new NaiveQwen2Vl(c, w).run(expected.get("pixel_values").toFloatArray(), grids,
                    expected.get("input_ids").toLongArray(), 10);
            assertClose(o.patchEmbed(), expected.get("vision_patch_embed").toFloatArray());
            assertClose(o.visionOut(), expected.get("vision_out").toFloatArray());
            assertClose(o.embeds(), expected.get("inputs_embeds").toFloatArray());
            assertThat(Arrays.stream(o.positions()).flatMapToLong(Arrays::stream).toArray())
                    .containsExactly(expected.get("position_ids").toLongArray());
            assertClose(o.logits(), expected.get("prefill_logits").toFloatArray());
            assertClose(o.stepLogits(), expected.get("greedy_step_logits").toFloatArray());
            assertThat(o.greedy()).containsExactly(expected.get("greedy_ids").toLongArray());
        }
    }

    @Test
    void shouldResizeAsSmartResizeDoesWithPythonsRounding() {
        // 70 / 28 = 2.5 rounds to 2 (half to even), not 3; 98 / 28 = 3.5 rounds to 4.
        assertThat(Qwen2VlImageProcessor.smartResize(70, 45, 28, 3136, 9408)).containsExactly(56, 56);
        assertThat(Qwen2VlImageProcessor.smartResize(98, 56, 28, 56 * 56, 100_000)).containsExactly(112, 56);
        // Upscaled to min_pixels (ceil), downscaled to max_pixels (floor), aspect ratio kept.
        assertThat(Qwen2VlImageProcessor.smartResize(29, 30, 28, 3136, 9408)).containsExactly(56, 84);
        assertThat(Qwen2VlImageProcessor.smartResize(290, 400, 28, 3136, 9408)).containsExactly(56, 112);
        // A 2048x1536 photo under the hub default max_pixels: 41 x 30 merged tokens.
        assertThat(Qwen2VlImageProcessor.smartResize(2048, 1536, 28, 3136, 28 * 28 * 1280)).containsExactly(1148, 840);
    }

    /** The golden folder's config, changed for {@code name}. */
    static void writeFolder(Path dir, String name) throws Exception {
        Path golden = Qwen2VlPromptTest.golden();
        for (String f : new String[] {"tokenizer.json", "chat_template.json", "generation_config.json",
                Qwen2VlConfig.PREPROCESSOR}) {
            Files.copy(golden.resolve(f), dir.resolve(f));
        }
        ObjectNode config = (ObjectNode) JSON.readTree(golden.resolve("config.json").toFile());
        ObjectNode vision = (ObjectNode) config.get("vision_config");
        switch (name) {
            case "gqa4" -> {
                config.put("hidden_size", 128);
                config.put("num_attention_heads", 8);
                config.put("num_key_value_heads", 2);
                vision.put("hidden_size", 128);
            }
            case "deep" -> {
                vision.put("depth", 3);
                config.put("num_hidden_layers", 4);
            }
            case "untied" -> config.put("tie_word_embeddings", false);
            case "mrope-4-2-2" -> ((ObjectNode) config.get("rope_scaling")).set("mrope_section", JSON.readTree("[4, 2, 2]"));
            case "upscaled-downscaled", "palette" -> { }
            default -> throw new IllegalArgumentException(name);
        }
        Files.write(dir.resolve("config.json"), JSON.writeValueAsBytes(config));
    }

    /** Random weights under the stored names, drawn as the golden ones were. */
    static Map<String, float[]> randomWeights(Qwen2VlConfig c, Random rnd) {
        Map<String, float[]> w = new LinkedHashMap<>();
        for (Map.Entry<String, Shape> e : Qwen2VlWeights.table(c).entrySet()) {
            String n = e.getKey();
            Shape s = e.getValue();
            float[] v = new float[Math.toIntExact(s.size())];
            boolean norm = n.contains("norm") || n.contains("ln_q");
            double std = n.equals(Qwen2VlWeights.EMBED) ? 0.5 : s.dimension() > 1 ? 1.5 / Math.sqrt(s.size() / s.get(0)) : 0.3;
            for (int j = 0; j < v.length; j++) {
                v[j] = norm ? (n.endsWith(".weight") ? 1 : 0) + (rnd.nextFloat() * 0.2f - 0.1f) : (float) (rnd.nextGaussian() * std);
            }
            w.put(n, v);
        }
        return w;
    }

    /** An 8-colour palette image: each pixel's index picks its colour. */
    static BufferedImage palette(int width, int height, long seed) {
        byte[] r = new byte[8];
        byte[] g = new byte[8];
        byte[] b = new byte[8];
        Random rnd = new Random(seed);
        for (int i = 0; i < 8; i++) {
            r[i] = (byte) rnd.nextInt(256);
            g[i] = (byte) rnd.nextInt(256);
            b[i] = (byte) rnd.nextInt(256);
        }
        BufferedImage img = new BufferedImage(width, height, BufferedImage.TYPE_BYTE_INDEXED, new IndexColorModel(3, 8, r, g, b));
        for (int y = 0; y < height; y++) {
            for (int x = 0; x < width; x++) {
                img.getRaster().setSample(x, y, 0, (x / 7 + y / 5 + rnd.nextInt(2)) % 8);
            }
        }
        return img;
    }

    /** Pillow's {@code convert("RGB")} of a palette image: each index looked up. */
    static long[] paletteRgb(BufferedImage img) {
        IndexColorModel cm = (IndexColorModel) img.getColorModel();
        long[] out = new long[3 * img.getWidth() * img.getHeight()];
        int i = 0;
        for (int y = 0; y < img.getHeight(); y++) {
            for (int x = 0; x < img.getWidth(); x++) {
                int index = img.getRaster().getSample(x, y, 0);
                out[i++] = cm.getRed(index);
                out[i++] = cm.getGreen(index);
                out[i++] = cm.getBlue(index);
            }
        }
        return out;
    }

    @ParameterizedTest
    @ValueSource(strings = {"gqa4", "deep", "untied", "mrope-4-2-2", "upscaled-downscaled", "palette"})
    void shouldMatchTheNaiveImplementation(String name, @TempDir Path dir) throws Exception {
        writeFolder(dir, name);
        Qwen2VlConfig c = Qwen2VlConfig.read(dir);
        Map<String, float[]> w = randomWeights(c, new Random(name.hashCode()));
        Map<String, SmolVlmLoadingTest.Stored> stored = new LinkedHashMap<>();
        Qwen2VlWeights.table(c).forEach((n, s) -> stored.put(n, new SmolVlmLoadingTest.Stored("F32", s.getShape(), w.get(n))));
        SmolVlmLoadingTest.write(dir.resolve("model.safetensors"), stored);

        BufferedImage paletteImage = palette(90, 61, 5);
        switch (name) {
            case "upscaled-downscaled" -> {
                SmolVlmOtherConfigurationsTest.writePng(dir.resolve("image_0.png"), Qwen2VlBatchingTest.image(30, 29, 7));
                SmolVlmOtherConfigurationsTest.writePng(dir.resolve("image_1.png"), Qwen2VlBatchingTest.image(400, 290, 8));
            }
            case "palette" -> ImageIO.write(paletteImage, "png", dir.resolve("image_0.png").toFile());
            default -> {
                SmolVlmOtherConfigurationsTest.writePng(dir.resolve("image_0.png"), Qwen2VlBatchingTest.image(160, 96, 9));
                SmolVlmOtherConfigurationsTest.writePng(dir.resolve("image_1.png"), Qwen2VlBatchingTest.image(45, 70, 10));
            }
        }
        int inPrompt = name.equals("palette") ? 1 : 2;
        String chat = new Qwen2VlPrompt(c.chatTemplate()).chat(inPrompt, "Describe the pictures.");
        Files.writeString(dir.resolve("prompt.txt"), chat);

        // The folder's own preprocessing and prompt (checked against transformers on the golden folder) feed the naive model.
        long[] ids;
        float[] pixels;
        int[][] grids;
        try (Qwen2VlModel model = Qwen2VlModel.load(dir)) {
            List<Qwen2VlImageProcessor.Patches> patches = new java.util.ArrayList<>();
            for (int i = 0; i < inPrompt; i++) {
                patches.add(model.processor().process(Qwen2VlVerifier.rgb(dir.resolve("image_" + i + ".png"), c)));
            }
            grids = patches.stream().map(p -> new int[] {p.gridT(), p.gridH(), p.gridW()}).toArray(int[][]::new);
            ids = model.encode(Qwen2VlPrompt.expand(chat, patches.stream().mapToInt(p -> p.mergedTokens(2)).toArray()));
            pixels = new float[patches.stream().mapToInt(p -> p.values().length).sum()];
            int at = 0;
            for (Qwen2VlImageProcessor.Patches p : patches) {
                System.arraycopy(p.values(), 0, pixels, at, p.values().length);
                at += p.values().length;
            }
        }
        assertThat(grids).isDeepEqualTo(switch (name) {
            case "upscaled-downscaled" -> new int[][] {{1, 4, 6}, {1, 4, 8}}; // 30x29 up to 84x56, 400x290 down to 112x56
            case "palette" -> new int[][] {{1, 4, 6}}; // 90x61: 84x56
            default -> new int[][] {{1, 4, 8}, {1, 4, 4}};
        });
        NaiveQwen2Vl.Outputs o = new NaiveQwen2Vl(c, w).run(pixels, grids, ids, STEPS);
        assertThat(o.greedy()).as("a reference whose greedy ids reach a stop token would be cut short")
                .doesNotContain(Arrays.stream(c.stopTokenIds()).boxed().toArray(Long[]::new));

        try (NDManager m = NDManager.newBaseManager()) {
            NDList expected = new NDList();
            int n = pixels.length / c.patchValues();
            expected.add(OtherConfigurationsParityTest.named(m.create(pixels, new Shape(n, c.patchValues())), "pixel_values"));
            expected.add(OtherConfigurationsParityTest.named(m.create(Arrays.stream(grids).flatMapToInt(Arrays::stream)
                    .asLongStream().toArray(), new Shape(grids.length, 3)), "image_grid_thw"));
            expected.add(OtherConfigurationsParityTest.named(m.create(ids, new Shape(1, ids.length)), "input_ids"));
            expected.add(OtherConfigurationsParityTest.named(
                    OtherConfigurationsParityTest.tensor(m, new double[][][] {o.patchEmbed()}).squeeze(0), "vision_patch_embed"));
            expected.add(OtherConfigurationsParityTest.named(
                    OtherConfigurationsParityTest.tensor(m, new double[][][] {o.visionOut()}).squeeze(0), "vision_out"));
            expected.add(OtherConfigurationsParityTest.named(
                    OtherConfigurationsParityTest.tensor(m, new double[][][] {o.embeds()}), "inputs_embeds"));
            expected.add(OtherConfigurationsParityTest.named(m.create(Arrays.stream(o.positions()).flatMapToLong(Arrays::stream)
                    .toArray(), new Shape(3, 1, ids.length)), "position_ids"));
            expected.add(OtherConfigurationsParityTest.named(
                    OtherConfigurationsParityTest.tensor(m, new double[][][] {o.logits()}), "prefill_logits"));
            expected.add(OtherConfigurationsParityTest.named(m.create(o.greedy(), new Shape(1, STEPS)), "greedy_ids"));
            expected.add(OtherConfigurationsParityTest.named(
                    OtherConfigurationsParityTest.tensor(m, new double[][][] {o.stepLogits()}).squeeze(0), "greedy_step_logits"));
            if (name.equals("palette")) {
                expected.add(OtherConfigurationsParityTest.named(m.create(paletteRgb(paletteImage),
                        new Shape(paletteImage.getHeight(), paletteImage.getWidth(), 3)), "image0.rgb"));
            }
            try (OutputStream out = Files.newOutputStream(dir.resolve("expected.safetensors"))) {
                expected.encode(out, NDList.Encoding.SAFETENSORS);
            }
        }
        List<ReferenceVerifier.Stage> stages = Qwen2VlLoadingTest.verify(dir);
        System.out.println(name + ": grids " + Arrays.deepToString(grids) + ", " + ids.length + " prompt tokens");
        System.out.print(ReferenceVerifier.table(stages));
        assertThat(stages).extracting(ReferenceVerifier.Stage::name).contains("pixel_values", "image_grid_thw",
                "input_ids", "vision_patch_embed", "vision_out", "inputs_embeds", "position_ids", "prefill_logits",
                "greedy_ids", "greedy_step_logits");
        if (name.equals("palette")) {
            assertThat(stages).extracting(ReferenceVerifier.Stage::name).contains("image0.rgb");
        }
        assertThat(stages).allSatisfy(st -> assertThat(st.pass()).as(name + " " + st.name()).isTrue());
    }

    static void assertClose(double[][] got, float[] want) {
        int i = 0;
        for (double[] row : got) {
            for (double v : row) {
                assertThat(v).isCloseTo(want[i++], within(1e-4));
            }
        }
        assertThat(i).isEqualTo(want.length);
    }
}
