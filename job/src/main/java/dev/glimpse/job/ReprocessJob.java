package dev.glimpse.job;

import dev.glimpse.connectors.KafkaClients;
import dev.glimpse.connectors.KafkaTopics;
import dev.glimpse.connectors.reprocess.OutputLine;
import dev.glimpse.connectors.reprocess.ReadTally;
import dev.glimpse.connectors.reprocess.ReprocessSink;
import dev.glimpse.connectors.reprocess.ReprocessSource;
import dev.glimpse.operators.BatchedCaptioner;
import dev.glimpse.operators.DecoderSettings;
import dev.glimpse.operators.ImageEvent;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.flink.api.common.RuntimeExecutionMode;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.ExecutionOptions;
import org.apache.flink.configuration.ExternalizedCheckpointRetention;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The bounded job: a source of {@link ReprocessSource}, the skip-existing filter, the streaming job's
 * own graph ({@link GlimpsePipeline}: decoder, patch embedder, batched captioner), and a sink of
 * {@link ReprocessSink}. It runs in streaming execution with checkpoints, not in Flink's BATCH mode:
 * in BATCH mode sinks commit only when the whole job ends, so a crash would lose every caption of
 * the run, while here each checkpoint commits what came before it.
 */
public final class ReprocessJob {
    private static final Logger LOG = LoggerFactory.getLogger(ReprocessJob.class);

    private ReprocessJob() {}

    /** What one run does. {@code prompt}: for images that bring none (null: the model's). */
    public record Plan(ReprocessSource from, ReprocessSink to, String prompt, boolean skipExisting, String runId) {}

    public static void addTo(StreamExecutionEnvironment env, GlimpseConfig c, Plan plan) {
        addTo(env, c, plan, new BatchedCaptioner(c.modelDir().toAbsolutePath().toString(), c.engineDtype(), c.batchingSettings()));
    }

    /** As above, with a given inference operator. */
    public static void addTo(StreamExecutionEnvironment env, GlimpseConfig c, Plan plan, BatchedCaptioner captioner) {
        checkKafkaAccess(c, plan);
        PipelineSettings configured = PipelineSettings.of(c);
        PipelineSettings settings = configured.withDecoder(allowingSource(configured.decoder(), plan.from()));
        int cpu = settings.cpuParallelism();
        int inference = settings.inferenceParallelism();
        DataStream<ImageEvent> events = plan.from().stream(env, c.kafkaSettings(), plan.prompt()).setParallelism(cpu)
                .flatMap(new ReadTally(plan.runId(), plan.skipExisting() ? plan.to().existing(c.kafkaSettings()) : null))
                .returns(TypeInformation.of(ImageEvent.class))
                .name(plan.skipExisting() ? "skip existing" : "read").uid("read-tally").setParallelism(cpu);
        GlimpsePipeline.Outputs out = GlimpsePipeline.build(events, settings, captioner);
        DataStream<OutputLine> captions = out.captions().map(OutputLine::of).returns(TypeInformation.of(OutputLine.class))
                .name("caption lines").uid("caption-lines").setParallelism(inference);
        DataStream<OutputLine> dead = out.deadLetters().map(OutputLine::of).returns(TypeInformation.of(OutputLine.class))
                .name("dead-letter lines").uid("dead-letter-lines").setParallelism(cpu);
        plan.to().write(captions.union(dead), inference, c.kafkaSettings(), plan.runId());
    }

    /**
     * Streaming execution with checkpoints over the bounded source, deleted when the job is cancelled:
     * they serve a failover within the run; a rerun starts afresh with {@code --skip-existing}.
     */
    public static Configuration flinkConfiguration(GlimpseConfig c) {
        Configuration flink = GlimpseJob.localCluster(c);
        flink.set(ExecutionOptions.RUNTIME_MODE, RuntimeExecutionMode.STREAMING);
        flink.set(CheckpointingOptions.EXTERNALIZED_CHECKPOINT_RETENTION, ExternalizedCheckpointRetention.DELETE_ON_CANCELLATION);
        return flink;
    }

