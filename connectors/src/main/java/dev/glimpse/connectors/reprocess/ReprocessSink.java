package dev.glimpse.connectors.reprocess;

import com.fasterxml.jackson.databind.JsonNode;
import dev.glimpse.connectors.KafkaClients;
import dev.glimpse.connectors.KafkaConnectors;
import dev.glimpse.connectors.KafkaSettings;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.flink.api.common.serialization.Encoder;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.connector.file.sink.FileSink;
import org.apache.flink.connector.kafka.sink.KafkaRecordSerializationSchema;
import org.apache.flink.connector.kafka.sink.KafkaSink;
import org.apache.flink.core.io.SimpleVersionedSerializer;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.functions.sink.filesystem.BucketAssigner;
import org.apache.flink.streaming.api.functions.sink.filesystem.OutputFileConfig;
import org.apache.flink.streaming.api.functions.sink.filesystem.bucketassigners.SimpleVersionedStringSerializer;
import org.apache.flink.streaming.api.functions.sink.filesystem.rollingpolicies.OnCheckpointRollingPolicy;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;

/** {@code --to}: where a reprocessing run writes captions and dead letters. */
public sealed interface ReprocessSink permits ReprocessSink.JsonLinesFile, ReprocessSink.JsonLinesDir,
        ReprocessSink.ParquetDir, ReprocessSink.KafkaTopic {
    /**
     * {@code jsonl:FILE}, {@code jsonl:DIR/} (a trailing slash; a path or any Flink file system URI),
     * {@code parquet:DIR/} (the same; needs the optional Parquet jars, see {@link ParquetSupport}),
     * {@code kafka:TOPIC@BOOTSTRAP} (dead letters to {@code deadLetterTopic}, default {@code TOPIC-dlq}).
     */
    static ReprocessSink parse(String text, String deadLetterTopic) {
        if (text != null && text.startsWith("jsonl:") && text.length() > "jsonl:".length()) {
            String target = text.substring("jsonl:".length());
            if (target.endsWith("/")) {
                return new JsonLinesDir(dirUri(target));
            }
            return new JsonLinesFile(Path.of(target).toAbsolutePath().normalize());
        }
        if (text != null && text.startsWith("parquet:") && text.endsWith("/") && text.length() > "parquet:/".length()) {
            ParquetSupport.require();
            return new ParquetDir(dirUri(text.substring("parquet:".length())));
        }
        if (text != null && text.startsWith("kafka:")) {
            String spec = text.substring("kafka:".length());
            int at = spec.indexOf('@');
            if (at >= 1 && at < spec.length() - 1) {
                String topic = spec.substring(0, at);
                return new KafkaTopic(topic, deadLetterTopic != null ? deadLetterTopic : topic + "-dlq", spec.substring(at + 1));
            }
        }
        throw new IllegalArgumentException("--to " + text + ": expected jsonl:FILE, jsonl:DIR/, parquet:DIR/ or kafka:TOPIC@HOST:PORT");
    }

    /** A folder's URI with a trailing slash: a URI as given, a path made absolute. */
    private static String dirUri(String target) {
        String dir = target.matches("^[a-zA-Z][a-zA-Z0-9+.-]*:/.*") ? target
                : Path.of(target).toAbsolutePath().normalize().toUri().toString();
        return dir.endsWith("/") ? dir : dir + "/";
    }

    /** Creates what must exist before the job starts (folders). */
    void prepare() throws IOException;

    /** Tallies and writes the outcomes; {@code parallelism}: the writers' where the sink can take several. */
    void write(DataStream<OutputLine> lines, int parallelism, KafkaSettings kafka, String runId);

    /** Where the sink's earlier outcomes are, for {@code --skip-existing}. */
    ExistingIds.Loader existing(KafkaSettings kafka);

    private static DataStream<OutputLine> tallied(DataStream<OutputLine> lines, String runId, int parallelism) {
        return lines.flatMap(new OutcomeTally(runId)).returns(TypeInformation.of(OutputLine.class))
                .name("outcomes").uid("outcome-tally").setParallelism(parallelism);
    }

    /**
     * One file of captions and its sibling of dead letters, written by one writer: a single file
     * cannot take parallel appends, and writing JSON lines is cheap beside captioning.
     */
    record JsonLinesFile(Path file) implements ReprocessSink {
        @Override
        public void prepare() throws IOException {
            Files.createDirectories(file.getParent());
        }

        @Override
        public void write(DataStream<OutputLine> lines, int p, KafkaSettings kafka, String runId) {
            tallied(lines, runId, 1).sinkTo(new JsonLinesFileSink(file, runId)).name("jsonl " + file.getFileName())
                    .uid("jsonl-file-sink").setParallelism(1);
        }

        @Override
        public ExistingIds.Loader existing(KafkaSettings kafka) {
            return new ExistingIds.JsonLinesFiles(List.of(file.toUri().toString(),
                    JsonLinesFileSink.deadLettersFile(file).toUri().toString()));
        }

        @Override
        public String toString() {
            return file + " (dead letters: " + JsonLinesFileSink.deadLettersFile(file).getFileName() + ")";
        }
    }

    /** A part-file sink's folder, made beforehand where it is local; object stores have no folders to make. */
    private static void createLocalFolder(String dirUri) throws IOException {
        if (dirUri.startsWith("file:")) {
            Files.createDirectories(Path.of(java.net.URI.create(dirUri)));
        }
    }

    /**
     * Part files for runs on a cluster: Flink's {@code FileSink} under {@code DIR/captions/} and
     * {@code DIR/dead-letters/}, a part file per writer and checkpoint, committed when the checkpoint
     * completes (in-progress files are hidden and never read back as outcomes).
     */
    record JsonLinesDir(String dirUri) implements ReprocessSink {
        static final String CAPTIONS = "captions";
        static final String DEAD_LETTERS = "dead-letters";

        @Override
        public void prepare() throws IOException {
            createLocalFolder(dirUri);
        }

        @Override
        public void write(DataStream<OutputLine> lines, int p, KafkaSettings kafka, String runId) {
            FileSink<OutputLine> sink = FileSink
                    .forRowFormat(new org.apache.flink.core.fs.Path(dirUri), (Encoder<OutputLine>) JsonLinesDir::encode)
                    .withBucketAssigner(new OutcomeBuckets())
                    .withRollingPolicy(OnCheckpointRollingPolicy.build())
                    .withOutputFileConfig(OutputFileConfig.builder().withPartPrefix("part").withPartSuffix(".jsonl").build())
                    .build();
            tallied(lines, runId, p).sinkTo(sink).name("jsonl " + dirUri).uid("jsonl-dir-sink").setParallelism(p);
        }

        private static void encode(OutputLine line, OutputStream out) throws IOException {
            out.write(line.json);
            out.write('\n');
        }

        @Override
        public ExistingIds.Loader existing(KafkaSettings kafka) {
            return new ExistingIds.JsonLinesFiles(folders());
        }

        /** Every committed outcome, captions first, as JSON (for the gallery): any Flink file system. */
        public List<JsonNode> committed() throws IOException {
            List<JsonNode> outcomes = new ArrayList<>();
            CommittedFiles.forEach(folders(), (fs, file) -> {
                try (BufferedReader lines = new BufferedReader(new InputStreamReader(fs.open(file.getPath()),
                        StandardCharsets.UTF_8))) {
                    outcomes.addAll(OutcomeLines.read(lines, file.getPath().toString()));
                }
            });
            return outcomes;
        }

        private List<String> folders() {
            return List.of(dirUri + CAPTIONS, dirUri + DEAD_LETTERS);
        }

        @Override
        public String toString() {
            return dirUri + "{" + CAPTIONS + "," + DEAD_LETTERS + "}/part-*.jsonl";
        }
    }

    /**
     * Parquet part files through Flink's own format: captions under {@code DIR/captions/} and dead
     * letters under {@code DIR/dead-letters/}, two tables with a schema each ({@link
     * ParquetOutcomeTable}). Dead letters get a Parquet folder of their own rather than a JSON-lines
     * sibling: whoever queries the captions with Spark, Trino or DuckDB queries the failures with the
     * same engine ({@code GROUP BY error.code}), and a folder holds one schema, as a table's does.
     * Part files are committed at each checkpoint, as for {@code jsonl:DIR/}.
     */
    record ParquetDir(String dirUri) implements ReprocessSink {
        @Override
        public void prepare() throws IOException {
            createLocalFolder(dirUri);
        }

        @Override
        public void write(DataStream<OutputLine> lines, int p, KafkaSettings kafka, String runId) {
            DataStream<OutputLine> outcomes = tallied(lines, runId, p);
            for (ParquetOutcomeTable table : ParquetOutcomeTable.values()) {
                outcomes.filter(line -> ParquetOutcomeTable.of(line) == table).name(table.folder())
                        .uid("parquet-" + table.folder() + "-filter").setParallelism(p)
                        .sinkTo(ParquetOutcomeSinks.fileSink(dirUri, table)).name("parquet " + dirUri + table.folder())
                        .uid("parquet-" + table.folder() + "-sink").setParallelism(p);
            }
        }

        @Override
        public ExistingIds.Loader existing(KafkaSettings kafka) {
            return new ParquetIds(tables());
        }

        /** Every committed outcome, captions first, as the topics' JSON (for the gallery). */
        public List<JsonNode> committed() throws IOException {
            return ParquetRowJson.readAll(tables());
        }

        private List<String> tables() {
            return List.of(dirUri + ParquetOutcomeTable.CAPTIONS.folder(), dirUri + ParquetOutcomeTable.DEAD_LETTERS.folder());
        }

        @Override
        public String toString() {
            return dirUri + "{" + ParquetOutcomeTable.CAPTIONS.folder() + "," + ParquetOutcomeTable.DEAD_LETTERS.folder()
                    + "}/part-*.parquet";
        }
    }

    /** Captions into {@code captions/}, dead letters into {@code dead-letters/}. */
    final class OutcomeBuckets implements BucketAssigner<OutputLine, String> {
        @Override
        public String getBucketId(OutputLine line, Context context) {
            return line.deadLetter() ? JsonLinesDir.DEAD_LETTERS : JsonLinesDir.CAPTIONS;
        }

        @Override
        public SimpleVersionedSerializer<String> getSerializer() {
            return SimpleVersionedStringSerializer.INSTANCE;
        }
    }

    /**
     * Both topics through one exactly-once {@code KafkaSink} (Kafka transactions committed on each
     * checkpoint), with the job's transaction timeout and {@code kafka.properties.*}. Its transactional
     * ids are the run's own ({@code <prefix>-<run id>-<topic>}), kept across the run's failovers: two
     * runs into one topic each commit their own transactions. With ids fixed per topic a second run
     * fenced the first one's producers as it started, and each then fenced the other on every restart.
     * The price: a run killed with {@code kill -9} leaves its open transaction to the broker, which aborts
     * it after {@code kafka.transaction-timeout}; until then read_committed readers of the topic see
     * nothing committed after it.
     */
    record KafkaTopic(String topic, String deadLetterTopic, String bootstrap) implements ReprocessSink {
        @Override
        public void prepare() {}

        @Override
        public void write(DataStream<OutputLine> lines, int p, KafkaSettings kafka, String runId) {
            String captions = topic;
            String dead = deadLetterTopic;
            KafkaSink<OutputLine> sink = KafkaConnectors.exactlyOnce(bootstrap,
                    (KafkaRecordSerializationSchema<OutputLine>) (line, context, timestamp) ->
                            new ProducerRecord<>(line.deadLetter() ? dead : captions,
                                    line.id.getBytes(StandardCharsets.UTF_8), line.json),
                    runId + "-" + topic, kafka);
            tallied(lines, runId, p).sinkTo(sink).name("kafka " + topic).uid("kafka-sink").setParallelism(p);
        }

        @Override
        public ExistingIds.Loader existing(KafkaSettings kafka) {
            return new CommittedKeys(bootstrap, List.of(topic, deadLetterTopic), kafka.properties());
        }

        @Override
        public String toString() {
            return "kafka " + topic + "@" + bootstrap + " (dead letters: " + deadLetterTopic + ")";
        }
    }

    /** The keys (image ids) of every committed record of some topics, read from their start to their end now. */
    record CommittedKeys(String bootstrap, List<String> topics, Map<String, String> kafkaProperties) implements ExistingIds.Loader {
        @Override
        public ExistingIds load() {
            ExistingIds.Builder ids = new ExistingIds.Builder();
            try (KafkaConsumer<String, String> consumer = KafkaClients.committedScanner(bootstrap, kafkaProperties)) {
                List<TopicPartition> partitions = topics.stream()
                        .flatMap(t -> consumer.partitionsFor(t).stream().map(i -> new TopicPartition(t, i.partition())))
                        .toList();
                consumer.assign(partitions);
                consumer.seekToBeginning(partitions);
                Map<TopicPartition, Long> end = consumer.endOffsets(partitions);
                while (partitions.stream().anyMatch(tp -> consumer.position(tp) < end.get(tp))) {
                    for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(500))) {
                        if (r.key() != null) {
                            ids.add(r.key());
                        }
                    }
                }
            }
            return ids.build();
        }
    }
}
