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

    public static Path defaultConfigFile() {
        Path p = home().resolve("conf/glimpse.yaml");
        return Files.isRegularFile(p) ? p : null;
    }
}
