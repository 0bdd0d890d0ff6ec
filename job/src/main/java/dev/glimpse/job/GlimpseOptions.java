package dev.glimpse.job;

import dev.glimpse.operators.BatchingSettings;
import java.time.Duration;
import java.util.List;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.ConfigOptions;
import org.apache.flink.configuration.MemorySize;

/**
 * Every option of the job, declared once with its key, default and description. {@code
 * conf/glimpse.yaml} documents the same keys; the command line overrides any of them with
 * {@code --set key=value} (and the common ones with their own flags).
 */
public final class GlimpseOptions {
    private GlimpseOptions() {}

    public static final ConfigOption<String> BOOTSTRAP_SERVERS = ConfigOptions.key("kafka.bootstrap-servers")
            .stringType().defaultValue("localhost:9092").withDescription("Kafka bootstrap servers, host:port[,host:port].");
    public static final ConfigOption<String> IMAGES_TOPIC = ConfigOptions.key("kafka.images-topic")
            .stringType().defaultValue("images").withDescription("Topic the images are read from.");
    public static final ConfigOption<String> CAPTIONS_TOPIC = ConfigOptions.key("kafka.captions-topic")
            .stringType().defaultValue("captions").withDescription("Topic the captions are written to.");
    public static final ConfigOption<String> DEAD_LETTER_TOPIC = ConfigOptions.key("kafka.dead-letter-topic")
            .stringType().defaultValue("captions-dlq").withDescription("Topic records that cannot be captioned go to.");
    public static final ConfigOption<String> GROUP_ID = ConfigOptions.key("kafka.group-id")
            .stringType().defaultValue("glimpse").withDescription("Consumer group of the images source (offsets are committed on checkpoints).");
    public static final ConfigOption<String> STARTING_OFFSETS = ConfigOptions.key("kafka.starting-offsets")
            .stringType().defaultValue("committed-or-earliest")
            .withDescription("Where a fresh job starts reading: committed-or-earliest, earliest or latest. A restored job resumes from its checkpoint.");
    public static final ConfigOption<Boolean> BOUNDED = ConfigOptions.key("kafka.bounded")
            .booleanType().defaultValue(false)
            .withDescription("Batch reprocessing: stop at the offsets that are latest when the job starts, then finish.");
    public static final ConfigOption<String> TRANSACTIONAL_ID_PREFIX = ConfigOptions.key("kafka.transactional-id-prefix")
            .stringType().defaultValue("glimpse")
            .withDescription("Prefix of the sinks' Kafka transactional ids; must be unique per job writing to the same cluster.");
    public static final ConfigOption<Duration> TRANSACTION_TIMEOUT = ConfigOptions.key("kafka.transaction-timeout")
            .durationType().defaultValue(Duration.ofMinutes(5))
            .withDescription("Kafka transaction timeout of the exactly-once sinks; must stay below the broker's transaction.max.timeout.ms (15 min by default).");

    public static final ConfigOption<Boolean> CREATE_TOPICS = ConfigOptions.key("kafka.create-topics")
            .booleanType().defaultValue(false)
            .withDescription("Create the images, captions and dead-letter topics (and the topics a reprocess run writes) "
                    + "when they are missing at start, with kafka.topic-partitions and kafka.topic-replication-factor. "
                    + "false: a missing topic stops the start with a message naming it.");
    public static final ConfigOption<Integer> TOPIC_PARTITIONS = ConfigOptions.key("kafka.topic-partitions")
            .intType().defaultValue(2)
            .withDescription("Partitions of each topic kafka.create-topics creates (the images topic needs at least "
                    + "parallelism.decode to keep every source subtask busy); -1: the broker's num.partitions.");
    public static final ConfigOption<Integer> TOPIC_REPLICATION_FACTOR = ConfigOptions.key("kafka.topic-replication-factor")
            .intType().defaultValue(-1)
            .withDescription("Replicas of each topic kafka.create-topics creates; -1: the broker's default.replication.factor.");

