package dev.glimpse.bench;

import ai.djl.Device;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.glimpse.cli.JobOptions;
import dev.glimpse.connectors.KafkaClients;
import dev.glimpse.job.GlimpseConfig;
import dev.glimpse.job.GlimpseJob;
import dev.glimpse.job.GlimpseOptions;
import dev.glimpse.kafka.EmbeddedKafka;
import dev.glimpse.model.Captioner;
import dev.glimpse.model.Idefics3ImageProcessor;
import dev.glimpse.model.Idefics3Settings;
import dev.glimpse.model.ImageDecodeException;
import dev.glimpse.model.ImagePreprocessor;
import dev.glimpse.model.ModelConfig;
import dev.glimpse.model.RgbImage;
import dev.glimpse.model.scenes.SceneGenerator;
import dev.glimpse.operators.DecodedImage;
import dev.glimpse.operators.DecoderSettings;
import dev.glimpse.operators.EmbeddedImage;
import dev.glimpse.operators.ImageEmbedding;
import dev.glimpse.operators.ImageRequest;
import dev.glimpse.operators.SourceRef;
import dev.glimpse.operators.SharedModels;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.table.api.EnvironmentSettings;
import org.apache.flink.table.api.bridge.java.StreamTableEnvironment;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;

/**
 * {@code glimpse bench --pipeline}: the streaming job end to end (a real Kafka broker in process,
 * a local Flink cluster, the shipped configuration with only the batch size changed) against the
 * model alone on the same images at the same batch size, in one run. For each batch size it first
 * captions the images in one loop without Flink or Kafka (decode, the model's views, the batched
 * model: what {@code eval} does), then produces them to the images topic in one burst and reads the
 * committed outcomes back ({@code read_committed}): images/s, latency from produce to committed
 * caption, and the time of each stage from the captions' {@code timings_ms}.
 */
final class PipelineBench {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final JobOptions job;
    private final int images;
    private final int distinct;
    private final int[] batchSizes;
    private final Path out;
    private final Duration timeout;
    /** Also the same images through ML_PREDICT with the SQL model provider, after the job, at each batch size. */
    private final boolean sql;

    PipelineBench(JobOptions job, int images, int distinct, int[] batchSizes, Path out, Duration timeout, boolean sql) {
        if (images < 1 || distinct < 1 || batchSizes.length == 0 || Arrays.stream(batchSizes).anyMatch(b -> b < 1)) {
            throw new IllegalArgumentException("--images, --distinct and every --batch-sizes value must be at least 1");
        }
        this.job = job;
        this.images = images;
        this.distinct = distinct;
        this.batchSizes = batchSizes;
        this.out = out;
        this.timeout = timeout;
        this.sql = sql;
    }

    /**
     * One batch size's figures: the model alone (the mean of a run before the pipeline and one after
     * it, so that a change in the machine's load shows as their spread), then the pipeline.
     */
    private record Measured(double aloneRate, double aloneBefore, double aloneAfter, double modelOnlyRate,
                            Pipeline pipeline, Pipeline sql) {}

    /** What the pipeline did with the timed images. */
    private record Pipeline(double rate, double wallSeconds, int captions, int deadLetters, double[] latencyMs,
                            Map<String, Double> stageMs, double meanBatch, boolean wholeRun) {}

