package dev.glimpse.cli;

import dev.glimpse.job.GlimpseConfig;
import dev.glimpse.job.GlimpseOptions;
import dev.glimpse.job.Installation;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.core.fs.FileSystem;
import org.apache.flink.core.plugin.DefaultPluginManager;
import org.apache.flink.core.plugin.DirectoryBasedPluginFinder;
import org.apache.flink.core.plugin.PluginConfig;
import org.apache.flink.core.plugin.PluginDescriptor;
import org.apache.flink.core.plugin.PluginManager;

/**
 * Flink's file systems in the local cluster of the command line: the plugins of {@link
 * Installation#pluginsDir()} (the S3 plugin, each in its own class loader as on a cluster) with the
 * file-system options of the configuration ({@code s3.endpoint}, {@code s3.access-key}, ...). A
 * cluster does this itself from its {@code plugins/} and {@code config.yaml}; a command submitted
 * there must not.
 */
public final class FlinkFileSystems {
    private static final Pattern SCHEME = Pattern.compile("([A-Za-z][A-Za-z0-9+.-]*):");

    private FlinkFileSystems() {}

    /** What was set up, fit to print: the plugins and the options, secrets masked. */
    public record Setup(Path pluginsDir, List<String> plugins, Map<String, String> optionsMasked) {
        public String describe() {
            String where = plugins.isEmpty() ? "no plugins in " + pluginsDir
                    : String.join(", ", plugins) + " from " + pluginsDir;
            return optionsMasked.isEmpty() ? where : where + "; " + optionsMasked.entrySet().stream()
                    .map(e -> e.getKey() + "=" + e.getValue()).collect(Collectors.joining(", "));
        }
    }

    /**
     * Whether a local streaming run needs {@link #initialize}: an allowed URI prefix of a scheme
     * served only by a plugin ({@code s3://}, ...), or file-system options given. Loading the plugins
     * takes seconds (the S3 plugin's Hadoop classes), so a run of local files and http(s) skips it.
     */
    public static boolean neededFor(GlimpseConfig c) {
        if (!c.fileSystemOptions().isEmpty()) {
            return true;
        }
        for (String prefix : c.get(GlimpseOptions.ALLOWED_URIS)) {
            Matcher scheme = SCHEME.matcher(prefix.trim());
            if (scheme.lookingAt() && !List.of("file", "http", "https").contains(scheme.group(1).toLowerCase(Locale.ROOT))) {
                return true;
            }
        }
        return false;
    }

    /** Initialises Flink's file systems of this JVM with {@code c}'s file-system options and the installed plugins. */
    public static Setup initialize(GlimpseConfig c) {
        Path dir = Installation.pluginsDir();
        Configuration conf = new Configuration();
        c.fileSystemOptions().forEach(conf::setString);
        List<String> names = new ArrayList<>();
        PluginManager plugins = null;
        if (Files.isDirectory(dir)) {
            Collection<PluginDescriptor> found;
            try {
                found = new DirectoryBasedPluginFinder(dir).findPlugins();
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read the Flink plugins in " + dir, e);
            }
            found.forEach(d -> names.add(d.getPluginId()));
            plugins = new DefaultPluginManager(found, PluginConfig.fromConfiguration(conf).getAlwaysParentFirstPatterns());
        }
        FileSystem.initialize(conf, plugins);
        Map<String, String> masked = new TreeMap<>();
        c.fileSystemOptions().forEach((k, v) -> masked.put(k, GlimpseConfig.isSecretKey(k) ? GlimpseConfig.MASK : v));
        return new Setup(dir, List.copyOf(names), masked);
    }
}
