package dev.glimpse.cli;

import dev.glimpse.job.GlimpseConfig;
import dev.glimpse.job.Installation;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import picocli.CommandLine.Option;

/**
 * Options of the commands that only talk to Kafka (produce, tail): the job's configuration file
 * and {@code --set}, so that one file carries the {@code kafka.properties.*} (TLS, SASL) of all.
 */
final class KafkaOptions {
    @Option(names = "--config", description = "YAML configuration whose kafka.* settings to use (default: conf/glimpse.yaml of the installation).")
    Path config;

    @Option(names = "--set", description = "Override an option, e.g. --set kafka.properties.security.protocol=SASL_SSL.",
            mapFallbackValue = "")
    Map<String, String> set = new LinkedHashMap<>();

    GlimpseConfig load() {
        return GlimpseConfig.load(config != null ? config : Installation.defaultConfigFile(), set);
    }
}