    public static final ConfigOption<String> MODEL_DIR = ConfigOptions.key("model.dir")
            .stringType().noDefaultValue()
            .withDescription("Model folder (config.json, model.safetensors, tokenizer.json). Default: the built-in models/glimpse-scenes.");
    public static final ConfigOption<Integer> ENGINE_THREADS = ConfigOptions.key("engine.threads")
            .intType().defaultValue(0).withDescription("PyTorch intra-op threads of the local JVM; 0: the cores beside parallelism.decode, at least 1. TaskManagers of a cluster take env.java.opts.taskmanager.");
    public static final ConfigOption<String> ENGINE_DTYPE = ConfigOptions.key("engine.dtype")
            .stringType().noDefaultValue()
            .withDescription("float32, bfloat16, float16 or auto (BF16 on a CPU with avx512_bf16 or AMX and on a GPU, else F32): "
                    + "the type the model's matrices are held and multiplied in; norms, softmax, the KV cache and the logits stay F32. "
                    + "Travels with the job to every TaskManager. Unset: each JVM's -Dglimpse.engine.dtype, else float32.");

    public static final ConfigOption<MemorySize> MAX_PAYLOAD = ConfigOptions.key("decoder.max-payload-bytes")
            .memoryType().defaultValue(MemorySize.parse("20mb")).withDescription("Largest image payload or fetched URI body accepted.");
    public static final ConfigOption<Long> MAX_PIXELS = ConfigOptions.key("decoder.max-pixels")
            .longType().defaultValue(40_000_000L).withDescription("Largest declared width x height decoded; larger images are refused before decoding (IMAGE_TOO_LARGE).");
    public static final ConfigOption<Integer> MAX_PROMPT_CHARS = ConfigOptions.key("decoder.max-prompt-chars")
            .intType().defaultValue(2000).withDescription("Longest prompt accepted (BAD_REQUEST beyond).");
    public static final ConfigOption<Duration> FETCH_TIMEOUT = ConfigOptions.key("decoder.fetch-timeout")
            .durationType().defaultValue(Duration.ofSeconds(5)).withDescription("Connect and read timeout of a uri fetch (URI_FETCH_FAILED beyond).");

    public static final ConfigOption<List<String>> ALLOWED_URIS = ConfigOptions.key("decoder.allowed-uris")
            .stringType().asList().defaultValues()
            .withDescription("URI prefixes a uri envelope may name (file:///folder/, https://host/path/, s3://bucket/prefix/); "
                    + "on the command line separated by ';'. Empty (the default): every uri is refused (URI_NOT_ALLOWED). "
                    + "A uri is matched after normalisation, a file:// uri by its real path.");
    public static final ConfigOption<Boolean> ALLOW_PRIVATE_ADDRESSES = ConfigOptions.key("decoder.allow-private-addresses")
            .booleanType().defaultValue(false)
            .withDescription("Let http(s) uris reach loopback, link-local (cloud metadata), private, unique-local, multicast "
                    + "and unspecified addresses; false refuses them (URI_NOT_ALLOWED) even under an allowed prefix.");

    public static final ConfigOption<Integer> DEFAULT_MAX_NEW_TOKENS = ConfigOptions.key("generation.default-max-new-tokens")
            .intType().defaultValue(0).withDescription("Tokens generated when a request gives no max_new_tokens; 0 takes the model's lm_max_length.");
    public static final ConfigOption<Integer> MAX_NEW_TOKENS_CAP = ConfigOptions.key("generation.max-new-tokens-cap")
            .intType().defaultValue(256).withDescription("Requested max_new_tokens above this are clamped to it; below 1 they are refused.");

    public static final ConfigOption<Boolean> TEST_TIME_VIEWS = ConfigOptions.key("generation.test-time-views")
            .booleanType().defaultValue(true)
            .withDescription("Caption images from the shifted views their model's config.json lists (view_shifts), their "
                    + "predictions averaged at every token: every image, or with view_confidence only those whose "
                    + "unmoved view leaves a token below it. false: one unmoved view (for the built-in model about "
                    + "1.2x the throughput, about twice the errors). A model without view_shifts has one view either way.");
    public static final ConfigOption<Boolean> IMAGE_SPLITTING = ConfigOptions.key("generation.image-splitting")
            .booleanType().defaultValue(true)
            .withDescription("SmolVLM (Idefics3) models: split each image into tiles plus the global image as the model "
                    + "folder's preprocessor_config.json says (SmolVLM-256M: up to 4 x 4 tiles + 1, 64 image tokens "
                    + "each). false: the global image only (64 image tokens), far fewer tokens and less detail. "
                    + "Other models ignore it.");

