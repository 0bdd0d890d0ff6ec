package dev.glimpse.e2e;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLGenerator;
import dev.glimpse.kafka.EmbeddedKafka;
import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.GlobalConfiguration;
import org.apache.flink.runtime.clusterframework.TaskExecutorProcessSpec;
import org.apache.flink.runtime.clusterframework.TaskExecutorProcessUtils;
import org.apache.flink.runtime.jobmanager.JobManagerProcessSpec;
import org.apache.flink.runtime.jobmanager.JobManagerProcessUtils;
import org.apache.flink.runtime.util.config.memory.ProcessMemoryUtils;

/**
 * What the processes of the cluster test are made of: the class paths of Flink's {@code lib/} and
 * of the Kafka broker (both cut from the e2e module's resolved class path), the Flink configuration
 * (the shipped {@code conf/flink/config.yaml} with local addresses, ports, directories and small
 * memory sizes) and the JVM flags that flink-dist's scripts would compute. No processes here.
 */
final class ClusterLayout {
    private ClusterLayout() {}

    /**
     * The --add-exports/--add-opens that flink-dist puts in env.java.default-opts.all, used when the
     * base configuration does not name them.
     */
    static final List<String> DEFAULT_FLINK_JVM_FLAGS = List.of(
            "--add-exports=java.base/sun.net.util=ALL-UNNAMED",
            "--add-exports=java.rmi/sun.rmi.registry=ALL-UNNAMED",
            "--add-exports=jdk.compiler/com.sun.tools.javac.api=ALL-UNNAMED",
            "--add-exports=jdk.compiler/com.sun.tools.javac.file=ALL-UNNAMED",
            "--add-exports=jdk.compiler/com.sun.tools.javac.parser=ALL-UNNAMED",
            "--add-exports=jdk.compiler/com.sun.tools.javac.tree=ALL-UNNAMED",
            "--add-exports=jdk.compiler/com.sun.tools.javac.util=ALL-UNNAMED",
            "--add-exports=java.security.jgss/sun.security.krb5=ALL-UNNAMED",
            "--add-opens=java.base/java.lang=ALL-UNNAMED",
            "--add-opens=java.base/java.net=ALL-UNNAMED",
            "--add-opens=java.base/java.io=ALL-UNNAMED",
            "--add-opens=java.base/java.nio=ALL-UNNAMED",
            "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED",
            "--add-opens=java.base/java.lang.reflect=ALL-UNNAMED",
            "--add-opens=java.base/java.text=ALL-UNNAMED",
            "--add-opens=java.base/java.time=ALL-UNNAMED",
            "--add-opens=java.base/java.util=ALL-UNNAMED",
            "--add-opens=java.base/java.util.concurrent=ALL-UNNAMED",
            "--add-opens=java.base/java.util.concurrent.atomic=ALL-UNNAMED",
            "--add-opens=java.base/java.util.concurrent.locks=ALL-UNNAMED");

    /**
     * Maven groups (as local-repository paths) of what flink-dist bundles or puts in lib/: Flink's
     * runtime and its unshaded dependencies, slf4j and the log4j backend. The Kafka connector is
     * org.apache.flink too but belongs to the job jar ({@link #NOT_IN_FLINK_LIB}).
     */
    private static final List<String> FLINK_LIB_GROUPS = List.of(
            "org/apache/flink", "org/apache/commons", "commons-io", "commons-collections", "commons-cli",
            "commons-codec", "com/esotericsoftware", "org/objenesis", "org/snakeyaml", "org/javassist",
            "tools/profiler", "com/google/code/findbugs", "org/slf4j", "org/apache/logging/log4j");

    private static final List<String> NOT_IN_FLINK_LIB = List.of("org/apache/flink/flink-connector-kafka/");

    /** What a Kafka broker does not need from the job's class path. */
    private static final List<String> NOT_FOR_KAFKA = List.of(
            "org/apache/flink", "ai/djl", "com/twelvemonkeys", "info/picocli", "net/java/dev/jna",
            "com/google/code/gson");

    /** Reads a class path file ({@code e2e/target/classpath.txt}: entries separated by the path separator). */
    static List<Path> readClasspath(Path file) {
        try {
            String text = Files.readString(file).trim();
            return Arrays.stream(text.split(File.pathSeparator)).filter(s -> !s.isBlank()).map(Path::of).toList();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the class path file " + file + " (run mvn package)", e);
        }
    }

    static boolean inGroup(Path jar, String groupPath) {
        return jar.toString().replace(File.separatorChar, '/').contains("/" + groupPath + "/");
    }

