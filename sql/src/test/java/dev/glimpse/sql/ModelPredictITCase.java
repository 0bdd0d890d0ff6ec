package dev.glimpse.sql;

import static org.apache.flink.table.api.Expressions.row;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.glimpse.model.Captioner;
import dev.glimpse.model.EngineDtype;
import dev.glimpse.model.TestModels;
import dev.glimpse.model.VisionLanguageModel;
import dev.glimpse.model.scenes.SceneGenerator;
import dev.glimpse.model.scenes.SceneSample;
import dev.glimpse.operators.BatchingSettings;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.table.api.DataTypes;
import org.apache.flink.table.api.EnvironmentSettings;
import org.apache.flink.table.api.StatementSet;
import org.apache.flink.table.api.Table;
import org.apache.flink.table.api.TableResult;
import org.apache.flink.table.api.bridge.java.StreamTableEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.apache.flink.types.ColumnList;
import org.apache.flink.types.Row;
import org.apache.flink.util.CloseableIterator;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The built-in model as a Flink SQL model: scenes through {@code ML_PREDICT} on a MiniCluster, each
 * caption the one the model gives offline, bad rows with the dead-letter codes, batches of more than
 * one row, the synchronous function and the Table API's {@code Model.predict}; and what planning refuses.
 */
class ModelPredictITCase {
    static final Path MODEL = Path.of("..", "models", "glimpse-scenes").toAbsolutePath().normalize();
    static final int SCENES = 24;
    private static final ObjectMapper JSON = new ObjectMapper();

    @RegisterExtension
    static final MiniClusterExtension FLINK = new MiniClusterExtension(new MiniClusterResourceConfiguration.Builder()
            .setConfiguration(reporter()).setNumberTaskManagers(1).setNumberSlotsPerTaskManager(2).build());

    private static Map<String, SceneSample> scenes;
    private static Map<String, String> offline;

    private static Configuration reporter() {
        Configuration c = new Configuration();
        c.setString("metrics.reporter.gauges.factory.class", GaugeReporter.class.getName());
        return c;
    }

    @BeforeAll
    static void captionOffline() throws Exception {
        SceneGenerator generator = new SceneGenerator(4711);
        scenes = new LinkedHashMap<>();
        for (int i = 0; i < SCENES; i++) {
            scenes.put("scene-" + i, generator.sample(i));
        }
        // What the model says offline, from its test-time views as the provider's default asks.
        try (VisionLanguageModel model = VisionLanguageModel.load(MODEL)) {
            List<Captioner.Caption> captions = TestModels.captionOffline(model,
                    scenes.values().stream().map(SceneSample::encoded).toList());
            offline = new HashMap<>();
            List<String> ids = new ArrayList<>(scenes.keySet());
            for (int i = 0; i < SCENES; i++) {
                offline.put(ids.get(i), captions.get(i).text());
            }
        }
    }

    private static StreamTableEnvironment tables() {
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        env.setParallelism(1);
        StreamTableEnvironment t = StreamTableEnvironment.create(env, EnvironmentSettings.inStreamingMode());
        List<Object> rows = new ArrayList<>();
        scenes.forEach((id, s) -> rows.add(row(id, (Object) s.encoded())));
        byte[] jpeg = scenes.values().iterator().next().encoded();
        byte[] noise = new byte[500];
        new Random(7).nextBytes(noise);
        rows.add(row("empty", (Object) new byte[0]));
        rows.add(row("truncated", (Object) Arrays.copyOf(jpeg, jpeg.length / 2)));
        rows.add(row("noise", (Object) noise));
        rows.add(row("outside", (Object) "{\"uri\": \"file:///etc/passwd\"}".getBytes()));
        t.createTemporaryView("images", t.fromValues(DataTypes.ROW(DataTypes.FIELD("id", DataTypes.STRING()),
                DataTypes.FIELD("image", DataTypes.BYTES())), rows.toArray()));
        t.executeSql("CREATE TEMPORARY MODEL captioner INPUT (image BYTES) "
                + "OUTPUT (caption STRING, confidence DOUBLE, tokens INT, error_code STRING, error_message STRING) "
                + "WITH ('provider' = 'glimpse', 'model-dir' = '" + MODEL + "', 'max-batch-size' = '8', "
                + "'batching.max-batch-delay' = '500 ms')");
        return t;
    }