    public static final ConfigOption<Integer> MAX_IMAGE_TOKENS = ConfigOptions.key("generation.max-image-tokens")
            .intType().defaultValue(0)
            .withDescription("Qwen2-VL models: the most merged image tokens one image may cost (each stands for a 28 x 28 "
                    + "pixel square); a larger image is resized down to fit (fewer tokens: a shorter prefill and a "
                    + "smaller KV cache, less detail). 0: the folder's max_pixels (Qwen2-VL-2B: 1280 tokens, about "
                    + "1000 x 1000 pixels). Other models ignore it.");

    public static final ConfigOption<Integer> MAX_BATCH_SIZE = ConfigOptions.key("batching.max-batch-size")
            .intType().defaultValue(16).withDescription("Largest batch of the inference operator.");
    public static final ConfigOption<Duration> MAX_BATCH_DELAY = ConfigOptions.key("batching.max-batch-delay")
            .durationType().defaultValue(Duration.ofMillis(50)).withDescription("Longest a record waits for its batch to fill.");

    public static final ConfigOption<BatchingSettings.Mode> BATCHING_MODE = ConfigOptions.key("batching.mode")
            .enumType(BatchingSettings.Mode.class).defaultValue(BatchingSettings.Mode.CONTINUOUS)
            .withDescription("continuous: an image leaves the decoding batch the step it finishes and a waiting record "
                    + "takes its row at the next step; static: a batch decodes to its last row before the next starts.");

    public static final ConfigOption<Integer> DECODE_PARALLELISM = ConfigOptions.key("parallelism.decode")
            .intType().defaultValue(2).withDescription("Parallelism of the source, decoder and patch embedding (CPU stages).");
    public static final ConfigOption<Integer> INFERENCE_PARALLELISM = ConfigOptions.key("parallelism.inference")
            .intType().defaultValue(1).withDescription("Parallelism of the batched captioner: one per GPU, or per CPU TaskManager.");

    public static final ConfigOption<Duration> CHECKPOINT_INTERVAL = ConfigOptions.key("checkpoint.interval")
            .durationType().defaultValue(Duration.ofSeconds(5))
            .withDescription("Checkpoint interval. Captions are committed to Kafka once per checkpoint, so this bounds their latency.");
    public static final ConfigOption<String> CHECKPOINT_DIR = ConfigOptions.key("checkpoint.dir")
            .stringType().defaultValue("work/checkpoints")
            .withDescription("Durable checkpoint directory: a local path or any Flink file system URI (s3://...).");

    public static final List<ConfigOption<?>> ALL = List.of(BOOTSTRAP_SERVERS, IMAGES_TOPIC, CAPTIONS_TOPIC,
            DEAD_LETTER_TOPIC, GROUP_ID, STARTING_OFFSETS, BOUNDED, TRANSACTIONAL_ID_PREFIX, TRANSACTION_TIMEOUT,
            CREATE_TOPICS, TOPIC_PARTITIONS, TOPIC_REPLICATION_FACTOR, MODEL_DIR, ENGINE_THREADS, ENGINE_DTYPE, MAX_PAYLOAD,
            MAX_PIXELS, MAX_PROMPT_CHARS, FETCH_TIMEOUT,
            ALLOWED_URIS, ALLOW_PRIVATE_ADDRESSES,
            DEFAULT_MAX_NEW_TOKENS, MAX_NEW_TOKENS_CAP, TEST_TIME_VIEWS, IMAGE_SPLITTING, MAX_IMAGE_TOKENS, MAX_BATCH_SIZE, MAX_BATCH_DELAY, BATCHING_MODE,
            DECODE_PARALLELISM,
            INFERENCE_PARALLELISM, CHECKPOINT_INTERVAL, CHECKPOINT_DIR);
}
