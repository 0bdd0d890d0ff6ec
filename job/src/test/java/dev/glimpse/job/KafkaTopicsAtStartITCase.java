package dev.glimpse.job;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.glimpse.connectors.KafkaClients;
import dev.glimpse.connectors.reprocess.KafkaRange;
import dev.glimpse.connectors.reprocess.ReprocessSink;
import dev.glimpse.connectors.reprocess.ReprocessSource;
import dev.glimpse.kafka.EmbeddedKafka;
import dev.glimpse.model.TestModels;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import org.apache.flink.client.program.ClusterClient;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.InjectClusterClient;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 26, point 3: the topics of a job are checked on the broker before the job is submitted. A
 * missing one stops the start at once with a message naming the topic, the broker and the fix (before,
 * the job failed over again and again on {@code UnknownTopicOrPartitionException}); with {@code
 * kafka.create-topics: true} missing ones are created with the configured partitions. The broker
 * creates topics on a producer's first write ({@code auto.create.topics.enable}), as many do: the check
 * must not rely on it. And point 7's other side: a transaction left open on a reprocess sink's topics
 * (by a run killed with {@code kill -9}) is found, for the start to warn of it.
 */
class KafkaTopicsAtStartITCase {
    @RegisterExtension
    static final MiniClusterExtension FLINK = new MiniClusterExtension(new MiniClusterResourceConfiguration.Builder()
            .setNumberTaskManagers(1).setNumberSlotsPerTaskManager(1).build());

    @TempDir
    static Path work;
    static EmbeddedKafka kafka;
    static Path model;

    @BeforeAll
    static void start() {
        kafka = EmbeddedKafka.start(work.resolve("kafka"));
        model = TestModels.writeTinyScenesModel(work.resolve("model"));
    }

    @AfterAll
    static void stop() {
        kafka.close();
    }

    private static GlimpseConfig config(String prefix, Map<String, String> extra) {
        Map<String, String> o = new LinkedHashMap<>(Map.of("kafka.create-topics", "false"));
        o.putAll(extra);
        return KafkaPipelineHarness.config(kafka.bootstrapServers(), model, work, prefix, "500ms", o);
    }

    @Test
    void shouldStopAtOnceNamingTheMissingTopicTheBrokerAndTheFix() {
        GlimpseConfig c = config("absent", Map.of());
        kafka.createTopic("absent-captions", 1);
        kafka.createTopic("absent-dlq", 1);
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(GlimpseJob.checkpointing(c));
        long started = System.nanoTime();
        assertThatThrownBy(() -> GlimpseJob.addTo(env, c))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("Kafka topic 'absent-images' does not exist on the Kafka cluster at " + kafka.bootstrapServers())
                .hasMessageContaining("kafka-topics.sh --bootstrap-server " + kafka.bootstrapServers() + " --create --topic absent-images")
                .hasMessageContaining("--set kafka.create-topics=true")
                .hasMessageNotContaining("absent-captions");
        assertThat((System.nanoTime() - started) / 1e9).as("seconds to the refusal").isLessThan(10);
        assertThat(topics()).as("nothing created").doesNotContainKey("absent-images");
    }

    @Test
    void shouldCreateTheMissingTopicsWithTheConfiguredPartitionsAndLeaveTheOthers() throws Exception {
        GlimpseConfig c = config("created", Map.of("kafka.create-topics", "true", "kafka.topic-partitions", "3"));
        kafka.createTopic("created-images", 1);
        GlimpseJob.addTo(StreamExecutionEnvironment.getExecutionEnvironment(GlimpseJob.checkpointing(c)), c);
        Map<String, TopicDescription> topics = topics();
        assertThat(topics.get("created-images").partitions()).as("an existing topic is left as it is").hasSize(1);
        assertThat(topics.get("created-captions").partitions()).hasSize(3);
        assertThat(topics.get("created-dlq").partitions()).hasSize(3);
    }

