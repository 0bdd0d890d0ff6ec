package dev.glimpse.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.glimpse.job.GlimpseConfig;
import dev.glimpse.job.GlimpseJob;
import dev.glimpse.job.GlimpseOptions;
import dev.glimpse.job.KafkaPipelineHarness;
import dev.glimpse.kafka.EmbeddedKafka;
import dev.glimpse.model.TestModels;
import dev.glimpse.model.scenes.SceneGenerator;
import dev.glimpse.operators.ErrorCode;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The local job as {@code run --prometheus-port} starts it (its own local cluster with Flink's
 * Prometheus reporter on a random free port), scraped over HTTP on loopback while it runs: the
 * glimpse metrics are there, with the values the images sent make them, and every glimpse metric
 * the Grafana dashboard queries exists.
 */
class PrometheusMetricsITCase {
    private static final String OPERATOR = "flink_taskmanager_job_task_operator_glimpse_";
    private static final Pattern SAMPLE = Pattern.compile("^([a-zA-Z_:][a-zA-Z0-9_:]*)(\\{(.*)})? (\\S+)$");
    private static final Pattern LABEL = Pattern.compile("([a-zA-Z_][a-zA-Z0-9_]*)=\"((?:[^\"\\\\]|\\\\.)*)\"");

    static final Path DASHBOARD = Path.of("..", "docker", "monitoring", "grafana", "dashboards", "glimpse.json");

    @TempDir
    Path work;

    /** One sample of the exposition format: name, labels, value. */
    record Sample(String name, Map<String, String> labels, double value) {}

    @Test
    void shouldExportTheGlimpseMetricsWhileImagesFlow() throws Exception {
        Map<ErrorCode, Integer> sentBad = new EnumMap<>(ErrorCode.class);
        int valid = 6;
        try (EmbeddedKafka kafka = EmbeddedKafka.start(work.resolve("kafka"))) {
            Path model = TestModels.writeTinyScenesModel(work.resolve("model"));
            GlimpseConfig c = KafkaPipelineHarness.config(kafka.bootstrapServers(), model, work, "prom", "500ms");
            String images = c.get(GlimpseOptions.IMAGES_TOPIC);
            kafka.createTopic(images, 2);
            int prometheusPort = LocalCluster.freePort();
            StreamExecutionEnvironment env = new LocalCluster(0, prometheusPort).environment(GlimpseJob.checkpointing(c));
            GlimpseJob.addTo(env, c);
            JobClient job = env.executeAsync("it-prometheus");
            try {
                SceneGenerator scenes = new SceneGenerator(11);
                try (KafkaProducer<byte[], byte[]> p = KafkaPipelineHarness.producer(kafka.bootstrapServers())) {
                    for (int i = 0; i < valid; i++) {
                        KafkaPipelineHarness.send(p, images, "ok-" + i, scenes.sample(i).encoded());
                    }
                    byte[] jpeg = scenes.sample(99).encoded();
                    KafkaPipelineHarness.send(p, images, "bad-1", "not an image".getBytes(StandardCharsets.UTF_8));
                    KafkaPipelineHarness.send(p, images, "bad-2", "still not an image".getBytes(StandardCharsets.UTF_8));
                    sentBad.put(ErrorCode.UNSUPPORTED_FORMAT, 2);
                    KafkaPipelineHarness.send(p, images, "bad-3", "{\"id\": oops".getBytes(StandardCharsets.UTF_8));
                    sentBad.put(ErrorCode.BAD_ENVELOPE, 1);
                    KafkaPipelineHarness.send(p, images, "bad-4", Arrays.copyOf(jpeg, jpeg.length / 3));
                    sentBad.put(ErrorCode.IMAGE_DECODE_FAILED, 1);
                }
                // The operators register their metrics when their tasks open, which may be after the last send
                // on a fast machine (or long after on a slow one): look until they are there, while the job runs.
                List<Sample> midStream = scrape(prometheusPort);
                long opened = System.currentTimeMillis() + 120_000;
                while (find(midStream, "rowsActive", Map.of()).isEmpty() && System.currentTimeMillis() < opened) {
                    Thread.sleep(200);
                    midStream = scrape(prometheusPort);
                }
                assertThat(find(midStream, "rowsActive", Map.of())).as("scraped while the job runs").isNotEmpty();
                int total = valid + sentBad.values().stream().mapToInt(Integer::intValue).sum();
                List<KafkaPipelineHarness.Output> out = KafkaPipelineHarness.readCommitted(kafka.bootstrapServers(),
                        List.of(c.get(GlimpseOptions.CAPTIONS_TOPIC), c.get(GlimpseOptions.DEAD_LETTER_TOPIC)),
                        total, Duration.ofMinutes(3));
                long captions = out.stream().filter(o -> o.topic().equals(c.get(GlimpseOptions.CAPTIONS_TOPIC))).count();
                assertThat(out).hasSize(total);
                assertThat(captions).isEqualTo(valid);

                // The job still runs: its endpoint is up. Counters may trail the committed output by a scrape.
                List<Sample> metrics = scrape(prometheusPort);
                long deadline = System.currentTimeMillis() + 60_000;
                while (sum(metrics, "imageInferenceMs_count", Map.of()) < captions && System.currentTimeMillis() < deadline) {
                    Thread.sleep(500);
                    metrics = scrape(prometheusPort);
                }
                assertThat(sum(metrics, "numBatches", Map.of())).as("batches").isPositive();
                assertThat(sum(metrics, "imageInferenceMs_count", Map.of())).as("per-image latency count").isEqualTo(captions);
                assertThat(sum(metrics, "numRecordsOut", Map.of("operator_name", "BatchedCaptioner"))).isEqualTo(captions);
                assertThat(sum(metrics, "numRecordsIn", Map.of("operator_name", "ImageDecoder"))).isEqualTo(total);
                assertThat(sum(metrics, "batchSize_count", Map.of())).isEqualTo(sum(metrics, "numBatches", Map.of()));
                assertThat(sum(metrics, "queueWaitMs_count", Map.of())).isEqualTo(captions);
                assertThat(sum(metrics, "decodeMs_count", Map.of())).isEqualTo(valid);
                for (ErrorCode code : ErrorCode.values()) {
                    assertThat(sum(metrics, "code_numDeadLetters", Map.of("code", code.name())))
                            .as("dead letters " + code).isEqualTo((long) sentBad.getOrDefault(code, 0));
                }
                assertThat(sum(metrics, "numTokens", Map.of())).isPositive();
                assertThat(find(metrics, "tokensPerSecond", Map.of())).isNotEmpty().allMatch(s -> s.value() >= 0);
                assertThat(find(metrics, "imagesPerSecond", Map.of())).isNotEmpty().allMatch(s -> s.value() >= 0);
                assertThat(find(metrics, "rowsActive", Map.of())).isNotEmpty()
                        .allMatch(s -> s.value() >= 0 && s.value() <= c.get(GlimpseOptions.MAX_BATCH_SIZE));
                assertThat(find(metrics, "modelLoadTimeMs", Map.of())).isNotEmpty().allMatch(s -> s.value() >= 0);
                assertThat(find(metrics, "device_inUse", Map.of("device", "cpu"))).isNotEmpty().allMatch(s -> s.value() == 1);
                Set<String> exported = new TreeSet<>();
                metrics.forEach(m -> exported.add(m.name()));
                assertThat(exported).as("exported").containsAll(dashboardMetrics());
            } finally {
                job.cancel().get();
            }
        }
    }

