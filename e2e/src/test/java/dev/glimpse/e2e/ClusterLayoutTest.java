package dev.glimpse.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.CoreOptions;
import org.apache.flink.configuration.HeartbeatManagerOptions;
import org.apache.flink.configuration.RestOptions;
import org.apache.flink.configuration.TaskManagerOptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ClusterLayoutTest {
    private static final String REPO = "/home/u/.m2/repository/";

    private static Path jar(String groupPath, String artifact, String version) {
        return Path.of(REPO + groupPath + "/" + artifact + "/" + version + "/" + artifact + "-" + version + ".jar");
    }

    private static final List<Path> JOB_CLASSPATH = List.of(
            Path.of("/src/operators/target/glimpse-operators-0.1.0-SNAPSHOT.jar"),
            jar("org/apache/flink", "flink-connector-base", "2.2.1"),
            jar("org/apache/flink", "flink-connector-kafka", "5.0.0-2.2"),
            jar("org/apache/commons", "commons-lang3", "3.18.0"),
            jar("com/fasterxml/jackson/core", "jackson-databind", "2.18.2"),
            jar("ai/djl", "api", "0.36.0"),
            jar("org/apache/flink", "flink-runtime", "2.2.1"),
            jar("org/apache/flink", "flink-runtime-web", "2.2.1"),
            jar("com/esotericsoftware", "kryo", "5.6.2"),
            jar("commons-io", "commons-io", "2.15.1"),
            jar("org/apache/kafka", "kafka_2.13", "4.2.0"),
            jar("org/apache/kafka", "kafka-clients", "4.2.0"),
            jar("org/scala-lang", "scala-library", "2.13.17"),
            jar("commons-validator", "commons-validator", "1.10.1"),
            jar("info/picocli", "picocli", "4.7.7"),
            jar("org/slf4j", "slf4j-api", "2.0.16"),
            jar("org/apache/logging/log4j", "log4j-core", "2.24.3"));

    @Test
    void flinkLibHasFlinkLoggingAndDjlButNoUserCode(@TempDir Path dir) throws Exception {
        Path djl = Files.createDirectories(dir.resolve("flink-lib"));
        Files.writeString(djl.resolve("pytorch-engine-0.36.0.jar"), "");
        Files.writeString(djl.resolve("api-0.36.0.jar"), "");
        List<Path> lib = ClusterLayout.flinkLib(JOB_CLASSPATH, djl);
        assertThat(lib).extracting(p -> p.getFileName().toString()).containsExactly(
                "flink-connector-base-2.2.1.jar", "commons-lang3-3.18.0.jar", "flink-runtime-2.2.1.jar",
                "flink-runtime-web-2.2.1.jar", "kryo-5.6.2.jar", "commons-io-2.15.1.jar", "slf4j-api-2.0.16.jar",
                "log4j-core-2.24.3.jar", "api-0.36.0.jar", "pytorch-engine-0.36.0.jar");
        // DJL comes from dist/target/flink-lib, not from the job's class path.
        assertThat(lib).filteredOn(p -> p.toString().contains("/ai/djl/")).isEmpty();
    }

    @Test
    void flinkLibNeedsTheDistJars(@TempDir Path dir) {
        assertThatThrownBy(() -> ClusterLayout.flinkLib(JOB_CLASSPATH, dir.resolve("missing")))
                .hasMessageContaining("holds no jars");
    }

    @Test
    void kafkaClasspathHasTheBrokerButNoFlinkOrDjl() {
        assertThat(ClusterLayout.kafkaClasspath(JOB_CLASSPATH)).extracting(p -> p.getFileName().toString())
                .contains("kafka_2.13-4.2.0.jar", "kafka-clients-4.2.0.jar", "scala-library-2.13.17.jar",
                        "commons-validator-1.10.1.jar", "log4j-core-2.24.3.jar")
                .noneMatch(n -> n.startsWith("flink-") || n.startsWith("glimpse-") || n.startsWith("api-") || n.startsWith("picocli"));
    }

    private static ClusterLayout.Settings settings(Path dir) {
        return new ClusterLayout.Settings("127.0.0.1", 40001, 40002, dir.resolve("io"), dir.resolve("up"),
                dir.resolve("web"), dir.resolve("chk"), dir.resolve("sp"));
    }

    @Test
    void configIsLocalSmallAndKeepsTheClassLoadingRule(@TempDir Path dir) {
        Path shipped = Path.of("../conf/flink/config.yaml");
        Map<String, Object> base = ClusterLayout.loadBaseConfig(shipped);
        Map<String, Object> config = ClusterLayout.clusterConfig(base, settings(dir));
        assertThat(config).doesNotContainKeys("metrics.reporter.prom.factory.class", "env.java.default-opts.all",
                "external-resource.gpu.amount");
        ClusterLayout.writeYaml(config, dir.resolve("conf/config.yaml"), "test");
        Configuration flink = ClusterLayout.loadFlinkConfiguration(dir.resolve("conf"));
        assertThat(flink.get(RestOptions.PORT)).isEqualTo(40002);
        assertThat(flink.get(RestOptions.ADDRESS)).isEqualTo("127.0.0.1");
        assertThat(flink.get(HeartbeatManagerOptions.HEARTBEAT_TIMEOUT)).isEqualTo(Duration.ofSeconds(6));
        assertThat(flink.get(TaskManagerOptions.NUM_TASK_SLOTS)).isEqualTo(2);
        assertThat(flink.get(CoreOptions.ALWAYS_PARENT_FIRST_LOADER_PATTERNS_ADDITIONAL))
                .contains("ai.djl.", "com.twelvemonkeys.");
        assertThat(flink.getString("web.submit.enable", "")).isEqualTo("true");

        // What the scripts of flink-dist would derive: consistent sizes, heap and direct memory limits.
        List<List<String>> tm = ClusterLayout.taskManagerMemory(flink);
        assertThat(tm.get(0)).anyMatch(a -> a.startsWith("-Xmx")).anyMatch(a -> a.startsWith("-XX:MaxDirectMemorySize="));
        assertThat(tm.get(1)).contains("-D").anyMatch(a -> a.startsWith("taskmanager.memory.task.off-heap.size=402653184"));
        List<List<String>> jm = ClusterLayout.jobManagerMemory(flink);
        assertThat(jm.get(0)).anyMatch(a -> a.startsWith("-Xmx"));
        if (Files.isRegularFile(shipped)) {
            assertThat(ClusterLayout.flinkJvmFlags(base)).contains("--add-opens=java.base/java.util=ALL-UNNAMED",
                    "--add-exports=java.base/sun.net.util=ALL-UNNAMED");
        }
    }

    @Test
    void configWithoutABaseFileStillHasTheRule(@TempDir Path dir) {
        Map<String, Object> config = ClusterLayout.clusterConfig(ClusterLayout.loadBaseConfig(dir.resolve("none.yaml")), settings(dir));
        ClusterLayout.writeYaml(config, dir.resolve("conf/config.yaml"), "test");
        Configuration flink = ClusterLayout.loadFlinkConfiguration(dir.resolve("conf"));
        assertThat(flink.get(CoreOptions.ALWAYS_PARENT_FIRST_LOADER_PATTERNS_ADDITIONAL)).contains("ai.djl.", "com.twelvemonkeys.");
        assertThat(flink.getString("restart-strategy.type", "")).isEqualTo("fixed-delay");
        assertThat(ClusterLayout.flinkJvmFlags(Map.of())).isEqualTo(ClusterLayout.DEFAULT_FLINK_JVM_FLAGS);
    }

    @Test
    void kafkaPropertiesAreASingleLoopbackNode(@TempDir Path dir) {
        String p = ClusterLayout.properties(ClusterLayout.kafkaServerProperties("127.0.0.1", 9001, 9002, dir));
        assertThat(p).contains("listeners=PLAINTEXT://127.0.0.1:9001,CONTROLLER://127.0.0.1:9002\n",
                "controller.quorum.bootstrap.servers=127.0.0.1:9002\n", "transaction.state.log.replication.factor=1\n");
    }

    @Test
    void firstExceptionOfAProcessOutput(@TempDir Path dir) throws Exception {
        Path out = dir.resolve("jobmanager.out");
        Files.writeString(out, "java.lang.IllegalStateException: old\n");
        long offset = Files.size(out);
        Files.writeString(out, "some line\norg.apache.flink.util.FlinkRuntimeException: The Job Result cannot be fetched\n\tat x\n",
                java.nio.file.StandardOpenOption.APPEND);
        assertThat(ClusterTest.firstException(out, offset))
                .isEqualTo("; its output shows: org.apache.flink.util.FlinkRuntimeException: The Job Result cannot be fetched");
        assertThat(ClusterTest.firstException(dir.resolve("missing"), 0)).isEmpty();
    }

    @Test
    void durationsAndErrorAnswers() {
        ClusterTest.DurationConverter d = new ClusterTest.DurationConverter();
        assertThat(d.convert("90s")).isEqualTo(Duration.ofSeconds(90));
        assertThat(d.convert("20m")).isEqualTo(Duration.ofMinutes(20));
        assertThat(d.convert("PT1H")).isEqualTo(Duration.ofHours(1));
        assertThat(FlinkRest.rootCause("{\"errors\":[\"org.x.RestHandlerException: Could not execute application.\\n\\tat z\\n"
                + "Caused by: x.Y: outer\\n\\tat q\\nCaused by: java.lang.IllegalStateException: glimpse job exited with code 1\\n\\tat r\"]}"))
                .isEqualTo("java.lang.IllegalStateException: glimpse job exited with code 1");
        assertThat(FlinkRest.rootCause("{\"errors\":[\"Not found: /jars/x\"]}")).isEqualTo("Not found: /jars/x");
        assertThat(FlinkRest.rootCause("<html>")).isEqualTo("<html>");
    }
}
