package dev.glimpse.job;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The options of every command that runs the job, on the command line and on a cluster alike: a
 * configuration file ({@code --config}; null: the installation's), overrides of any of its options
 * ({@code --set key=value}) and the model folder ({@code --model}; null: the configured one).
 */
public record JobArguments(Path config, Map<String, String> set, Path model) {
    public JobArguments {
        set = Map.copyOf(set);
    }

    /** The configuration with the file, then {@code --set}, then {@code --model}, then {@code flags} applied. */
    public GlimpseConfig load(Map<String, String> flags) {
        Map<String, String> overrides = new LinkedHashMap<>(set);
        if (model != null) {
            overrides.put(GlimpseOptions.MODEL_DIR.key(), model.toString());
        }
        overrides.putAll(flags);
        GlimpseConfig c = GlimpseConfig.load(config != null ? config : Installation.defaultConfigFile(), overrides);
        Engines.configureThreads(c);
        return c;
    }
}
