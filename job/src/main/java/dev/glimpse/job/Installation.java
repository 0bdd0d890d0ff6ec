package dev.glimpse.job;

import java.nio.file.Files;
import java.nio.file.Path;

/** Where Glimpse is installed: {@code -Dglimpse.home} (set by bin/glimpse), else the working directory. */
public final class Installation {
    public static final String BUILT_IN_MODEL = "models/glimpse-scenes";

    private Installation() {}

    public static Path home() {
        String home = System.getProperty("glimpse.home");
        return home != null ? Path.of(home) : Path.of("").toAbsolutePath();
    }

    public static Path builtInModel() {
        return home().resolve(BUILT_IN_MODEL);
    }

    /**
     * Flink plugins in Flink's layout (one folder per plugin, {@code s3-fs-hadoop/}):
     * {@code -Dglimpse.plugins} (bin/glimpse: {@code $GLIMPSE_PLUGINS}, else the S3 plugin the build
     * copies to {@code cli/target/plugins}), else {@code plugins/} of the installation.
     */
    public static Path pluginsDir() {
        String dir = System.getProperty("glimpse.plugins");
        return dir != null && !dir.isBlank() ? Path.of(dir) : home().resolve("plugins");
    }

    public static Path defaultConfigFile() {
        Path p = home().resolve("conf/glimpse.yaml");
        return Files.isRegularFile(p) ? p : null;
    }
}