    @Test
    void shouldRefuseAReprocessRunWhoseSourceTopicIsMissingEvenWhereTopicsAreCreated() throws Exception {
        GlimpseConfig c = config("rp", Map.of("kafka.create-topics", "true"));
        String bootstrap = kafka.bootstrapServers();
        ReprocessJob.Plan missingSource = new ReprocessJob.Plan(
                ReprocessSource.parse("kafka:rp-archive@" + bootstrap, Set.of(), KafkaRange.parse("earliest", "latest")),
                ReprocessSink.parse("kafka:rp-out@" + bootstrap, null), null, false, "rp-1");
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(ReprocessJob.flinkConfiguration(c));
        assertThatThrownBy(() -> ReprocessJob.addTo(env, c, missingSource))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("Kafka topic 'rp-archive' to read does not exist on the Kafka cluster at " + bootstrap);
        assertThat(topics()).as("an empty source would be a run with nothing to do").doesNotContainKeys("rp-archive");

        kafka.createTopic("rp-archive", 2);
        ReprocessJob.addTo(StreamExecutionEnvironment.getExecutionEnvironment(ReprocessJob.flinkConfiguration(c)), c,
                new ReprocessJob.Plan(missingSource.from(), missingSource.to(), null, false, "rp-2"));
        assertThat(topics()).as("the sink's topics").containsKeys("rp-out", "rp-out-dlq");
    }

    @Test
    void shouldFailTheClusterEntryOnceWithoutSubmittingAJob(@InjectClusterClient ClusterClient<?> client) throws Exception {
        String[] args = {"--model", model.toString(), "--bootstrap", kafka.bootstrapServers(),
                "--images-topic", "entry-images", "--captions-topic", "entry-captions", "--dead-letter-topic", "entry-dlq",
                "--checkpoint-dir", work.resolve("entry-checkpoints").toString(), "--config", writeEmptyConfig().toString()};
        assertThatThrownBy(() -> GlimpseJob.main(args))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("Kafka topics 'entry-images', 'entry-captions', 'entry-dlq' do not exist");
        assertThat(client.listJobs().get()).as("no job submitted, none failing over").isEmpty();
    }

    @Test
    void shouldListATransactionLeftOpenOnTheSinksTopicsAndNoCommittedOne() throws Exception {
        kafka.createTopic("ot-out", 1);
        kafka.createTopic("ot-other", 1);
        long before = System.currentTimeMillis();
        try (KafkaProducer<byte[], byte[]> left = transactional("ot-left-open");
             KafkaProducer<byte[], byte[]> committed = transactional("ot-committed");
             KafkaProducer<byte[], byte[]> elsewhere = transactional("ot-elsewhere")) {
            for (var p : List.of(left, committed, elsewhere)) {
                p.initTransactions();
                p.beginTransaction();
            }
            left.send(new ProducerRecord<>("ot-out", "k".getBytes(StandardCharsets.UTF_8), new byte[1])).get();
            committed.send(new ProducerRecord<>("ot-out", "k".getBytes(StandardCharsets.UTF_8), new byte[1])).get();
            committed.commitTransaction();
            elsewhere.send(new ProducerRecord<>("ot-other", "k".getBytes(StandardCharsets.UTF_8), new byte[1])).get();

            List<KafkaClients.OpenTransaction> open = KafkaClients.openTransactions(kafka.bootstrapServers(), Map.of(),
                    List.of("ot-out", "ot-out-dlq"), Duration.ofSeconds(10));

            assertThat(open).extracting(KafkaClients.OpenTransaction::transactionalId).containsExactly("ot-left-open");
            KafkaClients.OpenTransaction t = open.get(0);
            assertThat(t.topics()).containsExactly("ot-out");
            assertThat(t.since().toEpochMilli()).isBetween(before - 1000, System.currentTimeMillis());
            assertThat(Duration.between(t.since(), t.abortedBy())).isEqualTo(Duration.ofMinutes(1));
        }
    }

    private static KafkaProducer<byte[], byte[]> transactional(String id) {
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
        p.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, id);
        p.put(ProducerConfig.TRANSACTION_TIMEOUT_CONFIG, 60_000);
        p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        return new KafkaProducer<>(p);
    }

    private static Path writeEmptyConfig() throws IOException {
        return Files.writeString(work.resolve("empty.yaml"), "kafka:\n  create-topics: false\n");
    }

    private static Map<String, TopicDescription> topics() {
        Properties p = new Properties();
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
        try (Admin admin = Admin.create(p)) {
            return admin.describeTopics(admin.listTopics().names().get()).allTopicNames().get();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