    private static List<Row> collect(TableResult result) throws Exception {
        List<Row> rows = new ArrayList<>();
        try (CloseableIterator<Row> it = result.collect()) {
            it.forEachRemaining(rows::add);
        }
        return rows;
    }

    private static Map<String, Row> byId(List<Row> rows) {
        Map<String, Row> byId = new HashMap<>();
        for (Row r : rows) {
            assertThat(byId.put((String) r.getField("id"), r)).as("one output row per input row: %s", r).isNull();
        }
        return byId;
    }

    private static void assertOutcomes(Map<String, Row> out) {
        assertThat(out).hasSize(SCENES + 4);
        scenes.keySet().forEach(id -> {
            assertThat(out.get(id).getField("caption")).as(id).isEqualTo(offline.get(id));
            assertThat(out.get(id).getField("error_code")).as(id).isNull();
        });
        Map<String, String> codes = new HashMap<>();
        for (String id : List.of("empty", "truncated", "noise", "outside")) {
            assertThat(out.get(id).getField("caption")).as(id).isNull();
            assertThat((String) out.get(id).getField("error_message")).as(id).isNotBlank();
            codes.put(id, (String) out.get(id).getField("error_code"));
        }
        assertThat(codes).containsOnly(Map.entry("empty", "EMPTY_PAYLOAD"), Map.entry("truncated", "IMAGE_DECODE_FAILED"),
                Map.entry("noise", "UNSUPPORTED_FORMAT"), Map.entry("outside", "URI_NOT_ALLOWED"));
    }

    @ParameterizedTest
    @EnumSource(BatchingSettings.Mode.class)
    void shouldCaptionEveryRowInBatchesAndGiveBadRowsTheirDeadLetterCodes(BatchingSettings.Mode mode) throws Exception {
        GaugeReporter.HISTOGRAMS.remove("batchSize");
        GaugeReporter.COUNTERS.remove("numBatches");
        StreamTableEnvironment t = tables();
        t.executeSql("CREATE TEMPORARY MODEL batching INPUT (image BYTES) "
                + "OUTPUT (caption STRING, confidence DOUBLE, tokens INT, error_code STRING, error_message STRING) "
                + "WITH ('provider' = 'glimpse', 'model-dir' = '" + MODEL + "', 'max-batch-size' = '8', "
                + "'batching.max-batch-delay' = '500 ms', 'batching-mode' = '" + mode.name().toLowerCase(Locale.ROOT) + "')");
        Map<String, Row> out = byId(collect(t.executeSql("SELECT id, caption, confidence, tokens, error_code, error_message "
                + "FROM ML_PREDICT(TABLE images, MODEL batching, DESCRIPTOR(image), MAP['max-concurrent-operations', '16'])")));

        assertOutcomes(out);
        long right = scenes.entrySet().stream().filter(e -> e.getValue().caption().equals(out.get(e.getKey()).getField("caption"))).count();
        assertThat(right).as("captions equal to the scenes' truth").isGreaterThanOrEqualTo(SCENES - 1);
        assertThat((Integer) out.get("scene-0").getField("tokens")).isPositive();
        assertThat((Double) out.get("scene-0").getField("confidence")).isBetween(0.0, 1.0);
        // The job's captioner metrics: a batch is a forward under static batching, a decoding step under continuous.
        assertThat(GaugeReporter.HISTOGRAMS.get("batchSize")).as("the function's batchSize histogram").isNotNull();
        assertThat(GaugeReporter.HISTOGRAMS.get("batchSize").getStatistics().getMax()).as("largest batch").isGreaterThan(1);
        long batches = GaugeReporter.COUNTERS.get("numBatches").getCount();
        if (mode == BatchingSettings.Mode.CONTINUOUS) {
            assertThat(batches).as("decoding steps, each caption several").isGreaterThan(SCENES);
        } else {
            assertThat(batches).as("static batches of up to 8 rows").isBetween(3L, (long) SCENES);
        }
    }

