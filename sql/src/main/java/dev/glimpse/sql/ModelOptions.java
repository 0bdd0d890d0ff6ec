package dev.glimpse.sql;

import dev.glimpse.job.GlimpseConfig;
import dev.glimpse.job.GlimpseOptions;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.ConfigOptions;
import org.apache.flink.table.api.ValidationException;

/**
 * The options of {@code CREATE MODEL ... WITH ('provider' = 'glimpse', ...)}: each option of
 * {@code conf/glimpse.yaml} that applies to a model in a query (model, engine, decoder limits,
 * generation, batching), under a short key ({@code 'max-batch-size'}) or its key in the file
 * ({@code 'batching.max-batch-size'}). Values are checked as the file's are.
 */
final class ModelOptions {
    /** The short key of each option, in the order the README lists them. */
    private static final Map<String, ConfigOption<?>> BY_KEY = new LinkedHashMap<>();

    static {
        BY_KEY.put("model-dir", GlimpseOptions.MODEL_DIR);
        BY_KEY.put("engine-threads", GlimpseOptions.ENGINE_THREADS);
        BY_KEY.put("engine-dtype", GlimpseOptions.ENGINE_DTYPE);
        BY_KEY.put("max-payload-bytes", GlimpseOptions.MAX_PAYLOAD);
        BY_KEY.put("max-pixels", GlimpseOptions.MAX_PIXELS);
        BY_KEY.put("max-prompt-chars", GlimpseOptions.MAX_PROMPT_CHARS);
        BY_KEY.put("allowed-uris", GlimpseOptions.ALLOWED_URIS);
        BY_KEY.put("allow-private-addresses", GlimpseOptions.ALLOW_PRIVATE_ADDRESSES);
        BY_KEY.put("fetch-timeout", GlimpseOptions.FETCH_TIMEOUT);
        BY_KEY.put("default-max-new-tokens", GlimpseOptions.DEFAULT_MAX_NEW_TOKENS);
        BY_KEY.put("max-new-tokens-cap", GlimpseOptions.MAX_NEW_TOKENS_CAP);
        BY_KEY.put("test-time-views", GlimpseOptions.TEST_TIME_VIEWS);
        BY_KEY.put("image-splitting", GlimpseOptions.IMAGE_SPLITTING);
        BY_KEY.put("max-image-tokens", GlimpseOptions.MAX_IMAGE_TOKENS);
        BY_KEY.put("max-batch-size", GlimpseOptions.MAX_BATCH_SIZE);
        BY_KEY.put("max-batch-delay", GlimpseOptions.MAX_BATCH_DELAY);
        BY_KEY.put("batching-mode", GlimpseOptions.BATCHING_MODE);
    }

    private ModelOptions() {}

    /** What Flink's factory validation accepts: each short key, with the file's key as its fallback. */
    static Set<ConfigOption<?>> all() {
        Set<ConfigOption<?>> options = new LinkedHashSet<>();
        BY_KEY.forEach((key, yaml) -> options.add(ConfigOptions.key(key).stringType().noDefaultValue()
                .withFallbackKeys(yaml.key()).withDescription(yaml.description())));
        return options;
    }

    /**
     * The configuration the model's options give, every other option at its default. A value the file
     * would refuse, or an option given under both its keys, is refused naming the model and the key.
     */
    static GlimpseConfig config(String model, Map<String, String> options) {
        Map<String, String> overrides = new LinkedHashMap<>();
        BY_KEY.forEach((key, yaml) -> {
            if (options.containsKey(key) && options.containsKey(yaml.key())) {
                throw new ValidationException("model " + model + ": option '" + key + "' given twice, also as '"
                        + yaml.key() + "'");
            }
            String value = options.containsKey(key) ? options.get(key) : options.get(yaml.key());
            if (value != null) {
                overrides.put(yaml.key(), value);
            }
        });
        GlimpseConfig c;
        try {
            c = GlimpseConfig.load(null, overrides);
        } catch (IllegalArgumentException e) {
            throw new ValidationException("model " + model + ": " + e.getMessage(), e);
        }
        return c;
    }
}