    int run() throws Exception {
        SceneGenerator scenes = new SceneGenerator(4242);
        byte[][] encoded = new byte[distinct][];
        for (int i = 0; i < distinct; i++) {
            encoded[i] = scenes.sample(i).encoded();
        }
        Path work = Files.createTempDirectory("glimpse-bench-pipeline");
        Map<String, String> shipped = new LinkedHashMap<>(job.set);
        job.set.clear();
        GlimpseConfig base = job.load(shipped);
        ModelConfig model = base.modelConfig();
        BenchReport report = new BenchReport(String.format(
                "pipeline vs model alone: %s, %d images per batch size (%d distinct scenes), test-time views %s, "
                        + "parallelism decode %d / inference %d, checkpoint every %s",
                model.displayName(), images, distinct, base.get(GlimpseOptions.TEST_TIME_VIEWS) ? "on" : "off",
                base.get(GlimpseOptions.DECODE_PARALLELISM), base.get(GlimpseOptions.INFERENCE_PARALLELISM),
                base.get(GlimpseOptions.CHECKPOINT_INTERVAL).toMillis() / 1000.0 + " s"),
                "batch", "alone img/s", "alone spread", "model img/s", "pipeline img/s", "ratio", "p50 ms", "p95 ms",
                "p99 ms", "decode ms", "embed ms", "queue ms", "infer ms", "outside ms", "mean batch", "dead", "sql img/s",
                "sql / job", "sql p50 ms");
        report.format("ratio", "%.2f").format("mean batch", "%.1f").format("sql / job", "%.2f");
        List<Integer> wholeRun = new ArrayList<>();
        try (EmbeddedKafka kafka = EmbeddedKafka.start(work.resolve("kafka"))) {
            for (int b : batchSizes) {
                Measured m = measure(kafka, work, shipped, b, encoded);
                Pipeline p = m.pipeline();
                BenchReport.Row row = report.row().put("batch", b).put("alone img/s", m.aloneRate())
                        .put("alone spread", String.format("%.2f-%.2f", Math.min(m.aloneBefore(), m.aloneAfter()),
                                Math.max(m.aloneBefore(), m.aloneAfter())))
                        .put("model img/s", m.modelOnlyRate())
                        .put("pipeline img/s", p.rate()).put("ratio", p.rate() / m.aloneRate())
                        .put("p50 ms", p.latencyMs()[0]).put("p95 ms", p.latencyMs()[1]).put("p99 ms", p.latencyMs()[2])
                        .put("decode ms", p.stageMs().get("decode")).put("embed ms", p.stageMs().get("embed"))
                        .put("queue ms", p.stageMs().get("queue")).put("infer ms", p.stageMs().get("inference"))
                        .put("outside ms", p.stageMs().get("outside")).put("mean batch", p.meanBatch())
                        .put("dead", p.deadLetters());
                if (m.sql() != null) {
                    row.put("sql img/s", m.sql().rate()).put("sql / job", m.sql().rate() / p.rate())
                            .put("sql p50 ms", m.sql().latencyMs()[0]);
                    System.out.printf("batch %d: ML_PREDICT %.1f images/s, %.2f of the job's%n", b, m.sql().rate(),
                            m.sql().rate() / p.rate());
                }
                System.out.printf("batch %d: model alone %.1f images/s, pipeline %.1f images/s (ratio %.2f), "
                                + "%d captions in %.1f s%n", b, m.aloneRate(), p.rate(), p.rate() / m.aloneRate(),
                        p.captions(), p.wallSeconds());
                if (p.wholeRun()) {
                    wholeRun.add(b);
                }
            }
        } finally {
            deleteQuietly(work);
        }
        report.note("alone: decode + views + batched model in one loop, no Flink or Kafka (as eval), the mean of a run "
                + "before the pipeline and one after it (spread: the two); model: the model's calls alone; "
                + "ratio = pipeline / alone");
        report.note("pipeline: images/s between the first and the last checkpoint that committed timed captions; "
                + "latency from produce to committed caption under a burst of all the images; stage columns: mean "
                + "ms per image from timings_ms (infer: the image's batch), outside: latency minus the time inside "
                + "the job (waiting in the images topic, the wait for the checkpoint that commits)");
        if (sql) {
            report.note("sql: the same images through ML_PREDICT (a Kafka table of raw bytes, CREATE MODEL ... 'glimpse' "
                    + "with the same model, batch size, delay, batching mode and views, max-concurrent-operations twice "
                    + "the batch) into a Kafka table, exactly once, after the job; its rate taken as the job's");
        }
        if (!wholeRun.isEmpty()) {
            report.note("batch size(s) " + wholeRun + ": fewer than three checkpoints committed timed captions, so their "
                    + "rate is all the images over the whole run, the wait for the last checkpoint included, and "
                    + "understates the pipeline; run more --images (at least 10 checkpoint intervals of work)");
        }
        report.print(System.out);
        records(base, encoded).print(System.out);
        Path csv = out.resolve("pipeline.csv");
        Path png = out.resolve("pipeline.png");
        report.writeCsv(csv);
        report.writePlot(png, "batch", List.of("pipeline img/s", "alone img/s", "p99 ms"));
        System.out.println("wrote " + csv + " and " + png);
        return 0;
    }

