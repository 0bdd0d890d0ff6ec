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
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
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
 * SmolVLM parity beyond the one reference made by transformers. An independent loop implementation
 * of Idefics3 ({@link NaiveIdefics3}, reading the stored names) is first checked against that
 * reference, then makes references for a pixel-shuffle factor of 3, grouped-query attention 4:1,
 * deeper towers, a prompt with two images and image splitting off; {@code verify-reference}'s checker
 * must pass on each, from the folder's PNG files and prompt.txt to the greedy ids.
 */
class SmolVlmOtherConfigurationsTest {
    static final int STEPS = 8;
    static final ObjectMapper JSON = new ObjectMapper();

    record Outputs(double[][][] vision, double[][][] connector, double[][] embeds, double[][] logits, long[] greedy) {}

    static Outputs naive(ModelConfig c, Map<String, float[]> w, float[] pixels, long[] ids) {
        NaiveIdefics3 m = new NaiveIdefics3(c, w);
        int per = 3 * c.vitImgSize * c.vitImgSize;
        int tiles = pixels.length / per;
        double[][][] vision = new double[tiles][][];
        double[][][] connector = new double[tiles][][];
        for (int t = 0; t < tiles; t++) {
            vision[t] = m.vision(m.embeddings(Arrays.copyOfRange(pixels, t * per, (t + 1) * per)));
            connector[t] = m.connector(vision[t]);
        }
        double[][] embeds = m.merge(ids, List.of(connector));
        double[][] logits = m.logits(embeds);
        List<double[]> seq = new ArrayList<>(List.of(embeds));
        long[] greedy = new long[STEPS];
        for (int s = 0; s < STEPS; s++) {
            double[][] l = s == 0 ? logits : m.logits(seq.toArray(new double[0][]));
            double[] last = l[l.length - 1];
            int best = 0;
            for (int v = 1; v < last.length; v++) {
                if (last[v] > last[best]) {
                    best = v;
                }
            }
            greedy[s] = best;
            seq.add(m.embed(best));
        }
        return new Outputs(vision, connector, embeds, logits, greedy);
    }

    static void assertClose(double[][] got, float[] want, int from) {
        int i = from;
        for (double[] row : got) {
            for (double v : row) {
                assertThat(v).isCloseTo(want[i++], within(1e-4));
            }
        }
    }

    @Test
    void naiveImplementationShouldMatchTransformersOwnReference() throws Exception {
        Path golden = SmolVlmReferenceParityTest.golden();
        ModelConfig c = ModelConfig.read(golden.resolve("config.json"));
        try (NDManager m = NDManager.newBaseManager()) {
            Map<String, float[]> w = OtherConfigurationsParityTest.floats(Safetensors.read(m, golden.resolve("model.safetensors")));
            Map<String, NDArray> expected = Safetensors.read(m, golden.resolve("expected.safetensors"));
            Outputs o = naive(c, w, expected.get("pixel_values").toFloatArray(), expected.get("input_ids").toLongArray());
            float[] vision = expected.get("vision_out").toFloatArray();
            float[] connector = expected.get("connector_out").toFloatArray();
            for (int t = 0; t < o.vision().length; t++) {
                assertClose(o.vision()[t], vision, t * o.vision()[t].length * o.vision()[t][0].length);
                assertClose(o.connector()[t], connector, t * o.connector()[t].length * o.connector()[t][0].length);
            }
            assertClose(o.embeds(), expected.get("inputs_embeds").toFloatArray(), 0);
            assertClose(o.logits(), expected.get("prefill_logits").toFloatArray(), 0);
            assertThat(o.greedy()).containsExactly(Arrays.copyOf(expected.get("greedy_ids").toLongArray(), STEPS));
        }
    }

