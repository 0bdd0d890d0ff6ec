package dev.glimpse.job;

import dev.glimpse.model.EngineDtype;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.glimpse.connectors.KafkaSettings;
import dev.glimpse.connectors.Secrets;
import dev.glimpse.connectors.TopicCreation;
import dev.glimpse.model.ModelConfig;
import dev.glimpse.model.VisionLanguageModel;
import dev.glimpse.operators.BatchingSettings;
import dev.glimpse.operators.DecoderSettings;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Collectors;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.Configuration;

/**
 * The job's configuration: defaults, then a YAML file, then command-line overrides. Unknown keys
 * and bad values fail at start with a message naming the option.
 */
public final class GlimpseConfig {
    /** Prefix of the options passed to every Kafka client, e.g. {@code kafka.properties.security.protocol}. */
    public static final String KAFKA_PROPERTIES = "kafka.properties.";
    /**
     * Prefixes of Flink's file-system options ({@code s3.endpoint}, {@code s3.access-key}, {@code
     * fs.s3a.*}): given to Flink's file systems as they are, in local mode (a cluster reads its own).
     */
    public static final List<String> FILE_SYSTEM_PREFIXES = List.of("s3.", "s3a.", "fs.");
    /** What a secret value is printed as. */
    public static final String MASK = Secrets.MASK;

    /** Kafka client properties the job sets from its own options (or needs as they are), with the option to use. */
    private static final Map<String, String> JOB_OWNED_KAFKA_PROPERTIES = Map.of(
            "bootstrap.servers", "use kafka.bootstrap-servers",
            "group.id", "use kafka.group-id",
            "transactional.id", "use kafka.transactional-id-prefix",
            "transaction.timeout.ms", "use kafka.transaction-timeout",
            "isolation.level", "always read_committed",
            "key.serializer", "fixed by the job",
            "value.serializer", "fixed by the job",
            "key.deserializer", "fixed by the job",
            "value.deserializer", "fixed by the job");

    private final Configuration conf;

    private GlimpseConfig(Configuration conf) {
        this.conf = conf;
    }

    /** Loads {@code yaml} (may be null) and applies {@code overrides} (key → value) on top. */
    public static GlimpseConfig load(Path yaml, Map<String, String> overrides) {
        Map<String, String> values = new LinkedHashMap<>();
        if (yaml != null) {
            try {
                JsonNode root = new ObjectMapper(new YAMLFactory()).readTree(Files.readAllBytes(yaml));
                if (root != null && !root.isNull()) {
                    flatten("", root, values);
                }
            } catch (IOException e) {
                throw new IllegalArgumentException("cannot read configuration " + yaml + ": " + e.getMessage(), e);
            }
            checkKnown(values.keySet(), "in " + yaml);
        }
        checkKnown(overrides.keySet(), "on the command line");
        values.putAll(overrides);
        GlimpseConfig c = new GlimpseConfig(Configuration.fromMap(values));
        c.validate();
        return c;
    }

    private static void flatten(String prefix, JsonNode node, Map<String, String> out) {
        if (node.isObject()) {
            Iterator<Map.Entry<String, JsonNode>> fields = node.fields();
            while (fields.hasNext()) {
                Map.Entry<String, JsonNode> f = fields.next();
                flatten(prefix.isEmpty() ? f.getKey() : prefix + "." + f.getKey(), f.getValue(), out);
            }
        } else if (node.isArray()) {
            // A YAML list becomes Flink's list syntax; each element quoted so a ';' inside stays in it.
            List<String> items = new ArrayList<>();
            node.forEach(item -> items.add("'" + item.asText().replace("'", "''") + "'"));
            out.put(prefix, String.join(";", items));
        } else if (!node.isNull()) {
            out.put(prefix, node.asText());
        }
    }