    private Measured measure(EmbeddedKafka kafka, Path work, Map<String, String> shipped, int batch, byte[][] encoded)
            throws Exception {
        String run = "b" + batch + "-" + UUID.randomUUID().toString().substring(0, 8);
        Map<String, String> flags = new LinkedHashMap<>(shipped);
        flags.put(GlimpseOptions.BOOTSTRAP_SERVERS.key(), kafka.bootstrapServers());
        flags.put(GlimpseOptions.MAX_BATCH_SIZE.key(), String.valueOf(batch));
        flags.put(GlimpseOptions.IMAGES_TOPIC.key(), "images-" + run);
        flags.put(GlimpseOptions.CAPTIONS_TOPIC.key(), "captions-" + run);
        flags.put(GlimpseOptions.DEAD_LETTER_TOPIC.key(), "dlq-" + run);
        flags.put(GlimpseOptions.GROUP_ID.key(), "glimpse-bench-" + run);
        flags.put(GlimpseOptions.TRANSACTIONAL_ID_PREFIX.key(), "glimpse-bench-" + run);
        flags.put(GlimpseOptions.CHECKPOINT_DIR.key(), work.resolve("checkpoints-" + run).toString());
        GlimpseConfig c = job.load(flags);
        double[] before = modelAlone(c, batch, encoded);
        kafka.createTopic(c.get(GlimpseOptions.IMAGES_TOPIC), 2);
        kafka.createTopic(c.get(GlimpseOptions.CAPTIONS_TOPIC), 1);
        kafka.createTopic(c.get(GlimpseOptions.DEAD_LETTER_TOPIC), 1);
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(GlimpseJob.localCluster(c));
        GlimpseJob.addTo(env, c);
        JobClient client = env.executeAsync("glimpse-bench-" + run);
        Pipeline pipeline = time(c, kafka.bootstrapServers(), run, List.of(c.get(GlimpseOptions.CAPTIONS_TOPIC),
                c.get(GlimpseOptions.DEAD_LETTER_TOPIC)), client, encoded);
        Pipeline viaSql = sql ? measureSql(kafka, work, flags, encoded) : null;
        double[] after = modelAlone(c, batch, encoded);
        return new Measured((before[0] + after[0]) / 2, before[0], after[0], (before[1] + after[1]) / 2, pipeline, viaSql);
    }

    /**
     * The same images through {@code ML_PREDICT}: a Kafka table of raw image bytes keyed by id, the SQL
     * model provider with the job's model and batching, into a Kafka table of JSON, exactly once.
     */
    private Pipeline measureSql(EmbeddedKafka kafka, Path work, Map<String, String> jobFlags, byte[][] encoded)
            throws Exception {
        String run = "sql-" + UUID.randomUUID().toString().substring(0, 8);
        Map<String, String> flags = new LinkedHashMap<>(jobFlags);
        flags.put(GlimpseOptions.IMAGES_TOPIC.key(), "images-" + run);
        flags.put(GlimpseOptions.CAPTIONS_TOPIC.key(), "captions-" + run);
        flags.put(GlimpseOptions.CHECKPOINT_DIR.key(), work.resolve("checkpoints-" + run).toString());
        GlimpseConfig c = job.load(flags);
        kafka.createTopic(c.get(GlimpseOptions.IMAGES_TOPIC), 2);
        kafka.createTopic(c.get(GlimpseOptions.CAPTIONS_TOPIC), 1);
        int batch = c.get(GlimpseOptions.MAX_BATCH_SIZE);
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(GlimpseJob.localCluster(c));
        StreamTableEnvironment tables = StreamTableEnvironment.create(env, EnvironmentSettings.inStreamingMode());
        String bootstrap = kafka.bootstrapServers();
        tables.executeSql("CREATE TABLE images (id STRING, image BYTES) WITH ('connector' = 'kafka', 'topic' = '"
                + c.get(GlimpseOptions.IMAGES_TOPIC) + "', 'properties.bootstrap.servers' = '" + bootstrap + "', "
                + "'properties.isolation.level' = 'read_committed', 'scan.startup.mode' = 'earliest-offset', "
                + "'key.format' = 'raw', 'key.fields' = 'id', 'value.format' = 'raw', 'value.fields-include' = 'EXCEPT_KEY')");
        tables.executeSql("CREATE TABLE captions (id STRING, caption STRING, error_code STRING) WITH ('connector' = 'kafka', "
                + "'topic' = '" + c.get(GlimpseOptions.CAPTIONS_TOPIC) + "', 'properties.bootstrap.servers' = '" + bootstrap
                + "', 'key.format' = 'raw', 'key.fields' = 'id', 'value.format' = 'json', "
                + "'sink.delivery-guarantee' = 'exactly-once', 'sink.transactional-id-prefix' = 'glimpse-bench-" + run + "', "
                + "'properties.transaction.timeout.ms' = '" + c.get(GlimpseOptions.TRANSACTION_TIMEOUT).toMillis() + "')");
        tables.executeSql("CREATE MODEL captioner INPUT (image BYTES) OUTPUT (caption STRING, error_code STRING) WITH ("
                + "'provider' = 'glimpse', 'model-dir' = '" + c.modelDir().toAbsolutePath() + "', 'max-batch-size' = '" + batch
                + "', 'max-batch-delay' = '" + c.get(GlimpseOptions.MAX_BATCH_DELAY).toMillis() + " ms', 'batching-mode' = '"
                + c.get(GlimpseOptions.BATCHING_MODE).name().toLowerCase(Locale.ROOT) + "', 'test-time-views' = '"
                + c.get(GlimpseOptions.TEST_TIME_VIEWS) + "', 'image-splitting' = '" + c.get(GlimpseOptions.IMAGE_SPLITTING) + "')");
        JobClient client = tables.executeSql("INSERT INTO captions SELECT id, caption, error_code FROM ML_PREDICT(TABLE images, "
                + "MODEL captioner, DESCRIPTOR(image), MAP['max-concurrent-operations', '" + 2 * batch + "'])")
                .getJobClient().orElseThrow();
        return time(c, bootstrap, run, List.of(c.get(GlimpseOptions.CAPTIONS_TOPIC)), client, encoded);
    }

