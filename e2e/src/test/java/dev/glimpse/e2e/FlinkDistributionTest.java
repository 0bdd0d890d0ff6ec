package dev.glimpse.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.CoreOptions;
import org.apache.flink.configuration.JobManagerOptions;
import org.apache.flink.configuration.MemorySize;
import org.apache.flink.configuration.RestOptions;
import org.apache.flink.configuration.TaskManagerOptions;
import org.apache.flink.runtime.clusterframework.TaskExecutorProcessSpec;
import org.apache.flink.runtime.clusterframework.TaskExecutorProcessUtils;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Flink's default config.yaml with conf/flink/config-additions.yaml appended, read by Flink itself. */
class FlinkDistributionTest {
    /** The keys file of docs/deployment.md, from the module's folder (surefire's working directory). */
    private static final Path ADDITIONS = Path.of("../conf/flink/config-additions.yaml");

    @TempDir Path dir;

    private Configuration appended() throws Exception {
        Path conf = Files.createDirectories(dir.resolve("conf"));
        Files.writeString(conf.resolve("config.yaml"),
                FlinkDistribution.runConfig(FlinkDistribution.defaultConfig(), 17123, 17081, Files.readString(ADDITIONS)));
        return ClusterLayout.loadFlinkConfiguration(conf);
    }

    @Test
    void shouldDefineNoKeyThatFlinksDefaultConfigSets() throws Exception {
        Path defaults = dir.resolve("default.yaml");
        Files.writeString(defaults, FlinkDistribution.defaultConfig());
        Set<String> both = new HashSet<>(ClusterLayout.loadBaseConfig(defaults).keySet());
        both.retainAll(ClusterLayout.loadBaseConfig(ADDITIONS).keySet());
        assertThat(both).isEmpty();
    }

    @Test
    void shouldKeepFlinksJava17FlagsAndAddGlimpsesOwn() throws Exception {
        Configuration c = appended();

        assertThat(c.get(CoreOptions.FLINK_JVM_OPTIONS)).contains("--add-opens=java.base/java.lang=ALL-UNNAMED");
        assertThat(FlinkDistribution.jvmOptions(c, CoreOptions.FLINK_TM_JVM_OPTIONS))
                .contains("--add-opens=java.base/java.util=ALL-UNNAMED", "-Dai.djl.offline=true", "-Dai.djl.pytorch.num_threads=1");
        assertThat(FlinkDistribution.jvmOptions(c, CoreOptions.FLINK_CLI_JVM_OPTIONS)).contains("-Dai.djl.offline=true");
        assertThat(c.get(CoreOptions.ALWAYS_PARENT_FIRST_LOADER_PATTERNS_ADDITIONAL)).containsExactly("ai.djl.", "com.twelvemonkeys.");
        assertThat(c.get(TaskManagerOptions.NUM_TASK_SLOTS)).isEqualTo(1);
        assertThat(c.get(JobManagerOptions.PORT)).isEqualTo(17123);
        assertThat(c.get(RestOptions.PORT)).isEqualTo(17081);
    }

    @Test
    void shouldFitFlinksDefaultTaskManagerWithRoomForTheModel() throws Exception {
        TaskExecutorProcessSpec spec = TaskExecutorProcessUtils.processSpecFromConfig(appended());

        assertThat(spec.getTotalProcessMemorySize()).isEqualTo(MemorySize.parse("1728m"));
        assertThat(spec.getTaskOffHeapSize()).isEqualTo(MemorySize.parse("512m"));
        assertThat(spec.getTaskHeapSize().getMebiBytes()).isGreaterThanOrEqualTo(256);
        assertThat(appended().get(TaskManagerOptions.MEMORY_SEGMENT_SIZE)).isEqualTo(MemorySize.parse("256kb"));
    }

    @Test
    void shouldRefuseAConfigWithoutTheDefaultRpcPort() {
        assertThatThrownBy(() -> FlinkDistribution.runConfig("jobmanager.rpc.port: 7000\n", 1, 2, ""))
                .hasMessageContaining("port: 6123");
    }

    @Test
    void shouldPutEveryJarOfLibOnTheClassPathWithFlinkDistLast() throws Exception {
        Path lib = Files.createDirectories(dir.resolve("flink/lib"));
        for (String jar : List.of("flink-dist-2.2.1.jar", "api-0.36.0.jar", "log4j-core-2.24.3.jar", "notes.txt")) {
            Files.writeString(lib.resolve(jar), "");
        }
        FlinkDistribution flink = new FlinkDistribution(dir.resolve("flink"));

        assertThat(flink.isLaidOut()).isTrue();
        assertThat(flink.classpath()).extracting(p -> p.getFileName().toString())
                .containsExactly("api-0.36.0.jar", "log4j-core-2.24.3.jar", "flink-dist-2.2.1.jar");
    }

    @Test
    void shouldLayOutAReleaseWithTheReporterAsAPlugin() throws Exception {
        Path repo = dir.resolve("m2");
        List<Path> classpath = List.of(jar(repo, "org/apache/flink/flink-runtime/2.2.1/flink-runtime-2.2.1.jar"),
                jar(repo, "org/apache/flink/flink-metrics-prometheus/2.2.1/flink-metrics-prometheus-2.2.1.jar"),
                jar(repo, "org/apache/flink/flink-connector-kafka/5.0.0-2.2/flink-connector-kafka-5.0.0-2.2.jar"),
                jar(repo, "org/apache/logging/log4j/log4j-core/2.24.3/log4j-core-2.24.3.jar"));
        FlinkDistribution flink = new FlinkDistribution(dir.resolve("flink"));

        flink.layOut(classpath);

        assertThat(ClusterLayout.listJars(flink.lib())).extracting(p -> p.getFileName().toString())
                .containsExactly("flink-runtime-2.2.1.jar", "log4j-core-2.24.3.jar");
        assertThat(flink.plugins().resolve("metrics-prometheus/flink-metrics-prometheus-2.2.1.jar")).exists();
        assertThat(flink.conf().resolve("config.yaml")).content().contains("numberOfTaskSlots: 1");
        assertThat(flink.isLaidOut()).isTrue();
    }

    private static Path jar(Path repo, String path) throws Exception {
        Path p = repo.resolve(path);
        Files.createDirectories(p.getParent());
        Files.writeString(p, "");
        return p;
    }
}