    private static void checkKnown(Set<String> keys, String where) {
        Set<String> known = GlimpseOptions.ALL.stream().map(ConfigOption::key).collect(Collectors.toSet());
        for (String k : keys) {
            if (k.startsWith(KAFKA_PROPERTIES)) {
                checkKafkaProperty(k.substring(KAFKA_PROPERTIES.length()), where);
            } else if (!known.contains(k) && !isFileSystemOption(k)) {
                throw new IllegalArgumentException("unknown option '" + k + "' " + where
                        + " (known options: " + String.join(", ", known.stream().sorted().toList())
                        + ", " + KAFKA_PROPERTIES + "<Kafka client property>, and Flink's file-system options "
                        + String.join("*, ", FILE_SYSTEM_PREFIXES) + "*)");
            }
        }
    }

    private static void checkKafkaProperty(String property, String where) {
        if (property.isBlank()) {
            throw new IllegalArgumentException("option '" + KAFKA_PROPERTIES + "' " + where + " names no Kafka client property");
        }
        String owner = JOB_OWNED_KAFKA_PROPERTIES.get(property);
        if (owner != null) {
            throw new IllegalArgumentException("option '" + KAFKA_PROPERTIES + property + "' " + where
                    + " is set by the job itself (" + owner + ")");
        }
    }

    /** Reads every option once so a malformed value fails now, naming its key. */
    private void validate() {
        for (ConfigOption<?> o : GlimpseOptions.ALL) {
            try {
                conf.get(o);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("invalid value for option '" + o.key() + "': " + e.getMessage(), e);
            }
        }
        positive(GlimpseOptions.MAX_BATCH_SIZE);
        positive(GlimpseOptions.DECODE_PARALLELISM);
        positive(GlimpseOptions.INFERENCE_PARALLELISM);
        positive(GlimpseOptions.MAX_PROMPT_CHARS);
        positive(GlimpseOptions.MAX_NEW_TOKENS_CAP);
        if (get(GlimpseOptions.DEFAULT_MAX_NEW_TOKENS) < 0) {
            throw new IllegalArgumentException("option 'generation.default-max-new-tokens' must be >= 0");
        }
        if (get(GlimpseOptions.ENGINE_THREADS) < 0) {
            throw new IllegalArgumentException("option 'engine.threads' must be >= 0");
        }
        try {
            engineDtype();
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("option 'engine.dtype': " + e.getMessage(), e);
        }
        if (get(GlimpseOptions.MAX_PIXELS) <= 0 || get(GlimpseOptions.MAX_PAYLOAD).getBytes() <= 0) {
            throw new IllegalArgumentException("options 'decoder.max-pixels' and 'decoder.max-payload-bytes' must be positive");
        }
        if (get(GlimpseOptions.TRANSACTION_TIMEOUT).compareTo(Duration.ofMinutes(15)) > 0) {
            throw new IllegalArgumentException("option 'kafka.transaction-timeout' must not exceed the broker's default maximum of 15 min");
        }
        String offsets = get(GlimpseOptions.STARTING_OFFSETS);
        if (!Set.of("committed-or-earliest", "earliest", "latest").contains(offsets)) {
            throw new IllegalArgumentException("option 'kafka.starting-offsets' must be committed-or-earliest, earliest or latest, got " + offsets);
        }
    }

    private void positive(ConfigOption<Integer> o) {
        if (get(o) < 1) {
            throw new IllegalArgumentException("option '" + o.key() + "' must be at least 1, got " + get(o));
        }
    }

    public <T> T get(ConfigOption<T> option) {
        return conf.get(option);
    }

    /**
     * The {@code kafka.properties.*} options without their prefix: security and tuning settings
     * that every Kafka client of the job and of the CLI gets (TLS, SASL, timeouts).
     */
    public Map<String, String> kafkaProperties() {
        Map<String, String> props = new TreeMap<>();
        conf.toMap().forEach((k, v) -> {
            if (k.startsWith(KAFKA_PROPERTIES)) {
                props.put(k.substring(KAFKA_PROPERTIES.length()), v);
            }
        });
        return props;
    }

