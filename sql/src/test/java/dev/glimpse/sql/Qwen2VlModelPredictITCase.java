package dev.glimpse.sql;

import static org.apache.flink.table.api.Expressions.row;
import static org.assertj.core.api.Assertions.assertThat;

import dev.glimpse.model.ImagePreprocessor;
import dev.glimpse.model.ModelConfig;
import dev.glimpse.model.Qwen2VlModel;
import dev.glimpse.model.TestModels;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import javax.imageio.ImageIO;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.table.api.DataTypes;
import org.apache.flink.table.api.EnvironmentSettings;
import org.apache.flink.table.api.bridge.java.StreamTableEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.apache.flink.types.Row;
import org.apache.flink.util.CloseableIterator;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * A Qwen2-VL folder as a Flink SQL model (the tiny golden folder made by transformers, as a user
 * downloads one): rows of three aspect ratios (three numbers of image tokens and M-RoPE layouts),
 * one with a prompt of its own, through {@code ML_PREDICT} in batches, each get the caption the
 * model gives that image alone; a broken row gets its dead-letter code.
 */
class Qwen2VlModelPredictITCase {
    private static final int TOKENS = 6;

    @RegisterExtension
    static final MiniClusterExtension FLINK = new MiniClusterExtension(new MiniClusterResourceConfiguration.Builder()
            .setNumberTaskManagers(1).setNumberSlotsPerTaskManager(2).build());

    @TempDir
    static Path work;
    private static Path model;

    @BeforeAll
    static void copyTheFolder() throws Exception {
        model = TestModels.copyGolden("qwen2vl-tiny", TestModels.QWEN2VL_FILES, work.resolve("qwen2vl-tiny"));
    }

    @Test
    void shouldCaptionEachRowAsTheModelDoesAlone() throws Exception {
        Random rnd = new Random(5);
        Map<String, byte[]> images = new LinkedHashMap<>();
        images.put("wide", png(rnd, 160, 96)); // 8 image tokens
        images.put("square", png(rnd, 100, 100)); // 9
        images.put("tall", png(rnd, 45, 70)); // 4
        Map<String, String> prompts = Map.of("square", "What colour is it?");

        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        env.setParallelism(1);
        StreamTableEnvironment t = StreamTableEnvironment.create(env, EnvironmentSettings.inStreamingMode());
        List<Object> rows = new ArrayList<>();
        images.forEach((id, bytes) -> rows.add(row(id, bytes, prompts.get(id))));
        rows.add(row("broken", "not an image".getBytes(), null));
        t.createTemporaryView("images", t.fromValues(DataTypes.ROW(DataTypes.FIELD("id", DataTypes.STRING()),
                DataTypes.FIELD("image", DataTypes.BYTES()), DataTypes.FIELD("prompt", DataTypes.STRING())), rows.toArray()));
        t.executeSql("CREATE TEMPORARY MODEL qwen INPUT (image BYTES, prompt STRING) "
                + "OUTPUT (caption STRING, tokens INT, error_code STRING) "
                + "WITH ('provider' = 'glimpse', 'model-dir' = '" + model + "', 'max-batch-size' = '4', "
                + "'max-batch-delay' = '500 ms', 'default-max-new-tokens' = '" + TOKENS + "')");
        Map<String, Row> out = new HashMap<>();
        try (CloseableIterator<Row> it = t.executeSql("SELECT id, caption, tokens, error_code "
                + "FROM ML_PREDICT(TABLE images, MODEL qwen, DESCRIPTOR(image, prompt), MAP['max-concurrent-operations', '8'])")
                .collect()) {
            it.forEachRemaining(r -> assertThat(out.put((String) r.getField("id"), r)).as("one row per id: %s", r).isNull());
        }

        assertThat(out).hasSize(images.size() + 1);
        assertThat(out.get("broken").getField("caption")).isNull();
        assertThat(out.get("broken").getField("error_code")).isEqualTo("UNSUPPORTED_FORMAT");
        int target = ModelConfig.read(model.resolve("config.json")).decodeTargetSize();
        int tokens = 0;
        try (Qwen2VlModel m = Qwen2VlModel.load(model)) {
            for (Map.Entry<String, byte[]> e : images.entrySet()) {
                Qwen2VlModel.Prepared row = m.prepare(ImagePreprocessor.decodeRgb(e.getValue(), ImagePreprocessor.Limits.DEFAULT,
                        target), prompts.get(e.getKey()));
                Qwen2VlModel.Result alone = m.generate(List.of(row), new int[] {TOKENS}, false).get(0);
                Row got = out.get(e.getKey());
                assertThat(got.getField("error_code")).as(e.getKey()).isNull();
                assertThat(got.getField("caption")).as(e.getKey()).isEqualTo(m.decode(alone.tokens()));
                assertThat(got.getField("tokens")).as(e.getKey()).isEqualTo(alone.tokens().length);
                tokens += alone.tokens().length;
            }
        }
        assertThat(tokens).as("the captions are not all empty").isGreaterThan(0);
    }

    private static byte[] png(Random rnd, int w, int h) throws Exception {
        BufferedImage image = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                image.setRGB(x, y, rnd.nextInt(1 << 24));
            }
        }
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        ImageIO.write(image, "png", bytes);
        return bytes.toByteArray();
    }
}