    /**
     * Times a running job ({@code client}, cancelled at the end) on the images: a warm-up first (its
     * model loaded, its first forwards and checkpoints done), then the timed images, each produced in
     * one burst and read back committed from {@code outputs}.
     */
    private Pipeline time(GlimpseConfig c, String bootstrap, String run, List<String> outputs, JobClient client,
                          byte[][] encoded) throws Exception {
        try (KafkaProducer<byte[], byte[]> producer = KafkaClients.imageProducer(bootstrap, c.kafkaProperties());
             KafkaConsumer<String, String> consumer = KafkaClients.committedReader(bootstrap, c.kafkaProperties(),
                     "glimpse-bench-reader-" + run, true)) {
            consumer.subscribe(outputs);
            Map<String, Long> sent = produce(producer, c, "warm-", Math.max(2 * c.get(GlimpseOptions.MAX_BATCH_SIZE), 16), encoded);
            collect(consumer, c, sent, "warm-");
            sent = produce(producer, c, "timed-", images, encoded);
            return summarise(collect(consumer, c, sent, "timed-"), sent, c.get(GlimpseOptions.CHECKPOINT_INTERVAL));
        } finally {
            client.cancel().get();
        }
    }

    /**
     * The model alone, in this thread: images/s of the whole loop (decode, views, model) and of the
     * model's calls only, over the same images as the pipeline, after one warm-up batch.
     */
    private double[] modelAlone(GlimpseConfig c, int batch, byte[][] encoded) {
        ModelConfig cfg = c.modelConfig();
        DecoderSettings limits = c.decoderSettings(cfg);
        ImagePreprocessor.Limits decodeLimits = new ImagePreprocessor.Limits(limits.maxPayloadBytes(), limits.maxPixels());
        boolean views = c.get(GlimpseOptions.TEST_TIME_VIEWS);
        try (SharedModels.Handle handle = SharedModels.acquire(c.modelDir().toAbsolutePath(), Device.cpu(), c.engineDtype())) {
            Captioner captioner = new Captioner(handle.model());
            ImagePreprocessor pre = new ImagePreprocessor(views ? cfg : cfg.singleView());
            Idefics3Settings smol = cfg.idefics3;
            Idefics3ImageProcessor tiler = smol == null ? null
                    : new Idefics3ImageProcessor(c.get(GlimpseOptions.IMAGE_SPLITTING) ? smol : smol.withImageSplitting(false));
            captionRange(captioner, pre, tiler, decodeLimits, limits, encoded, 0, Math.min(batch, images), batch);
            long start = System.nanoTime();
            long model = captionRange(captioner, pre, tiler, decodeLimits, limits, encoded, 0, images, batch);
            double seconds = (System.nanoTime() - start) / 1e9;
            return new double[] {images / seconds, images / (model / 1e9)};
        }
    }