    /** {@link #kafkaProperties()} fit to print: the value of any key that may hold a secret is masked. */
    public Map<String, String> kafkaPropertiesMasked() {
        Map<String, String> shown = new TreeMap<>();
        kafkaProperties().forEach((k, v) -> shown.put(k, isSecretKey(k) ? MASK : v));
        return shown;
    }

    private static boolean isFileSystemOption(String key) {
        return FILE_SYSTEM_PREFIXES.stream().anyMatch(key::startsWith);
    }

    /** Flink's file-system options of the configuration ({@link #FILE_SYSTEM_PREFIXES}), as given. */
    public Map<String, String> fileSystemOptions() {
        Map<String, String> options = new TreeMap<>();
        conf.toMap().forEach((k, v) -> {
            if (isFileSystemOption(k)) {
                options.put(k, v);
            }
        });
        return options;
    }

    /** Keys whose values are never printed ({@link Secrets#isSecretKey}). */
    public static boolean isSecretKey(String key) {
        return Secrets.isSecretKey(key);
    }

    /** What the job's Kafka clients and exactly-once sinks get. */
    public KafkaSettings kafkaSettings() {
        return new KafkaSettings(kafkaProperties(), get(GlimpseOptions.TRANSACTIONAL_ID_PREFIX),
                get(GlimpseOptions.TRANSACTION_TIMEOUT));
    }

    /** Whether and how the job creates the Kafka topics it needs when they are missing. */
    public TopicCreation topicCreation() {
        return new TopicCreation(get(GlimpseOptions.CREATE_TOPICS), get(GlimpseOptions.TOPIC_PARTITIONS),
                get(GlimpseOptions.TOPIC_REPLICATION_FACTOR));
    }

    /** The model folder: the option, else the built-in model beside the installation. */
    public Path modelDir() {
        String dir = conf.get(GlimpseOptions.MODEL_DIR);
        return dir != null ? Path.of(dir) : Installation.builtInModel();
    }

    /**
     * {@code engine.dtype}, which the job's operators carry to the models of every TaskManager; null
     * where it is not set: each JVM's {@code -Dglimpse.engine.dtype}, else float32 ({@link EngineDtype#configured()}).
     */
    public EngineDtype engineDtype() {
        String dtype = conf.get(GlimpseOptions.ENGINE_DTYPE);
        return dtype == null ? null : EngineDtype.parse(dtype);
    }

    public DecoderSettings decoderSettings(ModelConfig model) {
        int defaultTokens = get(GlimpseOptions.DEFAULT_MAX_NEW_TOKENS);
        int cap = get(GlimpseOptions.MAX_NEW_TOKENS_CAP);
        int def = Math.min(defaultTokens > 0 ? defaultTokens : model.lmMaxLength, cap);
        return new DecoderSettings(get(GlimpseOptions.MAX_PAYLOAD).getBytes(), get(GlimpseOptions.MAX_PIXELS),
                get(GlimpseOptions.MAX_PROMPT_CHARS), def, cap, get(GlimpseOptions.FETCH_TIMEOUT), model.decodeTargetSize(),
                get(GlimpseOptions.ALLOWED_URIS), get(GlimpseOptions.ALLOW_PRIVATE_ADDRESSES));
    }

    public BatchingSettings batchingSettings() {
        // Captions are committed once per checkpoint: an unsure image's second look can wait for the
        // next barrier (which flushes it) without delaying its caption.
        return new BatchingSettings(get(GlimpseOptions.MAX_BATCH_SIZE), get(GlimpseOptions.MAX_BATCH_DELAY),
                get(GlimpseOptions.CHECKPOINT_INTERVAL), get(GlimpseOptions.BATCHING_MODE));
    }

    /** The model's config.json, read without loading weights. */
    public ModelConfig modelConfig() {
        Path cfg = modelDir().resolve(VisionLanguageModel.CONFIG);
        if (!Files.isRegularFile(cfg)) {
            throw new IllegalArgumentException("option 'model.dir': " + modelDir() + " holds no " + VisionLanguageModel.CONFIG);
        }
        return ModelConfig.read(cfg);
    }

    public Configuration flink() {
        return conf;
    }
}
