package dev.glimpse.job;

import static org.assertj.core.api.Assertions.assertThat;

import dev.glimpse.kafka.EmbeddedKafka;
import dev.glimpse.model.TestModels;
import dev.glimpse.model.scenes.SceneGenerator;
import dev.glimpse.operators.BatchedCaptioner;
import dev.glimpse.operators.BatchingSettings;
import dev.glimpse.operators.EmbeddedImage;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.StateRecoveryOptions;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.core.execution.SavepointFormatType;
import org.apache.flink.runtime.minicluster.MiniCluster;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.test.junit5.InjectMiniCluster;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Exactly once across failures, on a real Kafka broker and a MiniCluster with two TaskManagers:
 * whatever breaks mid-stream, every input id appears exactly once in the committed output.
 */
class ExactlyOnceRecoveryITCase {
    @RegisterExtension
    static final MiniClusterExtension FLINK = new MiniClusterExtension(new MiniClusterResourceConfiguration.Builder()
            .setNumberTaskManagers(2).setNumberSlotsPerTaskManager(2).setConfiguration(fastFailureDetection()).build());

    /** A lost TaskManager is noticed in seconds, not after the default 50 s heartbeat timeout. */
    static Configuration fastFailureDetection() {
        Configuration conf = new Configuration();
        conf.set(org.apache.flink.configuration.HeartbeatManagerOptions.HEARTBEAT_INTERVAL, Duration.ofMillis(500));
        conf.set(org.apache.flink.configuration.HeartbeatManagerOptions.HEARTBEAT_TIMEOUT, Duration.ofSeconds(4));
        return conf;
    }

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

    static GlimpseConfig config(String prefix) {
        GlimpseConfig c = KafkaPipelineHarness.config(kafka.bootstrapServers(), model, work, prefix, "300ms");
        kafka.createTopic(c.get(GlimpseOptions.IMAGES_TOPIC), 2);
        return c;
    }

    /** Produces images {@code from..to-1} (every fifth one corrupt, so dead letters are covered too). */
    static void produce(GlimpseConfig c, int from, int to) {
        SceneGenerator scenes = new SceneGenerator(3);
        try (KafkaProducer<byte[], byte[]> p = KafkaPipelineHarness.producer(kafka.bootstrapServers())) {
            for (int i = from; i < to; i++) {
                byte[] value = i % 5 == 4 ? ("corrupt " + i).getBytes() : scenes.sample(i).encoded();
                KafkaPipelineHarness.send(p, c.get(GlimpseOptions.IMAGES_TOPIC), "img-" + i, value);
            }
        }
    }

    static JobClient submit(GlimpseConfig c, BatchedCaptioner captioner, String restoreFrom) throws Exception {
        Configuration conf = GlimpseJob.localCluster(c);
        if (restoreFrom != null) {
            conf.set(StateRecoveryOptions.SAVEPOINT_PATH, restoreFrom);
        }
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(conf);
        GlimpseJob.addTo(env, c, captioner);
        return env.executeAsync();
    }

    static void assertExactlyOnce(GlimpseConfig c, int count) throws Exception {
        List<KafkaPipelineHarness.Output> out = KafkaPipelineHarness.readCommitted(kafka.bootstrapServers(),
                List.of(c.get(GlimpseOptions.CAPTIONS_TOPIC), c.get(GlimpseOptions.DEAD_LETTER_TOPIC)), count,
                Duration.ofMinutes(3));
        Map<String, Long> perId = out.stream().collect(Collectors.groupingBy(KafkaPipelineHarness.Output::id, Collectors.counting()));
        Set<String> expected = new TreeSet<>();
        for (int i = 0; i < count; i++) {
            expected.add("img-" + i);
        }
        assertThat(perId.keySet()).as("every input has an outcome").isEqualTo(expected);
        assertThat(perId).as("no input has two outcomes").allSatisfy((id, n) -> assertThat(n).as(id).isEqualTo(1L));
        assertThat(out.stream().filter(o -> o.topic().equals(c.get(GlimpseOptions.DEAD_LETTER_TOPIC))).count())
                .isEqualTo(count / 5);
    }

    /** Waits until at least {@code n} outcomes are committed, so the failure hits mid-stream. */
    static void awaitCommitted(GlimpseConfig c, int n) throws Exception {
        KafkaPipelineHarness.readCommitted(kafka.bootstrapServers(),
                List.of(c.get(GlimpseOptions.CAPTIONS_TOPIC), c.get(GlimpseOptions.DEAD_LETTER_TOPIC)), n,
                Duration.ofMinutes(2));
    }

    static final AtomicBoolean FAILED = new AtomicBoolean();
    static final AtomicInteger SEEN = new AtomicInteger();

    /** Fails the first time the job has pushed 15 records into inference; restarts run normally. */
    static final class FailOnceCaptioner extends BatchedCaptioner {
        FailOnceCaptioner(String modelDir) {
            super(modelDir, new dev.glimpse.operators.BatchingSettings(4, Duration.ofMillis(50)));
        }

        @Override
        public void processElement(StreamRecord<EmbeddedImage> element) throws Exception {
            if (SEEN.incrementAndGet() >= 15 && FAILED.compareAndSet(false, true)) {
                throw new IllegalStateException("injected failure in the inference operator");
            }
            super.processElement(element);
        }
    }

    @Test
    void shouldRecoverFromAFailureInTheInferenceOperatorWithoutLossOrDuplicates() throws Exception {
        GlimpseConfig c = config("fail");
        JobClient job = submit(c, new FailOnceCaptioner(model.toString()), null);
        try {
            produce(c, 0, 40);
            assertExactlyOnce(c, 40);
            assertThat(FAILED).isTrue();
        } finally {
            job.cancel().get();
        }
    }

    @Test
    void shouldRecoverFromALostTaskManager(@InjectMiniCluster MiniCluster cluster) throws Exception {
        GlimpseConfig c = config("tm-loss");
        JobClient job = submit(c, new BatchedCaptioner(model.toString(), c.batchingSettings()), null);
        try {
            produce(c, 0, 20);
            awaitCommitted(c, 5);
            cluster.terminateTaskManager(0).get();
            produce(c, 20, 40);
            assertExactlyOnce(c, 40);
        } finally {
            job.cancel().get();
            cluster.startTaskManager();
        }
    }

    @Test
    void shouldWaitForTheBrokerAndRecover() throws Exception {
        GlimpseConfig c = config("broker");
        JobClient job = submit(c, new BatchedCaptioner(model.toString(), c.batchingSettings()), null);
        try {
            produce(c, 0, 20);
            awaitCommitted(c, 5);
            kafka.stop();
            Thread.sleep(10_000);
            kafka.restart();
            produce(c, 20, 40);
            assertExactlyOnce(c, 40);
        } finally {
            job.cancel().get();
        }
    }

    @Test
    void shouldContinueFromASavepointWithoutLossOrDuplicates() throws Exception {
        GlimpseConfig c = config("savepoint");
        JobClient first = submit(c, new BatchedCaptioner(model.toString(), c.batchingSettings()), null);
        produce(c, 0, 20);
        awaitCommitted(c, 5);
        String savepoint = first.stopWithSavepoint(false, work.resolve("savepoints").toUri().toString(),
                SavepointFormatType.CANONICAL).get();
        produce(c, 20, 40);
        JobClient second = submit(c, new BatchedCaptioner(model.toString(), c.batchingSettings()), savepoint);
        try {
            assertExactlyOnce(c, 40);
        } finally {
            second.cancel().get();
        }
    }
}