    /** The golden folder's config and preprocessor, changed for {@code name}. */
    static void writeFolder(Path dir, String name) throws Exception {
        Path golden = SmolVlmReferenceParityTest.golden();
        for (String f : new String[] {"tokenizer.json", "chat_template.json", "generation_config.json", "special_tokens_map.json"}) {
            Files.copy(golden.resolve(f), dir.resolve(f));
        }
        ObjectNode config = (ObjectNode) JSON.readTree(golden.resolve("config.json").toFile());
        ObjectNode pre = (ObjectNode) JSON.readTree(golden.resolve(Idefics3Config.PREPROCESSOR).toFile());
        ObjectNode vision = (ObjectNode) config.get("vision_config");
        ObjectNode text = (ObjectNode) config.get("text_config");
        switch (name) {
            case "shuffle3" -> {
                // 48 px tiles of 8 px patches: 6 x 6 patches, 2 x 2 image tokens per tile.
                vision.put("image_size", 48);
                config.put("scale_factor", 3);
                ((ObjectNode) pre.get("max_image_size")).put("longest_edge", 48);
            }
            case "gqa4" -> {
                text.put("hidden_size", 64);
                text.put("num_attention_heads", 8);
                text.put("num_key_value_heads", 2);
                text.put("head_dim", 8);
                text.put("intermediate_size", 128);
            }
            case "deep" -> {
                vision.put("num_hidden_layers", 4);
                text.put("num_hidden_layers", 5);
            }
            case "no-splitting" -> pre.put("do_image_splitting", false);
            case "two-images" -> { }
            default -> throw new IllegalArgumentException(name);
        }
        Files.write(dir.resolve("config.json"), JSON.writeValueAsBytes(config));
        Files.write(dir.resolve(Idefics3Config.PREPROCESSOR), JSON.writeValueAsBytes(pre));
    }

    /** Random weights under the stored names, drawn as the golden ones were (norms near 1, N(0, 0.3²) else). */
    static Map<String, float[]> randomWeights(ModelConfig c, Random rnd) {
        Map<String, float[]> w = new LinkedHashMap<>();
        for (Idefics3Weights.Sources src : Idefics3Weights.table(c).values()) {
            for (int i = 0; i < src.names().size(); i++) {
                String n = src.names().get(i);
                float[] v = new float[Math.toIntExact(src.shapes().get(i).size())];
                boolean norm = n.contains("norm");
                for (int j = 0; j < v.length; j++) {
                    v[j] = norm && n.endsWith(".weight") ? 1 + (rnd.nextFloat() * 0.2f - 0.1f)
                            : n.endsWith(".bias") ? rnd.nextFloat() * 0.2f - 0.1f : (float) (rnd.nextGaussian() * 0.3);
                }
                w.put(n, v);
            }
        }
        return w;
    }

    static void writePng(Path file, RgbImage image) throws Exception {
        BufferedImage b = new BufferedImage(image.width(), image.height(), BufferedImage.TYPE_INT_RGB);
        byte[] rgb = image.rgb();
        for (int y = 0; y < image.height(); y++) {
            for (int x = 0; x < image.width(); x++) {
                int i = 3 * (y * image.width() + x);
                b.setRGB(x, y, (rgb[i] & 0xFF) << 16 | (rgb[i + 1] & 0xFF) << 8 | (rgb[i + 2] & 0xFF));
            }
        }
        ImageIO.write(b, "png", file.toFile());
    }