    /** The bytes and serialisation time of the records the job's patch embedder makes of the bench's scenes. */
    private static BenchReport records(GlimpseConfig c, byte[][] encoded) {
        DecoderSettings limits = c.decoderSettings(c.modelConfig());
        ImagePreprocessor.Limits decodeLimits = new ImagePreprocessor.Limits(limits.maxPayloadBytes(), limits.maxPixels());
        List<EmbeddedImage> records = new ArrayList<>();
        try (ImageEmbedding embedding = new ImageEmbedding(c.modelDir().toAbsolutePath().toString(), c.engineDtype(),
                c.get(GlimpseOptions.TEST_TIME_VIEWS), c.get(GlimpseOptions.IMAGE_SPLITTING), 0)) {
            for (int i = 0; i < Math.min(encoded.length, 50); i++) {
                ImageRequest r = new ImageRequest();
                r.id = "scene-" + i;
                r.source = new SourceRef("images", 0, i, 0);
                try {
                    records.add(embedding.embed(new DecodedImage(r,
                            ImagePreprocessor.decodeRgb(encoded[i], decodeLimits, limits.targetSize()))));
                } catch (ImageDecodeException e) {
                    throw new IllegalStateException("a bench scene does not decode: " + e.getMessage(), e);
                }
            }
        }
        return RecordTransport.measure(c.modelConfig().displayName() + " (the job's patch embedder on the bench's scenes)",
                records, 5);
    }

    /** Captions images {@code from .. to-1} in batches; returns the nanoseconds spent in the model's calls. */
    private static long captionRange(Captioner captioner, ImagePreprocessor pre, Idefics3ImageProcessor tiler,
                                     ImagePreprocessor.Limits decodeLimits, DecoderSettings limits, byte[][] encoded,
                                     int from, int to, int batch) {
        long model = 0;
        for (int first = from; first < to; first += batch) {
            int n = Math.min(batch, to - first);
            List<float[]> pixels = new ArrayList<>(n);
            List<Idefics3ImageProcessor.Tiles> tiles = new ArrayList<>(n);
            for (int i = 0; i < n; i++) {
                RgbImage rgb;
                try {
                    rgb = ImagePreprocessor.decodeRgb(encoded[(first + i) % encoded.length], decodeLimits, limits.targetSize());
                } catch (ImageDecodeException e) {
                    throw new IllegalStateException("a bench scene does not decode: " + e.getMessage(), e);
                }
                if (tiler != null) {
                    tiles.add(tiler.process(rgb));
                } else {
                    pixels.add(pre.toViews(rgb));
                }
            }
            List<String> prompts = new ArrayList<>(Collections.nCopies(n, null));
            int[] caps = new int[n];
            Arrays.fill(caps, limits.defaultMaxNewTokens());
            long t0 = System.nanoTime();
            if (tiler != null) {
                captioner.captionTiles(tiles, prompts, caps);
            } else {
                captioner.caption(pixels, pre.plan(), prompts, caps);
            }
            model += System.nanoTime() - t0;
        }
        return model;
    }

    /** Sends {@code count} images keyed {@code prefix + i}; returns each key's send time. */
    private static Map<String, Long> produce(KafkaProducer<byte[], byte[]> producer, GlimpseConfig c, String prefix,
                                             int count, byte[][] encoded) {
        Map<String, Long> sent = new HashMap<>();
        String topic = c.get(GlimpseOptions.IMAGES_TOPIC);
        for (int i = 0; i < count; i++) {
            String id = prefix + i;
            long now = System.currentTimeMillis();
            sent.put(id, now);
            producer.send(new ProducerRecord<>(topic, null, now, id.getBytes(StandardCharsets.UTF_8), encoded[i % encoded.length]));
        }
        producer.flush();
        return sent;
    }

    /** One committed outcome: its arrival time here and its JSON. */
    private record Outcome(long seenAtMs, boolean caption, JsonNode json) {}