    /** The line a run starts with: what it reads and writes, with which model and settings. */
    public static String describe(GlimpseConfig c, Plan plan) {
        return "reprocess " + plan.from() + " → " + plan.to() + "; model " + c.modelDir() + ", batch "
                + c.get(GlimpseOptions.MAX_BATCH_SIZE) + ", parallelism " + c.get(GlimpseOptions.DECODE_PARALLELISM)
                + " (decode) / " + c.get(GlimpseOptions.INFERENCE_PARALLELISM) + " (inference), checkpoint every "
                + c.get(GlimpseOptions.CHECKPOINT_INTERVAL).toSeconds() + " s";
    }

    /**
     * Connects once to each Kafka cluster the run reads or writes, with the job's settings, as
     * {@code run} does: wrong credentials, a source topic that does not exist or a sink topic that
     * does not exist and may not be created ({@code kafka.create-topics}) stop the command now, naming
     * the failure, instead of a job that restarts until it times out.
     */
    static void checkKafkaAccess(GlimpseConfig c, Plan plan) {
        Map<String, KafkaTopics> byCluster = new LinkedHashMap<>();
        if (plan.from() instanceof ReprocessSource.KafkaTopic k) {
            byCluster.put(k.bootstrap(), new KafkaTopics(List.of(k.topic()), List.of(), c.topicCreation()));
        }
        if (plan.to() instanceof ReprocessSink.KafkaTopic k) {
            byCluster.merge(k.bootstrap(), KafkaTopics.used(List.of(k.topic(), k.deadLetterTopic()), c.topicCreation()),
                    KafkaTopics::and);
        }
        byCluster.forEach((bootstrap, topics) ->
                KafkaClients.checkAccess(bootstrap, c.kafkaProperties(), GlimpseJob.ACCESS_CHECK_TIMEOUT, topics));
        if (plan.to() instanceof ReprocessSink.KafkaTopic k) {
            warnOfOpenTransactions(c, k, plan.skipExisting());
        }
    }

    /**
     * Each run writes with transactional ids of its own, so a run never aborts what another left open:
     * say so when a transaction is open on the sink's topics, as one left by a run killed with {@code
     * kill -9} holds back every read_committed reader of them until the broker aborts it.
     */
    private static void warnOfOpenTransactions(GlimpseConfig c, ReprocessSink.KafkaTopic k, boolean skipExisting) {
        for (KafkaClients.OpenTransaction t : KafkaClients.openTransactions(k.bootstrap(), c.kafkaProperties(),
                List.of(k.topic(), k.deadLetterTopic()), GlimpseJob.ACCESS_CHECK_TIMEOUT)) {
            LOG.warn("Kafka transaction '{}' is open on {} since {} (another writer, or a run killed with kill -9, which "
                    + "the broker aborts by {}): until it ends, read_committed readers of it see nothing written after "
                    + "it began{}", t.transactionalId(), String.join(", ", t.topics()), t.since(), t.abortedBy(),
                    skipExisting ? ", --skip-existing included" : "");
        }
    }

    /**
     * The decoder limits {@code d}, with the source's own locations added to the allowed URIs: the
     * images a folder or manifest names are what the run is for, while a manifest line pointing
     * anywhere else still needs {@code decoder.allowed-uris}.
     */
    static DecoderSettings allowingSource(DecoderSettings d, ReprocessSource from) {
        List<String> allowed = new ArrayList<>(d.allowedUris());
        from.allowedUris().stream().filter(u -> !allowed.contains(u)).forEach(allowed::add);
        return new DecoderSettings(d.maxPayloadBytes(), d.maxPixels(), d.maxPromptChars(), d.defaultMaxNewTokens(),
                d.maxNewTokensCap(), d.fetchTimeout(), d.targetSize(), allowed, d.allowPrivateAddresses());
    }
}
