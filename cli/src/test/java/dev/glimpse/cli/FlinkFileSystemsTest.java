package dev.glimpse.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.glimpse.job.GlimpseConfig;
import java.net.URI;
import java.util.Map;
import org.apache.flink.core.fs.FileSystem;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The local cluster's file systems: Flink's S3 plugin from the plugins folder, s3.* options, secrets masked. */
class FlinkFileSystemsTest {
    @AfterEach
    void resetFileSystems() {
        FileSystem.initialize(new org.apache.flink.configuration.Configuration(), null);
    }

    @Test
    void shouldLoadTheS3PluginWithTheS3OptionsAndPrintThemMasked() throws Exception {
        GlimpseConfig c = GlimpseConfig.load(null, Map.of("s3.endpoint", "http://127.0.0.1:9", "s3.path.style.access", "true",
                "s3.access-key", "AKIA-not-shown", "s3.secret-key", "secret-not-shown"));

        FlinkFileSystems.Setup setup = FlinkFileSystems.initialize(c);

        assertThat(setup.plugins()).as("plugins in %s", setup.pluginsDir()).contains("s3-fs-hadoop");
        assertThat(FileSystem.get(URI.create("s3://bucket/prefix")).getUri().getScheme()).isEqualTo("s3");
        assertThat(setup.describe()).contains("s3-fs-hadoop from ", "s3.endpoint=http://127.0.0.1:9",
                "s3.path.style.access=true", "s3.access-key=******", "s3.secret-key=******")
                .doesNotContain("AKIA-not-shown", "secret-not-shown");
    }

    @Test
    void shouldSetUpThePluginsForARunOnlyWhenAnAllowedPrefixOrAnOptionNeedsThem() {
        assertThat(FlinkFileSystems.neededFor(GlimpseConfig.load(null, Map.of()))).isFalse();
        assertThat(FlinkFileSystems.neededFor(GlimpseConfig.load(null,
                Map.of("decoder.allowed-uris", "file:///srv/images/;https://images.example.com/a/")))).isFalse();
        assertThat(FlinkFileSystems.neededFor(GlimpseConfig.load(null,
                Map.of("decoder.allowed-uris", "file:///srv/images/;S3://bucket/photos/")))).isTrue();
        assertThat(FlinkFileSystems.neededFor(GlimpseConfig.load(null, Map.of("s3.endpoint", "http://127.0.0.1:9")))).isTrue();
    }

    @Test
    void shouldTakeFileSystemOptionsButStillRefuseUnknownOnes() {
        assertThat(GlimpseConfig.load(null, Map.of("fs.s3a.connection.maximum", "8")).fileSystemOptions())
                .containsEntry("fs.s3a.connection.maximum", "8");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> GlimpseConfig.load(null, Map.of("s4.endpoint", "x")))
                .hasMessageContaining("unknown option 's4.endpoint'").hasMessageContaining("s3.*");
    }
}
