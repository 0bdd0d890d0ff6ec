package dev.glimpse.cli;

import dev.glimpse.job.GlimpseConfig;
import dev.glimpse.job.JobArguments;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import picocli.CommandLine.Option;

/** Options shared by the commands that run the job (a picocli mixin over {@link JobArguments}). */
public final class JobOptions {
    @Option(names = "--config", description = "YAML configuration (default: conf/glimpse.yaml of the installation).")
    public Path config;

    @Option(names = "--set", description = "Override any option of the configuration: --set batching.max-batch-size=8.",
            mapFallbackValue = "")
    public Map<String, String> set = new LinkedHashMap<>();

    @Option(names = "--model", description = "Model folder (default: the built-in models/glimpse-scenes).")
    public Path model;

    public JobArguments arguments() {
        return new JobArguments(config, set, model);
    }

    /** The configuration with the file, then --set, then the dedicated flags applied. */
    public GlimpseConfig load(Map<String, String> flags) {
        return arguments().load(flags);
    }
}