    @ParameterizedTest
    @ValueSource(strings = {"shuffle3", "gqa4", "deep", "two-images", "no-splitting"})
    void shouldMatchTheNaiveImplementation(String name, @TempDir Path dir) throws Exception {
        writeFolder(dir, name);
        ModelConfig c = ModelConfig.read(dir.resolve("config.json"));
        Random rnd = new Random(name.hashCode());
        Map<String, float[]> w = randomWeights(c, rnd);
        Map<String, SmolVlmLoadingTest.Stored> stored = new LinkedHashMap<>();
        Idefics3Weights.table(c).values().forEach(src -> {
            for (int i = 0; i < src.names().size(); i++) {
                stored.put(src.names().get(i), new SmolVlmLoadingTest.Stored("F32", src.shapes().get(i).getShape(),
                        w.get(src.names().get(i))));
            }
        });
        SmolVlmLoadingTest.write(dir.resolve("model.safetensors"), stored);
        List<RgbImage> images = List.of(SmolVlmBatchingTest.drawn(64, 40, 11), SmolVlmBatchingTest.drawn(40, 40, 12));
        for (int i = 0; i < images.size(); i++) {
            writePng(dir.resolve("image_" + i + ".png"), images.get(i));
        }
        int inPrompt = name.equals("two-images") ? 2 : 1;
        Idefics3Prompt prompt = new Idefics3Prompt(c.idefics3);
        String chat = prompt.chat(inPrompt, "Can you describe this image?");
        Files.writeString(dir.resolve("prompt.txt"), chat);

        // The folder's own preprocessing and prompt (checked against transformers on the golden folder) feed the naive model.
        Idefics3ImageProcessor processor = new Idefics3ImageProcessor(c.idefics3);
        List<Idefics3ImageProcessor.Tiles> tiles = new ArrayList<>();
        for (int i = 0; i < inPrompt; i++) {
            tiles.add(processor.process(images.get(i)));
        }
        int count = tiles.stream().mapToInt(Idefics3ImageProcessor.Tiles::count).sum();
        float[] pixels = new float[count * 3 * c.vitImgSize * c.vitImgSize];
        int at = 0;
        for (Idefics3ImageProcessor.Tiles t : tiles) {
            System.arraycopy(t.pixels(), 0, pixels, at, t.pixels().length);
            at += t.pixels().length;
        }
        int[][] grids = tiles.stream().map(t -> new int[] {t.rows(), t.cols()}).toArray(int[][]::new);
        long[] ids;
        try (CaptionTokenizer tok = CaptionTokenizer.load(dir.resolve("tokenizer.json"), c)) {
            ids = tok.encodeAsProcessor(prompt.expand(chat, grids));
        }
        Outputs o = naive(c, w, pixels, ids);

        try (NDManager m = NDManager.newBaseManager()) {
            int s = c.vitImgSize;
            NDList expected = new NDList();
            expected.add(OtherConfigurationsParityTest.named(m.create(pixels, new Shape(1, count, 3, s, s)), "pixel_values"));
            expected.add(OtherConfigurationsParityTest.named(
                    m.create(processor.pixelAttentionMask(new int[] {count}), new Shape(1, count, s, s)), "pixel_attention_mask"));
            expected.add(OtherConfigurationsParityTest.named(
                    m.create(tiles.stream().mapToLong(Idefics3ImageProcessor.Tiles::rows).toArray(), new Shape(1, inPrompt)), "rows"));
            expected.add(OtherConfigurationsParityTest.named(
                    m.create(tiles.stream().mapToLong(Idefics3ImageProcessor.Tiles::cols).toArray(), new Shape(1, inPrompt)), "cols"));
            expected.add(OtherConfigurationsParityTest.named(m.create(ids, new Shape(1, ids.length)), "input_ids"));
            expected.add(OtherConfigurationsParityTest.named(OtherConfigurationsParityTest.tensor(m, o.vision()), "vision_out"));
            expected.add(OtherConfigurationsParityTest.named(OtherConfigurationsParityTest.tensor(m, o.connector()), "connector_out"));
            expected.add(OtherConfigurationsParityTest.named(
                    OtherConfigurationsParityTest.tensor(m, new double[][][] {o.embeds()}), "inputs_embeds"));
            expected.add(OtherConfigurationsParityTest.named(
                    OtherConfigurationsParityTest.tensor(m, new double[][][] {o.logits()}), "prefill_logits"));
            expected.add(OtherConfigurationsParityTest.named(m.create(o.greedy(), new Shape(1, STEPS)), "greedy_ids"));
            try (OutputStream out = Files.newOutputStream(dir.resolve("expected.safetensors"))) {
                expected.encode(out, NDList.Encoding.SAFETENSORS);
            }
        }
        try (VisionLanguageModel model = VisionLanguageModel.load(dir)) {
            List<ReferenceVerifier.Stage> stages = ReferenceVerifier.verify(model, dir.resolve("expected.safetensors"));
            System.out.println(name + ": " + count + " tiles, " + ids.length + " prompt tokens");
            System.out.print(ReferenceVerifier.table(stages));
            assertThat(stages).extracting(ReferenceVerifier.Stage::name).containsExactly("pixel_values",
                    "pixel_attention_mask", "rows", "cols", "input_ids", "vision_out", "connector_out", "inputs_embeds",
                    "prefill_logits", "greedy_ids");
            assertThat(stages).allSatisfy(st -> assertThat(st.pass()).as(name + " " + st.name()).isTrue());
        }
        assertThat(count).isEqualTo(switch (name) {
            case "two-images" -> 7 + 10;
            case "no-splitting" -> 1;
            case "shuffle3" -> 5; // 96 x 60 -> 96 x 96: 2 x 2 tiles of 48 + the global image
            default -> 7;
        });
    }
}