    @Test
    void shouldCaptionInBfloat16AsInFloat32() throws Exception {
        assertThat(ModelOptions.config("m", Map.of("engine-dtype", "bfloat16")).engineDtype()).isEqualTo(EngineDtype.BFLOAT16);
        StreamTableEnvironment t = tables();
        t.executeSql("CREATE TEMPORARY MODEL bf16 INPUT (image BYTES) OUTPUT (caption STRING, error_code STRING, error_message STRING) "
                + "WITH ('provider' = 'glimpse', 'model-dir' = '" + MODEL + "', 'max-batch-size' = '8', "
                + "'batching.max-batch-delay' = '500 ms', 'engine-dtype' = 'bfloat16')");
        // BF16 captioned 2000/2000 scenes as F32 did (docs/benchmarks.md): the offline F32 captions are the bar.
        assertOutcomes(byId(collect(t.executeSql("SELECT id, caption, error_code, error_message "
                + "FROM ML_PREDICT(TABLE images, MODEL bf16, DESCRIPTOR(image), MAP['max-concurrent-operations', '16'])"))));
    }

    @Test
    void shouldCaptionTheSameWithTheSynchronousFunction() throws Exception {
        StreamTableEnvironment t = tables();
        assertOutcomes(byId(collect(t.executeSql("SELECT id, caption, error_code, error_message "
                + "FROM ML_PREDICT(TABLE images, MODEL captioner, DESCRIPTOR(image), MAP['async', 'false'])"))));
    }

    @Test
    void shouldPredictThroughTheTableApi() throws Exception {
        StreamTableEnvironment t = tables();
        Table predicted = t.fromModel("captioner").predict(t.from("images"), ColumnList.of("image"),
                Map.of("max-concurrent-operations", "16"));
        assertOutcomes(byId(collect(predicted.select(org.apache.flink.table.api.Expressions.$("id"),
                org.apache.flink.table.api.Expressions.$("caption"), org.apache.flink.table.api.Expressions.$("error_code"),
                org.apache.flink.table.api.Expressions.$("error_message")).execute())));
    }

    @Test
    void shouldCaptionAFolderIntoJsonFilesBoundedAndExactlyOncePerImage(@TempDir Path work) throws Exception {
        Path folder = Files.createDirectories(work.resolve("photos/2024"));
        List<String> ids = new ArrayList<>(scenes.keySet()).subList(0, 10);
        for (String id : ids) {
            Files.write(folder.resolve(id + ".jpg"), scenes.get(id).encoded());
        }
        Files.write(folder.resolve("broken.jpg"), new byte[] {(byte) 0xFF, (byte) 0xD8, (byte) 0xFF, 1, 2, 3});
        Path out = work.resolve("captions");
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        env.setParallelism(1);
        env.enableCheckpointing(500);
        StreamTableEnvironment t = StreamTableEnvironment.create(env, EnvironmentSettings.inStreamingMode());
        String photos = work.resolve("photos").toUri().toString();
        t.executeSql("CREATE TABLE archive (id STRING, image BYTES) WITH ('connector' = 'glimpse-images', 'path' = '"
                + photos + "')");
        t.executeSql("CREATE TABLE captions (id STRING, caption STRING, error_code STRING) WITH ("
                + "'connector' = 'filesystem', 'path' = '" + out.toUri() + "', 'format' = 'json')");
        t.executeSql("CREATE MODEL files_captioner INPUT (image BYTES) OUTPUT (caption STRING, error_code STRING) "
                + "WITH ('provider' = 'glimpse', 'model-dir' = '" + MODEL + "', 'allowed-uris' = '" + photos + "')");
        t.executeSql("INSERT INTO captions SELECT id, caption, error_code FROM ML_PREDICT(TABLE archive, "
                + "MODEL files_captioner, DESCRIPTOR(image), MAP['max-concurrent-operations', '16'])").await();

        Map<String, JsonNode> lines = new HashMap<>();
        try (Stream<Path> files = Files.walk(out)) {
            for (Path part : files.filter(p -> Files.isRegularFile(p) && !p.getFileName().toString().startsWith(".")).toList()) {
                for (String line : Files.readAllLines(part)) {
                    JsonNode n = JSON.readTree(line);
                    assertThat(lines.put(n.path("id").asText(), n)).as("one line per image: %s", line).isNull();
                }
            }
        }
        assertThat(lines).hasSize(ids.size() + 1);
        // An image's id is its path under the table's folder, as in bin/glimpse reprocess.
        ids.forEach(id -> assertThat(lines.get("2024/" + id + ".jpg").path("caption").asText()).as(id).isEqualTo(offline.get(id)));
        assertThat(lines.get("2024/broken.jpg").path("error_code").asText()).isEqualTo("IMAGE_DECODE_FAILED");
    }