    private static boolean isGlimpseModule(Path jar) {
        return jar.getFileName().toString().startsWith("glimpse-");
    }

    /**
     * Flink's lib/: the Flink runtime part of the job's resolved class path, plus every jar of
     * {@code dist/target/flink-lib} (DJL, its natives, gson, jna, the TwelveMonkeys ImageIO plug-ins).
     * Never Glimpse's classes, the Kafka connector or kafka-clients: those come with the job jar.
     */
    static List<Path> flinkLib(List<Path> jobClasspath, Path distFlinkLib) {
        List<Path> lib = new ArrayList<>(flinkRuntime(jobClasspath));
        List<Path> djl = listJars(distFlinkLib);
        if (djl.isEmpty()) {
            throw new IllegalStateException(distFlinkLib + " holds no jars (run mvn package: the dist module writes it)");
        }
        lib.addAll(djl);
        for (Path jar : lib) {
            String n = jar.getFileName().toString();
            if (isGlimpseModule(jar) || n.startsWith("kafka") || n.startsWith("flink-connector-kafka") || n.startsWith("picocli")) {
                throw new IllegalStateException("user code on the cluster class path: " + jar);
            }
        }
        return lib;
    }

    /**
     * What a Flink release brings in lib/, cut from the job's resolved class path: the modules that
     * flink-dist bundles (flink-dist itself is not on Maven Central) with their unshaded dependencies,
     * the table, CEP, file and JSON jars, slf4j and log4j; never Glimpse, the Kafka connector or DJL.
     */
    static List<Path> flinkRuntime(List<Path> jobClasspath) {
        List<Path> lib = new ArrayList<>();
        for (Path jar : jobClasspath) {
            if (isGlimpseModule(jar) || NOT_IN_FLINK_LIB.stream().anyMatch(x -> jar.toString().replace(File.separatorChar, '/').contains("/" + x))) {
                continue;
            }
            if (FLINK_LIB_GROUPS.stream().anyMatch(g -> inGroup(jar, g))) {
                lib.add(jar);
            }
        }
        return lib;
    }

    /** The broker's class path: the job's class path less Flink, DJL, ImageIO and Glimpse itself. */
    static List<Path> kafkaClasspath(List<Path> jobClasspath) {
        return jobClasspath.stream()
                .filter(j -> !isGlimpseModule(j))
                .filter(j -> NOT_FOR_KAFKA.stream().noneMatch(g -> inGroup(j, g)))
                .toList();
    }