    /** Every glimpse metric the Grafana dashboard beside the Docker files queries. */
    private static Set<String> dashboardMetrics() throws Exception {
        JsonNode dashboard = new ObjectMapper().readTree(DASHBOARD.toFile());
        Set<String> names = new TreeSet<>();
        for (JsonNode target : dashboard.findValues("expr")) {
            Matcher m = Pattern.compile(OPERATOR + "[A-Za-z_]+").matcher(target.asText());
            while (m.find()) {
                names.add(m.group());
            }
        }
        return names;
    }

    private static List<Sample> scrape(int port) throws Exception {
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/metrics"))
                .timeout(Duration.ofSeconds(30)).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).isEqualTo(200);
        List<Sample> samples = new ArrayList<>();
        for (String line : r.body().split("\n")) {
            Matcher m = SAMPLE.matcher(line);
            if (line.startsWith("#") || !m.matches()) {
                continue;
            }
            Map<String, String> labels = new LinkedHashMap<>();
            if (m.group(3) != null) {
                Matcher l = LABEL.matcher(m.group(3));
                while (l.find()) {
                    labels.put(l.group(1), l.group(2));
                }
            }
            samples.add(new Sample(m.group(1), labels, Double.parseDouble(m.group(4))));
        }
        return samples;
    }

    /** The samples of {@code OPERATOR + name} whose labels include {@code labels}. */
    private static List<Sample> find(List<Sample> samples, String name, Map<String, String> labels) {
        return samples.stream().filter(s -> s.name().equals(OPERATOR + name))
                .filter(s -> s.labels().entrySet().containsAll(labels.entrySet())).toList();
    }

    /** The sum over subtasks (and operators) of a metric. */
    private static long sum(List<Sample> samples, String name, Map<String, String> labels) {
        return Math.round(find(samples, name, labels).stream().mapToDouble(Sample::value).sum());
    }
}
