package dev.glimpse.e2e;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.CoreOptions;

/**
 * A Flink installation folder laid out as a release is ({@code lib/}, {@code conf/config.yaml},
 * {@code plugins/}, {@code log/}), and the command lines that Flink's own scripts build from it:
 * {@code bin/jobmanager.sh}, {@code bin/taskmanager.sh} and {@code bin/flink} read
 * {@code env.java.opts.all} and the process's own {@code env.java.opts.*} from the configuration and
 * put every jar of {@code lib/} on the class path (flink-dist last). No processes here.
 */
final class FlinkDistribution {
    /** Flink's own default config.yaml keys (a resource of this module). */
    static final String DEFAULT_CONFIG = "flink-default-config.yaml";
    static final String PROMETHEUS_PLUGIN = "flink-metrics-prometheus";

    private static final Pattern JOBMANAGER_RPC_PORT = Pattern.compile("(?m)^(\\s+port:\\s*)6123\\s*$");

    final Path home;

    FlinkDistribution(Path home) {
        this.home = home.toAbsolutePath().normalize();
    }

    Path lib() {
        return home.resolve("lib");
    }

    Path conf() {
        return home.resolve("conf");
    }

    Path plugins() {
        return home.resolve("plugins");
    }

    /** Whether lib/ holds Flink (a release's flink-dist, or the modules a layout of this class put there). */
    boolean isLaidOut() {
        return ClusterLayout.listJars(lib()).stream().map(p -> p.getFileName().toString())
                .anyMatch(n -> n.startsWith("flink-dist") || n.startsWith("flink-runtime-2"));
    }

    /**
     * Lays the folder out as a Flink 2.2.1 release: lib/ with the Flink part of the job's class path
     * ({@link ClusterLayout#flinkRuntime}) less the metrics reporter, which a release ships as a plugin
     * (plugins/metrics-prometheus/), conf/config.yaml with Flink's default keys, conf/log4j.properties,
     * an empty log/. Returns what it wrote, in words.
     */
    String layOut(List<Path> jobClasspath) throws IOException {
        Files.createDirectories(lib());
        Path prometheus = Files.createDirectories(plugins().resolve("metrics-prometheus"));
        Files.createDirectories(home.resolve("log"));
        int jars = 0;
        for (Path jar : ClusterLayout.flinkRuntime(jobClasspath)) {
            Path dir = jar.getFileName().toString().startsWith(PROMETHEUS_PLUGIN) ? prometheus : lib();
            Files.copy(jar, dir.resolve(jar.getFileName()), StandardCopyOption.REPLACE_EXISTING);
            jars += dir.equals(lib()) ? 1 : 0;
        }
        Files.createDirectories(conf());
        Files.writeString(conf().resolve("config.yaml"), defaultConfig());
        Files.writeString(conf().resolve("log4j.properties"), ClusterLayout.flinkLog4j());
        return "lib/ " + jars + " jars of Flink 2.2.1 from Maven Central, plugins/metrics-prometheus/, conf/config.yaml with"
                + " Flink's default keys, conf/log4j.properties";
    }

    static String defaultConfig() throws IOException {
        try (InputStream in = FlinkDistribution.class.getResourceAsStream(DEFAULT_CONFIG)) {
            if (in == null) {
                throw new IllegalStateException("resource " + DEFAULT_CONFIG + " missing");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    /**
     * The configuration of one run: the folder's config.yaml with the JobManager's RPC port and the
     * REST port of this run (Flink's 6123 and 8081 may be taken on a shared machine), and then
     * {@code additions} appended as docs/deployment.md says.
     */
    static String runConfig(String flinkConfig, int rpcPort, int restPort, String additions) {
        Matcher m = JOBMANAGER_RPC_PORT.matcher(flinkConfig);
        if (!m.find()) {
            throw new IllegalArgumentException("config.yaml has no 'port: 6123' (jobmanager.rpc.port) to move to a free port");
        }
        String moved = m.replaceFirst("$1" + rpcPort);
        return moved + (moved.endsWith("\n") ? "" : "\n")
                + "# cluster-test: this run's REST port (Flink's default 8081 may be taken on a shared machine)\n"
                + "rest.port: " + restPort + "\n\n"
                + additions;
    }

    /** The class path of every Flink process: the jars of lib/, sorted, flink-dist last (config.sh). */
    List<Path> classpath() {
        List<Path> jars = new ArrayList<>(ClusterLayout.listJars(lib()));
        List<Path> dist = jars.stream().filter(p -> p.getFileName().toString().startsWith("flink-dist")).toList();
        jars.removeAll(dist);
        jars.addAll(dist);
        return jars;
    }

    /** The JVM options a script passes: env.java.default-opts.all, env.java.opts.all, then the process's own. */
    static List<String> jvmOptions(Configuration conf, ConfigOption<String> own) {
        List<String> out = new ArrayList<>();
        for (ConfigOption<String> o : List.of(CoreOptions.FLINK_DEFAULT_JVM_OPTIONS, CoreOptions.FLINK_JVM_OPTIONS, own)) {
            String v = conf.get(o);
            if (v != null && !v.isBlank()) {
                out.addAll(Arrays.asList(v.trim().split("\\s+")));
            }
        }
        return out;
    }

    /** Whether the folder's lib/ holds a jar whose name starts with {@code prefix}. */
    boolean libHas(String prefix) {
        try (Stream<Path> s = Files.list(lib())) {
            return s.anyMatch(p -> p.getFileName().toString().startsWith(prefix));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
