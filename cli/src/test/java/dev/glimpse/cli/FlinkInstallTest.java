package dev.glimpse.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class FlinkInstallTest {
    @TempDir Path dir;
    private Path flinkHome;
    private Path lib;
    private Path jars;
    private final ByteArrayOutputStream printed = new ByteArrayOutputStream();
    private final ByteArrayOutputStream errors = new ByteArrayOutputStream();

    @BeforeEach
    void layout() throws Exception {
        flinkHome = dir.resolve("flink-2.2.1");
        lib = Files.createDirectories(flinkHome.resolve("lib"));
        Files.writeString(lib.resolve("flink-dist-2.2.1.jar"), "flink");
        Files.writeString(lib.resolve("log4j-api-2.24.1.jar"), "log4j");
        jars = Files.createDirectories(dir.resolve("flink-lib"));
        Files.writeString(jars.resolve("api-0.36.0.jar"), "djl api");
        Files.writeString(jars.resolve("pytorch-native-cpu-2.7.1-linux-x86_64.jar"), "natives");
    }

    private int install(String... args) {
        CommandLine cli = new CommandLine(new FlinkInstall(new PrintStream(printed, true, StandardCharsets.UTF_8)));
        cli.setErr(new java.io.PrintWriter(errors, true, StandardCharsets.UTF_8));
        cli.setExecutionExceptionHandler((e, cmd, parsed) -> {
            cmd.getErr().println(e.getMessage());
            return 2;
        });
        return cli.execute(args);
    }

    private String printed() {
        return printed.toString(StandardCharsets.UTF_8);
    }

    @Test
    void shouldCopyEveryJarIntoLibAndPrintEachOne() throws Exception {
        int rc = install(flinkHome.toString(), "--from", jars.toString());

        assertThat(rc).isZero();
        assertThat(lib.resolve("api-0.36.0.jar")).hasContent("djl api");
        assertThat(lib.resolve("pytorch-native-cpu-2.7.1-linux-x86_64.jar")).hasContent("natives");
        assertThat(printed()).contains("Flink 2.2.1 at " + flinkHome.toAbsolutePath())
                .contains("copied    lib/api-0.36.0.jar").contains("copied    lib/pytorch-native-cpu-2.7.1-linux-x86_64.jar")
                .contains("lib/: 2 of 2 jars copied").contains("conf/flink/config-additions.yaml >> " + flinkHome.resolve("conf/config.yaml"));
    }

    @Test
    void shouldLeaveJarsAlreadyInPlaceAndSaySo() throws Exception {
        install(flinkHome.toString(), "--from", jars.toString());
        printed.reset();

        int rc = install(flinkHome.toString(), "--from", jars.toString());

        assertThat(rc).isZero();
        assertThat(printed()).contains("in place  lib/api-0.36.0.jar").contains("lib/: 0 of 2 jars copied (0.0 MB)");
    }

    @Test
    void shouldRefuseAFolderThatHoldsNoFlink() throws Exception {
        Files.delete(lib.resolve("flink-dist-2.2.1.jar"));

        assertThat(install(flinkHome.toString(), "--from", jars.toString())).isEqualTo(2);
        assertThat(errors.toString(StandardCharsets.UTF_8)).contains("no Flink in " + lib.toAbsolutePath()).contains("flink-dist-*.jar");
        assertThat(lib.resolve("api-0.36.0.jar")).doesNotExist();
    }

    @Test
    void shouldRefuseAnotherFlinkVersion() throws Exception {
        Files.move(lib.resolve("flink-dist-2.2.1.jar"), lib.resolve("flink-dist-1.20.1.jar"));

        assertThat(install(flinkHome.toString(), "--from", jars.toString())).isEqualTo(2);
        assertThat(errors.toString(StandardCharsets.UTF_8)).contains("Flink 1.20.1").contains("built for Flink 2.2.x");
    }

    @Test
    void shouldRefuseWhenLibHoldsAnotherVersionOfAJar() throws Exception {
        Files.writeString(lib.resolve("api-0.35.0.jar"), "old djl api");

        assertThat(install(flinkHome.toString(), "--from", jars.toString())).isEqualTo(2);
        assertThat(errors.toString(StandardCharsets.UTF_8)).contains("lib/api-0.35.0.jar (installing api-0.36.0.jar)");
        assertThat(lib.resolve("api-0.36.0.jar")).doesNotExist();
    }

    @Test
    void shouldTellTheArtifactFromItsVersion() {
        assertThat(FlinkInstall.artifact("pytorch-native-cpu-2.7.1-linux-x86_64.jar")).hasValue("pytorch-native-cpu");
        assertThat(FlinkInstall.artifact("imageio-jpeg-3.12.0.jar")).hasValue("imageio-jpeg");
        assertThat(FlinkInstall.artifact("flink-dist.jar")).isEmpty();
    }
}