    @Test
    void shouldShareOnePredictionBetweenTheCaptionsAndTheDeadLettersOfOneJob() {
        StreamTableEnvironment t = tables();
        t.executeSql("CREATE TEMPORARY TABLE ok (id STRING, caption STRING) WITH ('connector' = 'blackhole')");
        t.executeSql("CREATE TEMPORARY TABLE dead (id STRING, error_code STRING) WITH ('connector' = 'blackhole')");
        t.executeSql("CREATE TEMPORARY VIEW predicted AS SELECT * FROM ML_PREDICT(TABLE images, MODEL captioner, "
                + "DESCRIPTOR(image), MAP['max-concurrent-operations', '16'])");
        StatementSet both = t.createStatementSet();
        both.addInsertSql("INSERT INTO ok SELECT id, caption FROM predicted WHERE error_code IS NULL");
        both.addInsertSql("INSERT INTO dead SELECT id, error_code FROM predicted WHERE error_code IS NOT NULL");
        String plan = both.explain();
        String execution = plan.substring(plan.indexOf("== Optimized Execution Plan =="));
        assertThat(execution.split("MLPredictTableFunction", -1)).as(execution).hasSize(2);
    }

    @Test
    void shouldRefuseAtPlanningWhatItCannotServeNamingIt() {
        StreamTableEnvironment t = tables();
        String select = "SELECT * FROM ML_PREDICT(TABLE images, MODEL %s, DESCRIPTOR(image))";
        t.executeSql("CREATE TEMPORARY MODEL typo INPUT (image BYTES) OUTPUT (caption STRING) "
                + "WITH ('provider' = 'glimpse', 'model-dir' = '" + MODEL + "', 'max-batchsize' = '8')");
        assertThatThrownBy(() -> t.executeSql(String.format(select, "typo")))
                .hasStackTraceContaining("Unsupported options").hasStackTraceContaining("max-batchsize");
        t.executeSql("CREATE TEMPORARY MODEL labels INPUT (image BYTES) OUTPUT (caption STRING, labels STRING) "
                + "WITH ('provider' = 'glimpse', 'model-dir' = '" + MODEL + "')");
        assertThatThrownBy(() -> t.executeSql(String.format(select, "labels")))
                .hasStackTraceContaining("OUTPUT column 'labels' is none Glimpse fills");
        t.executeSql("CREATE TEMPORARY MODEL tokens INPUT (image BYTES) OUTPUT (caption STRING, tokens STRING) "
                + "WITH ('provider' = 'glimpse', 'model-dir' = '" + MODEL + "')");
        assertThatThrownBy(() -> t.executeSql(String.format(select, "tokens")))
                .hasStackTraceContaining("OUTPUT column 'tokens' is STRING; Glimpse fills it as INT");
        t.executeSql("CREATE TEMPORARY MODEL nowhere INPUT (image BYTES) OUTPUT (caption STRING) "
                + "WITH ('provider' = 'glimpse', 'model-dir' = '/nonexistent/model')");
        assertThatThrownBy(() -> t.executeSql(String.format(select, "nowhere")))
                .hasStackTraceContaining("/nonexistent/model holds no config.json");
        t.executeSql("CREATE TEMPORARY MODEL big INPUT (image BYTES) OUTPUT (caption STRING) "
                + "WITH ('provider' = 'glimpse', 'model-dir' = '" + MODEL + "', 'max-batch-size' = 'lots')");
        assertThatThrownBy(() -> t.executeSql(String.format(select, "big")))
                .hasStackTraceContaining("batching.max-batch-size");
        t.executeSql("CREATE TEMPORARY MODEL sometimes INPUT (image BYTES) OUTPUT (caption STRING) "
                + "WITH ('provider' = 'glimpse', 'model-dir' = '" + MODEL + "', 'batching-mode' = 'sometimes')");
        assertThatThrownBy(() -> t.executeSql(String.format(select, "sometimes")))
                .hasStackTraceContaining("sometimes: invalid value for option 'batching.mode'");
        t.executeSql("CREATE TEMPORARY MODEL half INPUT (image BYTES) OUTPUT (caption STRING) "
                + "WITH ('provider' = 'glimpse', 'model-dir' = '" + MODEL + "', 'engine-dtype' = 'bf16')");
        assertThatThrownBy(() -> t.executeSql(String.format(select, "half")))
                .hasStackTraceContaining("option 'engine.dtype'")
                .hasStackTraceContaining("got 'bf16'");
    }
}