    /** Reads outcomes until every id of {@code sent} has one; outcomes of other ids are skipped. */
    private List<Outcome> collect(KafkaConsumer<String, String> consumer, GlimpseConfig c, Map<String, Long> sent,
                                  String prefix) throws Exception {
        List<Outcome> got = new ArrayList<>();
        Map<String, Boolean> seen = new HashMap<>();
        long deadline = System.currentTimeMillis() + timeout.toMillis();
        while (seen.size() < sent.size()) {
            if (System.currentTimeMillis() > deadline) {
                throw new IllegalStateException("only " + seen.size() + " of " + sent.size() + " " + prefix
                        + " images had an outcome within " + timeout);
            }
            for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(200))) {
                long now = System.currentTimeMillis();
                JsonNode n = JSON.readTree(r.value());
                String id = n.path("id").asText();
                if (!sent.containsKey(id)) {
                    continue;
                }
                if (seen.put(id, Boolean.TRUE) != null) {
                    throw new IllegalStateException("image " + id + " had two outcomes");
                }
                got.add(new Outcome(now, r.topic().equals(c.get(GlimpseOptions.CAPTIONS_TOPIC)), n));
            }
        }
        return got;
    }

    /**
     * Committed outcomes arrive in one burst per checkpoint. The rate is taken between the first and
     * the last of those bursts, counting the outcomes of the bursts after the first: the start-up of
     * the burst of images and the wait for the last checkpoint fall outside. With fewer than three
     * bursts it falls back to all the images over the whole run.
     */
    private Pipeline summarise(List<Outcome> outcomes, Map<String, Long> sent, Duration checkpointInterval) {
        outcomes.sort((a, b) -> Long.compare(a.seenAtMs(), b.seenAtMs()));
        long firstSent = Collections.min(sent.values());
        long last = outcomes.get(outcomes.size() - 1).seenAtMs();
        long gap = Math.max(200, checkpointInterval.toMillis() / 3);
        List<long[]> bursts = new ArrayList<>();
        for (Outcome o : outcomes) {
            if (bursts.isEmpty() || o.seenAtMs() - bursts.get(bursts.size() - 1)[0] > gap) {
                bursts.add(new long[] {o.seenAtMs(), 0});
            }
            long[] current = bursts.get(bursts.size() - 1);
            current[0] = o.seenAtMs();
            current[1]++;
        }
        double rate;
        if (bursts.size() >= 3) {
            long counted = 0;
            for (int i = 1; i < bursts.size() - 1; i++) {
                counted += bursts.get(i)[1];
            }
            rate = counted / ((bursts.get(bursts.size() - 2)[0] - bursts.get(0)[0]) / 1000.0);
        } else {
            rate = outcomes.size() / ((last - firstSent) / 1000.0);
        }
        double[] latency = outcomes.stream().mapToDouble(o -> o.seenAtMs() - sent.get(o.json().path("id").asText()))
                .sorted().toArray();
        Map<String, Double> stages = new LinkedHashMap<>();
        List<Outcome> captions = outcomes.stream().filter(Outcome::caption).toList();
        for (String stage : List.of("decode", "embed", "queue", "inference")) {
            stages.put(stage, captions.stream().mapToDouble(o -> o.json().path("timings_ms").path(stage).asDouble())
                    .average().orElse(Double.NaN));
        }
        stages.put("outside", captions.stream().mapToDouble(o -> o.seenAtMs() - sent.get(o.json().path("id").asText())
                - o.json().path("timings_ms").path("total").asDouble()).average().orElse(Double.NaN));
        double meanBatch = captions.stream().mapToDouble(o -> o.json().path("timings_ms").path("batch_size").asDouble())
                .average().orElse(Double.NaN);
        return new Pipeline(rate, (last - firstSent) / 1000.0, captions.size(), outcomes.size() - captions.size(),
                new double[] {percentile(latency, 50), percentile(latency, 95), percentile(latency, 99)}, stages, meanBatch,
                bursts.size() < 3);
    }

    /** The nearest-rank percentile of sorted values. */
    static double percentile(double[] sorted, double p) {
        int rank = (int) Math.ceil(p / 100.0 * sorted.length);
        return sorted[Math.max(0, Math.min(sorted.length - 1, rank - 1))];
    }

    private static void deleteQuietly(Path dir) {
        try (var paths = Files.walk(dir)) {
            paths.sorted(Collections.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (java.io.IOException e) {
            System.err.println("could not delete " + dir + ": " + e.getMessage());
        }
    }
}