    static List<Path> listJars(Path dir) {
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(p -> p.getFileName().toString().endsWith(".jar")).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static String joinClasspath(List<Path> jars) {
        return String.join(File.pathSeparator, jars.stream().map(Path::toString).toList());
    }

    // ------------------------------------------------------------------------------ configuration

    /** Where the processes listen and write. */
    record Settings(String host, int rpcPort, int restPort, Path ioTmp, Path webUpload, Path webTmp,
                    Path checkpoints, Path savepoints) {}

    /** The shipped Flink configuration (flat keys), or an empty map when the file is absent. */
    @SuppressWarnings("unchecked")
    static Map<String, Object> loadBaseConfig(Path yaml) {
        if (yaml == null || !Files.isRegularFile(yaml)) {
            return new LinkedHashMap<>();
        }
        try {
            Map<String, Object> m = new ObjectMapper(new YAMLFactory()).readValue(yaml.toFile(), LinkedHashMap.class);
            return m == null ? new LinkedHashMap<>() : flatten("", m, new LinkedHashMap<>());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + yaml, e);
        }
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> flatten(String prefix, Map<String, Object> m, Map<String, Object> out) {
        for (Map.Entry<String, Object> e : m.entrySet()) {
            String key = prefix.isEmpty() ? e.getKey() : prefix + "." + e.getKey();
            if (e.getValue() instanceof Map<?, ?> nested) {
                flatten(key, (Map<String, Object>) nested, out);
            } else {
                out.put(key, e.getValue());
            }
        }
        return out;
    }

    /** The JVM flags of every Flink process: env.java.default-opts.all of the base configuration. */
    static List<String> flinkJvmFlags(Map<String, Object> base) {
        Object opts = base.get("env.java.default-opts.all");
        if (opts == null || opts.toString().isBlank()) {
            return DEFAULT_FLINK_JVM_FLAGS;
        }
        return Arrays.stream(opts.toString().trim().split("\\s+")).toList();
    }

    /**
     * The cluster's configuration: the base file's settings (class loading, checkpoint retention,
     * restart strategy, slots...) with this machine's addresses, free ports, temporary directories
     * and memory sizes small enough for a laptop; without what needs the Flink image (Prometheus
     * reporter, GPU discovery script) or only its scripts read (env.java.*).
     */
    static Map<String, Object> clusterConfig(Map<String, Object> base, Settings s) {
        Map<String, Object> c = new LinkedHashMap<>(base);
        c.keySet().removeIf(k -> k.startsWith("metrics.reporter.") || k.startsWith("external-resource.")
                || k.startsWith("env.java.") || k.startsWith("containerized."));
        c.put("external-resources", "none");
        // Addresses: loopback only, free ports for the JobManager, random ones for the rest.
        c.put("jobmanager.rpc.address", s.host());
        c.put("jobmanager.rpc.port", s.rpcPort());
        c.put("jobmanager.bind-host", s.host());
        c.put("taskmanager.bind-host", s.host());
        c.put("taskmanager.host", s.host());
        c.put("taskmanager.rpc.port", "0");
        c.put("rest.address", s.host());
        c.put("rest.bind-address", s.host());
        c.put("rest.port", s.restPort());
        c.put("blob.server.port", "0");
        // The test submits through REST: POST /jars/upload and /jars/<id>/run (the shipped file turns
        // jar upload off because its clusters are fed with `flink run`).
        c.put("web.submit.enable", true);
        c.put("web.upload.dir", s.webUpload().toString());
        c.put("web.tmpdir", s.webTmp().toString());
        c.put("io.tmp.dirs", s.ioTmp().toString());
        // Memory: spelled out and small (768 MB JobManager, 1600 MB per TaskManager).
        c.put("jobmanager.memory.process.size", "768m");
        c.put("taskmanager.memory.process.size", "1600m");
        c.put("taskmanager.memory.task.off-heap.size", "384m");
        c.put("taskmanager.memory.managed.size", "16m");
        c.put("taskmanager.memory.network.min", "32m");
        c.put("taskmanager.memory.network.max", "32m");
        c.put("taskmanager.memory.jvm-metaspace.size", "256m");
        c.put("taskmanager.memory.jvm-overhead.min", "256m");
        c.put("taskmanager.memory.jvm-overhead.max", "256m");
        c.put("taskmanager.numberOfTaskSlots", 2);
        c.putIfAbsent("parallelism.default", 2);
        c.putIfAbsent("taskmanager.load-balance.mode", "slots");
        // The class-loading rule; the shipped file sets it, this keeps the test meaningful without it.
        c.putIfAbsent("classloader.parent-first-patterns.additional", List.of("ai.djl.", "com.twelvemonkeys."));
        // Notice a killed TaskManager within seconds.
        c.put("heartbeat.interval", "1000");
        c.put("heartbeat.timeout", "6000");
        // Restart without giving up, and without the shipped one-minute back-off ceiling.
        if (!"exponential-delay".equals(String.valueOf(c.get("restart-strategy.type")))) {
            c.put("restart-strategy.type", "fixed-delay");
            c.put("restart-strategy.fixed-delay.attempts", 1000);
            c.put("restart-strategy.fixed-delay.delay", "2 s");
        } else {
            c.put("restart-strategy.exponential-delay.max-backoff", "5 s");
        }
        c.putIfAbsent("jobmanager.execution.failover-strategy", "region");
        c.put("execution.checkpointing.dir", s.checkpoints().toUri().toString());
        c.put("execution.checkpointing.savepoint-dir", s.savepoints().toUri().toString());
        c.putIfAbsent("execution.checkpointing.externalized-checkpoint-retention", "RETAIN_ON_CANCELLATION");
        c.putIfAbsent("state.backend.type", "hashmap");
        return c;
    }

    static void writeYaml(Map<String, Object> config, Path file, String header) {
        try {
            ObjectMapper yaml = new ObjectMapper(new YAMLFactory()
                    .disable(YAMLGenerator.Feature.WRITE_DOC_START_MARKER)
                    .enable(YAMLGenerator.Feature.MINIMIZE_QUOTES)
                    .enable(YAMLGenerator.Feature.ALWAYS_QUOTE_NUMBERS_AS_STRINGS));
            StringBuilder out = new StringBuilder();
            header.lines().forEach(l -> out.append("# ").append(l).append('\n'));
            out.append(yaml.writeValueAsString(config));
            Files.createDirectories(file.getParent());
            Files.writeString(file, out.toString());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static Configuration loadFlinkConfiguration(Path confDir) {
        return GlobalConfiguration.loadConfiguration(confDir.toString());
    }

    /** The log4j2 configuration of the Flink processes: one file per process ({@code -Dlog.file}). */
    static String flinkLog4j() {
        return String.join("\n",
                "monitorInterval = 0",
                "rootLogger.level = INFO",
                "rootLogger.appenderRef.main.ref = MainAppender",
                "appender.main.name = MainAppender",
                "appender.main.type = File",
                "appender.main.append = true",
                "appender.main.fileName = ${sys:log.file}",
                "appender.main.layout.type = PatternLayout",
                "appender.main.layout.pattern = %d{HH:mm:ss,SSS} %-5p %c{1} [%t] - %m%n",
                "logger.kafka.name = org.apache.kafka",
                "logger.kafka.level = WARN",
                "logger.pekko.name = org.apache.pekko",
                "logger.pekko.level = WARN",
                "logger.netty.name = org.apache.flink.shaded.netty4",
                "logger.netty.level = WARN",
                "logger.cuda.name = ai.djl.util.cuda",
                "logger.cuda.level = ERROR",
                "");
    }

    /** The broker's log4j2 configuration: warnings and above to {@code -Dlog.file}. */
    static String kafkaLog4j() {
        return String.join("\n",
                "rootLogger.level = WARN",
                "rootLogger.appenderRef.main.ref = MainAppender",
                "appender.main.name = MainAppender",
                "appender.main.type = File",
                "appender.main.append = true",
                "appender.main.fileName = ${sys:log.file}",
                "appender.main.layout.type = PatternLayout",
                "appender.main.layout.pattern = %d{HH:mm:ss,SSS} %-5p %c{1} - %m%n",
                "logger.server.name = kafka.server.KafkaRaftServer",
                "logger.server.level = INFO",
                "");
    }

    // ------------------------------------------------------------------------------ JVM sizes

    /**
     * What flink-dist's taskmanager.sh derives from the configuration (BashJavaUtils): the JVM's
     * -Xmx/-Xms/-XX:MaxDirectMemorySize/-XX:MaxMetaspaceSize, then the "-D key=value" program
     * arguments that pin every memory component.
     */
    static List<List<String>> taskManagerMemory(Configuration conf) {
        TaskExecutorProcessSpec spec = TaskExecutorProcessUtils.processSpecFromConfig(conf);
        return List.of(words(ProcessMemoryUtils.generateJvmParametersStr(spec)),
                words(TaskExecutorProcessUtils.generateDynamicConfigsStr(spec)));
    }

    /** As {@link #taskManagerMemory}, for the JobManager (jobmanager.sh). */
    static List<List<String>> jobManagerMemory(Configuration conf) {
        JobManagerProcessSpec spec = JobManagerProcessUtils.processSpecFromConfig(conf);
        return List.of(words(JobManagerProcessUtils.generateJvmParametersStr(spec, conf)),
                words(JobManagerProcessUtils.generateDynamicConfigsStr(spec)));
    }

    private static List<String> words(String s) {
        return s == null || s.isBlank() ? List.of() : Arrays.stream(s.trim().split("\\s+")).toList();
    }

    // ------------------------------------------------------------------------------ Kafka

    /** A single-node KRaft broker and controller on loopback. */
    static Map<String, String> kafkaServerProperties(String host, int brokerPort, int controllerPort, Path dataDir) {
        Map<String, String> p = new LinkedHashMap<>();
        p.put("process.roles", "broker,controller");
        p.put("node.id", "1");
        p.put("listeners", "PLAINTEXT://" + host + ":" + brokerPort + ",CONTROLLER://" + host + ":" + controllerPort);
        p.put("advertised.listeners", "PLAINTEXT://" + host + ":" + brokerPort);
        p.put("listener.security.protocol.map", "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT");
        p.put("controller.listener.names", "CONTROLLER");
        p.put("inter.broker.listener.name", "PLAINTEXT");
        p.put("controller.quorum.bootstrap.servers", host + ":" + controllerPort);
        p.put("log.dirs", dataDir.toString());
        p.put("auto.create.topics.enable", "false");
        p.putAll(dev.glimpse.kafka.EmbeddedKafka.singleNodeSettings());
        return p;
    }

    static String properties(Map<String, String> p) {
        StringBuilder s = new StringBuilder();
        p.forEach((k, v) -> s.append(k).append('=').append(v).append('\n'));
        return s.toString();
    }
}
