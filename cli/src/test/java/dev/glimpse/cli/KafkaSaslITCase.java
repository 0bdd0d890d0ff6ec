package dev.glimpse.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.glimpse.connectors.reprocess.KafkaRange;
import dev.glimpse.connectors.reprocess.ReprocessSink;
import dev.glimpse.connectors.reprocess.ReprocessSource;
import dev.glimpse.job.GlimpseConfig;
import dev.glimpse.job.GlimpseJob;
import dev.glimpse.job.GlimpseOptions;
import dev.glimpse.job.KafkaPipelineHarness;
import dev.glimpse.job.ReprocessJob;
import dev.glimpse.kafka.EmbeddedKafka;
import dev.glimpse.model.TestModels;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.apache.logging.log4j.Level;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.core.Appender;
import org.apache.logging.log4j.core.LoggerContext;
import org.apache.logging.log4j.core.appender.WriterAppender;
import org.apache.logging.log4j.core.config.Configuration;
import org.apache.logging.log4j.core.config.LoggerConfig;
import org.apache.logging.log4j.core.layout.PatternLayout;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * The job against a broker that requires SASL/PLAIN: kafka.properties.* reach the source, both
 * sinks and the CLI's clients, and wrong credentials stop the job at start, naming the failure.
 */
class KafkaSaslITCase {
    @RegisterExtension
    static final MiniClusterExtension FLINK = new MiniClusterExtension(new MiniClusterResourceConfiguration.Builder()
            .setNumberTaskManagers(1).setNumberSlotsPerTaskManager(2).build());

    static final String USER = "glimpse";
    static final String PASSWORD = "correct-horse-battery";

    @TempDir
    static Path work;
    static EmbeddedKafka kafka;
    static Path model;

    @BeforeAll
    static void start() {
        kafka = EmbeddedKafka.startWithSaslPlain(work.resolve("kafka"), Map.of(USER, PASSWORD));
        model = TestModels.writeTinyScenesModel(work.resolve("model"));
    }

    @AfterAll
    static void stop() {
        kafka.close();
    }

    static Map<String, String> asOptions(Map<String, String> clientProperties) {
        Map<String, String> o = new LinkedHashMap<>();
        clientProperties.forEach((k, v) -> o.put(GlimpseConfig.KAFKA_PROPERTIES + k, v));
        return o;
    }

    /**
     * Everything Kafka's and Flink's loggers write at INFO and above while {@code body} runs, into a
     * buffer only (the console keeps its quiet levels): Kafka's clients log their whole
     * configuration at INFO.
     */
    static String logsOf(ThrowingRunnable body) throws Exception {
        return logsOf(List.of("org.apache.kafka", "org.apache.flink", "kafka"), body);
    }

    /** As above, for the loggers named. */
    static String logsOf(List<String> loggers, ThrowingRunnable body) throws Exception {
        LoggerContext ctx = (LoggerContext) LogManager.getContext(false);
        Configuration config = ctx.getConfiguration();
        StringWriter logs = new StringWriter();
        Appender appender = WriterAppender.newBuilder().setName("capture").setTarget(logs)
                .setLayout(PatternLayout.newBuilder().withPattern("%c %m%n").build()).build();
        appender.start();
        Map<LoggerConfig, Level> levels = new LinkedHashMap<>();
        Map<LoggerConfig, Boolean> additive = new LinkedHashMap<>();
        for (String name : loggers) {
            LoggerConfig lc = config.getLoggerConfig(name);
            if (!lc.getName().equals(name)) {
                lc = new LoggerConfig(name, lc.getLevel(), true);
                config.addLogger(name, lc);
            }
            levels.put(lc, lc.getLevel());
            additive.put(lc, lc.isAdditive());
            lc.setLevel(Level.INFO);
            lc.setAdditive(false);
            lc.addAppender(appender, Level.INFO, null);
        }
        ctx.updateLoggers();
        try {
            body.run();
        } finally {
            levels.forEach((lc, level) -> {
                lc.removeAppender("capture");
                lc.setLevel(level);
                lc.setAdditive(additive.get(lc));
            });
            ctx.updateLoggers();
            appender.stop();
        }
        return logs.toString();
    }

    interface ThrowingRunnable {
        void run() throws Exception;
    }

    @Test
    void shouldCaptionWithTheRightCredentialsAndNeverLogThem() throws Exception {
        String logs = logsOf(this::captionWithTheRightCredentials);
        assertThat(logs).as("the capture saw the clients' configuration").contains("sasl.jaas.config = [hidden]");
        assertThat(logs).doesNotContain(PASSWORD);
    }

