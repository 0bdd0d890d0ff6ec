package dev.glimpse.dist;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import java.util.zip.ZipFile;
import org.junit.jupiter.api.Test;

/**
 * Checks what {@code mvn package} really put in {@code target/}, the way a cluster will use it: runs
 * {@link WarmUp} in a fresh JVM whose class path is only {@code target/flink-lib/}, the jars flink-dist
 * brings for Glimpse's needs (slf4j), the cluster job jar and this module's jar, as in the image build
 * of docker/Dockerfile. A jar missing from flink-lib (a plug-in's base classes, a DJL dependency) fails
 * here, in {@code mvn verify}, instead of in a TaskManager. Bound to the integration-test phase, after
 * package.
 */
class FlinkLibIT {
    private static final Path TARGET = Path.of("target");
    private static final Path FLINK_LIB = TARGET.resolve("flink-lib");
    private static final Path MODEL = Path.of("../models/glimpse-scenes");

    @Test
    void warmUpPassesWithOnlyFlinkLibTheJobJarAndWhatFlinkDistBrings() throws Exception {
        List<String> classPath = new ArrayList<>();
        for (Path jar : jars(FLINK_LIB)) {
            classPath.add(jar.toString());
        }
        classPath.add(clusterJar().toString());
        classPath.add(distJar().toString());
        // flink-dist's lib/ has slf4j; this test's own class path has the same jar (provided scope).
        classPath.add(Arrays.stream(System.getProperty("java.class.path").split(File.pathSeparator))
                .filter(p -> Path.of(p).getFileName().toString().startsWith("slf4j-api-"))
                .findFirst().orElseThrow(() -> new AssertionError("slf4j-api is not on the test class path")));

        Path log = Files.createTempFile("warm-up", ".log");
        Process process = new ProcessBuilder(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx1g", "-Dai.djl.offline=true", "-cp", String.join(File.pathSeparator, classPath),
                "dev.glimpse.dist.WarmUp", "--model", MODEL.toString())
                .redirectErrorStream(true).redirectOutput(log.toFile()).start();
        boolean done = process.waitFor(3, TimeUnit.MINUTES);
        if (!done) {
            process.destroyForcibly();
        }
        String output = Files.readString(log, StandardCharsets.UTF_8);
        Files.delete(log);
        assertThat(done).as("warm-up finished within 3 minutes; output:%n%s", output).isTrue();
        assertThat(process.exitValue()).as("warm-up exit code; output:%n%s", output).isZero();
        assertThat(output).contains("tokenizers native library loaded", "ImageIO readers OK",
                "model " + MODEL + " loaded", "warm-up OK");
    }

    @Test
    void flinkLibHasNoFlinkOrLoggingAndTheJobJarNoDjlOrPlugins() throws Exception {
        assertThat(jars(FLINK_LIB)).extracting(p -> p.getFileName().toString())
                .anyMatch(n -> n.startsWith("pytorch-engine-"))
                .anyMatch(n -> n.startsWith("imageio-core-"))
                .noneMatch(n -> n.startsWith("flink-") || n.startsWith("slf4j-") || n.startsWith("log4j-")
                        || n.startsWith("glimpse-"));
        try (ZipFile jar = new ZipFile(clusterJar().toFile())) {
            List<String> names = jar.stream().map(e -> e.getName()).toList();
            assertThat(names).contains("dev/glimpse/job/GlimpseJob.class", "dev/glimpse/model/VisionLanguageModel.class")
                    .noneMatch(n -> n.startsWith("ai/djl/") || n.startsWith("com/twelvemonkeys/")
                            || n.startsWith("org/apache/flink/runtime/") || n.startsWith("org/slf4j/"));
        }
    }

    /**
     * The cluster jar is the job: Glimpse's classes of job/, sql/, connectors/, operators/ and model/ and their
     * runtime dependencies, never what only a person or a test needs (the command line and its libraries,
     * benchmarks, the cluster test, the embedded broker).
     */
    @Test
    void clusterJarHoldsTheJobAndNothingOfTheCommandLineBenchmarksOrTestHarnesses() throws Exception {
        try (ZipFile jar = new ZipFile(clusterJar().toFile())) {
            List<String> classes = jar.stream().map(e -> e.getName()).filter(n -> n.endsWith(".class")).toList();
            assertThat(classes).contains("dev/glimpse/job/GlimpseJob.class", "dev/glimpse/job/GlimpsePipeline.class",
                    "dev/glimpse/connectors/KafkaConnectors.class", "dev/glimpse/connectors/reprocess/ReprocessSink.class",
                    "dev/glimpse/operators/BatchedCaptioner.class", "dev/glimpse/model/VisionLanguageModel.class",
                    "dev/glimpse/sql/GlimpseModelProviderFactory.class");
            assertThat(jar.getEntry("META-INF/services/org.apache.flink.table.factories.Factory"))
                    .as("the SQL model provider's service entry").isNotNull();
            assertThat(classes.stream().filter(n -> n.startsWith("dev/glimpse/")))
                    .as("Glimpse's classes in the cluster jar")
                    .allMatch(n -> n.matches("dev/glimpse/(job|sql|connectors|operators|model)/.*"));
            assertThat(classes).as("command line, benchmark and test libraries in the cluster jar")
                    .noneMatch(n -> n.startsWith("picocli/") || n.startsWith("org/jline/") || n.startsWith("me/tongfei/")
                            || n.startsWith("org/knowm/") || n.startsWith("org/openjdk/jmh/")
                            // the broker (kafka_2.13, kafka-metadata, kafka-raft, kafka-storage), not kafka-clients
                            || n.startsWith("kafka/server/") || n.startsWith("org/apache/kafka/metadata/")
                            || n.startsWith("org/apache/kafka/raft/") || n.startsWith("org/apache/kafka/storage/")
                            || n.startsWith("org/apache/logging/log4j/") || n.startsWith("org/junit/"));
        }
    }

    private static List<Path> jars(Path dir) throws IOException {
        assertThat(dir).as("%s (made by mvn package)", dir).isDirectory();
        try (Stream<Path> files = Files.list(dir)) {
            return files.filter(p -> p.toString().endsWith(".jar")).sorted().toList();
        }
    }

    private static Path clusterJar() throws IOException {
        return only(jars(TARGET).stream().filter(p -> p.getFileName().toString().startsWith("glimpse-job-")
                        && p.getFileName().toString().endsWith("-cluster.jar")).toList(),
                "cluster job jar");
    }

    private static Path distJar() throws IOException {
        return only(jars(TARGET).stream().filter(p -> p.getFileName().toString().startsWith("glimpse-dist-")).toList(),
                "glimpse-dist jar");
    }

    private static Path only(List<Path> found, String what) {
        assertThat(found).as("exactly one %s in %s", what, TARGET).hasSize(1);
        return found.get(0);
    }
}