    private void captionWithTheRightCredentials() throws Exception {
        GlimpseConfig c = KafkaPipelineHarness.config(kafka.bootstrapServers(), model, work, "sasl-ok", "500ms",
                asOptions(EmbeddedKafka.saslPlainClientProperties(USER, PASSWORD)));
        String images = c.get(GlimpseOptions.IMAGES_TOPIC);
        kafka.createTopic(images, 2);
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(GlimpseJob.checkpointing(c));
        GlimpseJob.addTo(env, c);
        JobClient job = env.executeAsync("it-sasl");
        List<KafkaPipelineHarness.Output> out;
        try {
            // The CLI's producer, given the same credentials with --set.
            List<String> args = new ArrayList<>(List.of("--bootstrap", kafka.bootstrapServers(), "--topic", images, "--count", "4"));
            asOptions(EmbeddedKafka.saslPlainClientProperties(USER, PASSWORD)).forEach((k, v) -> args.addAll(List.of("--set", k + "=" + v)));
            assertThat(new CommandLine(new Produce()).execute(args.toArray(String[]::new))).isZero();
            out = KafkaPipelineHarness.readCommitted(kafka.bootstrapServers(), c.kafkaProperties(),
                    List.of(c.get(GlimpseOptions.CAPTIONS_TOPIC), c.get(GlimpseOptions.DEAD_LETTER_TOPIC)), 4, Duration.ofMinutes(3));
        } finally {
            job.cancel().get();
        }
        assertThat(out).extracting(KafkaPipelineHarness.Output::topic).containsOnly(c.get(GlimpseOptions.CAPTIONS_TOPIC));
        assertThat(out).extracting(KafkaPipelineHarness.Output::id)
                .containsExactlyInAnyOrder("scene-0", "scene-1", "scene-2", "scene-3");

        // The CLI's reader, given the same credentials with --set, sees the committed captions.
        List<String> tail = new ArrayList<>(List.of("--bootstrap", kafka.bootstrapServers(), "--topics",
                c.get(GlimpseOptions.CAPTIONS_TOPIC), "--from-beginning", "--idle-exit", "PT10S"));
        asOptions(EmbeddedKafka.saslPlainClientProperties(USER, PASSWORD)).forEach((k, v) -> tail.addAll(List.of("--set", k + "=" + v)));
        ByteArrayOutputStream printed = new ByteArrayOutputStream();
        PrintStream stdout = System.out;
        System.setOut(new PrintStream(printed, true, StandardCharsets.UTF_8));
        try {
            assertThat(new CommandLine(new Tail()).execute(tail.toArray(String[]::new))).isZero();
        } finally {
            System.setOut(stdout);
        }
        assertThat(printed.toString(StandardCharsets.UTF_8).lines().filter(l -> l.contains("\"caption\"")))
                .hasSize(4);
    }

    @Test
    void shouldRefuseAReprocessRunOverKafkaWithWrongCredentialsBeforeItStarts() {
        GlimpseConfig c = KafkaPipelineHarness.config(kafka.bootstrapServers(), model, work, "sasl-reprocess", "500ms",
                asOptions(EmbeddedKafka.saslPlainClientProperties(USER, "wrong-password")));
        ReprocessJob.Plan plan = new ReprocessJob.Plan(
                ReprocessSource.parse("kafka:archive@" + kafka.bootstrapServers(), Set.of(), KafkaRange.parse("earliest", "latest")),
                ReprocessSink.parse("jsonl:" + work.resolve("sasl-reprocess.jsonl"), null), null, false, "sasl-reprocess");
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(GlimpseJob.checkpointing(c));
        assertThatThrownBy(() -> ReprocessJob.addTo(env, c, plan))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("Kafka at " + kafka.bootstrapServers() + " refused the job: authentication failed")
                .hasMessageNotContaining("wrong-password");
    }

    @Test
    void shouldFailAtStartNamingTheAuthenticationFailureWithWrongCredentials() {
        GlimpseConfig c = KafkaPipelineHarness.config(kafka.bootstrapServers(), model, work, "sasl-wrong", "500ms",
                asOptions(EmbeddedKafka.saslPlainClientProperties(USER, "wrong-password")));
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(GlimpseJob.checkpointing(c));
        assertThatThrownBy(() -> GlimpseJob.addTo(env, c))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("Kafka at " + kafka.bootstrapServers() + " refused the job: authentication failed")
                .hasMessageNotContaining("wrong-password");
    }
}
