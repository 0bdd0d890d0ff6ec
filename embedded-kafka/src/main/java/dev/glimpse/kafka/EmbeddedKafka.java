package dev.glimpse.kafka;

import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import kafka.server.KafkaConfig;
import kafka.server.KafkaRaftServer;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.errors.RetriableException;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.utils.Time;
import org.apache.kafka.common.utils.Utils;
import org.apache.kafka.metadata.properties.MetaPropertiesEnsemble;
import org.apache.kafka.metadata.storage.Formatter;
import org.apache.logging.log4j.Level;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.core.config.Configurator;

/**
 * A single-node Kafka broker (KRaft, combined broker and controller) running inside this JVM on
 * loopback, for tests and the local demo. It keeps its ports for its whole life so that clients
 * can reconnect to the same bootstrap address after {@link #stop()} and {@link #restart()}.
 */
public final class EmbeddedKafka implements AutoCloseable {

    private static final String HOST = "127.0.0.1";
    private static final int NODE_ID = 1;
    private static final String CONTROLLER_LISTENER = "CONTROLLER";
    private static final Duration READY_TIMEOUT = Duration.ofSeconds(60);
    private static final Duration POLL_INTERVAL = Duration.ofMillis(100);

    /**
     * Server-side logger roots, plus the config dumps and banners that every broker component
     * repeats at INFO; other client logging is left to the application's configuration.
     */
    private static final List<String> SERVER_LOGGERS = List.of(
            "kafka", "state.change.logger", "org.apache.kafka.server", "org.apache.kafka.controller",
            "org.apache.kafka.raft", "org.apache.kafka.metadata", "org.apache.kafka.image",
            "org.apache.kafka.storage", "org.apache.kafka.coordinator", "org.apache.kafka.snapshot",
            "org.apache.kafka.queue", "org.apache.kafka.network",
            "org.apache.kafka.common.config.AbstractConfig", "org.apache.kafka.common.metrics.Metrics",
            "org.apache.kafka.common.utils.AppInfoParser");

    private static final String SASL_LISTENER = "SASL";

    private final KafkaConfig config;
    private final String bootstrapServers;
    /** The plaintext listener this class uses itself (readiness, topics); the clients' one unless SASL is on. */
    private final String internalServers;
    /** Directory created by {@link #start()} and deleted on close; null when the caller owns it. */
    private final Path ownedDir;
    /** Null while stopped. */
    private KafkaRaftServer server;

    private EmbeddedKafka(KafkaConfig config, String bootstrapServers, String internalServers, Path ownedDir) {
        this.config = config;
        this.bootstrapServers = bootstrapServers;
        this.internalServers = internalServers;
        this.ownedDir = ownedDir;
    }

    /** Starts a broker in a fresh temporary directory that {@link #close()} deletes. */
    public static EmbeddedKafka start() {
        Path dir;
        try {
            dir = Files.createTempDirectory("glimpse-kafka-");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        try {
            return start(dir, dir);
        } catch (RuntimeException e) {
            deleteQuietly(dir);
            throw e;
        }
    }

    /**
     * Starts a broker whose data lives in {@code dataDir}, formatting it first unless an earlier
     * broker already did; returns once the broker answers metadata requests.
     */
    public static EmbeddedKafka start(Path dataDir) {
        return start(dataDir, null, 0);
    }

    /** As {@link #start(Path)}, with the client listener on {@code port} (0: any free port). */
    public static EmbeddedKafka start(Path dataDir, int port) {
        return start(dataDir, null, port);
    }

    private static EmbeddedKafka start(Path dataDir, Path ownedDir) {
        return start(dataDir, ownedDir, 0);
    }

    private static EmbeddedKafka start(Path dataDir, Path ownedDir, int port) {
        quietServerLogs();
        int[] ports = freePorts(2);
        if (port > 0) {
            ports[0] = port;
        }
        Path logDir = dataDir.resolve("kafka-logs");
        KafkaConfig config = new KafkaConfig(serverProperties(logDir, ports[0], ports[1]), false);
        formatIfNeeded(logDir);
        EmbeddedKafka kafka = new EmbeddedKafka(config, HOST + ":" + ports[0], HOST + ":" + ports[0], ownedDir);
        kafka.startServer();
        return kafka;
    }

    /**
     * Starts a broker whose clients must authenticate with SASL/PLAIN (over plaintext, on loopback)
     * as one of {@code users} (name → password): {@link #bootstrapServers()} is that listener. A
     * second, plaintext listener serves only this class (readiness, {@link #createTopic}) and the
     * broker's own traffic.
     */
    public static EmbeddedKafka startWithSaslPlain(Path dataDir, Map<String, String> users) {
        quietServerLogs();
        int[] ports = freePorts(3);
        Path logDir = dataDir.resolve("kafka-logs");
        Map<String, String> props = serverProperties(logDir, ports[0], ports[1]);
        String internal = "PLAINTEXT://" + HOST + ":" + ports[0];
        String sasl = SASL_LISTENER + "://" + HOST + ":" + ports[2];
        props.put("listeners", internal + "," + sasl + "," + CONTROLLER_LISTENER + "://" + HOST + ":" + ports[1]);
        props.put("advertised.listeners", internal + "," + sasl);
        props.put("listener.security.protocol.map",
                "PLAINTEXT:PLAINTEXT," + SASL_LISTENER + ":SASL_PLAINTEXT," + CONTROLLER_LISTENER + ":PLAINTEXT");
        props.put("sasl.enabled.mechanisms", "PLAIN");
        StringBuilder jaas = new StringBuilder("org.apache.kafka.common.security.plain.PlainLoginModule required");
        users.forEach((user, password) -> jaas.append(" user_").append(user).append("=\"").append(password).append('"'));
        props.put("listener.name." + SASL_LISTENER.toLowerCase(java.util.Locale.ROOT) + ".plain.sasl.jaas.config", jaas.append(';').toString());
        KafkaConfig config = new KafkaConfig(props, false);
        formatIfNeeded(logDir);
        EmbeddedKafka kafka = new EmbeddedKafka(config, HOST + ":" + ports[2], HOST + ":" + ports[0], null);
        kafka.startServer();
        return kafka;
    }

    /** The client properties that authenticate to {@link #startWithSaslPlain} as {@code user}. */
    public static Map<String, String> saslPlainClientProperties(String user, String password) {
        Map<String, String> p = new LinkedHashMap<>();
        p.put("security.protocol", "SASL_PLAINTEXT");
        p.put("sasl.mechanism", "PLAIN");
        p.put("sasl.jaas.config", "org.apache.kafka.common.security.plain.PlainLoginModule required username=\""
                + user + "\" password=\"" + password + "\";");
        return p;
    }

    /** The broker's {@code host:port} for clients; it stays the same across {@link #restart()}. */
    public String bootstrapServers() {
        return bootstrapServers;
    }

    /**
     * Creates a topic with one replica per partition and waits until every partition has a
     * leader. An existing topic of that name is accepted as it is.
     */
    public void createTopic(String name, int partitions) {
        try (Admin admin = admin()) {
            await("topic " + name + " to be created", () -> {
                try {
                    admin.createTopics(List.of(new NewTopic(name, partitions, (short) 1))).all().get();
                } catch (ExecutionException e) {
                    if (e.getCause() instanceof RetriableException) {
                        throw e;
                    }
                    if (!(e.getCause() instanceof TopicExistsException)) {
                        throw new IllegalStateException("Could not create topic " + name, e.getCause());
                    }
                }
                return true;
            });
            await("topic " + name + " to have leaders", () -> admin.describeTopics(Set.of(name))
                    .allTopicNames().get().get(name).partitions().stream()
                    .allMatch(p -> p.leader() != null && !p.leader().isEmpty()));
        }
    }

    /** Shuts the broker down but keeps its data and ports for {@link #restart()}. */
    public synchronized void stop() {
        if (server != null) {
            server.shutdown();
            server.awaitShutdown();
            server = null;
        }
    }

    /** Starts the broker again on the same ports and data, stopping it first if it runs. */
    public synchronized void restart() {
        stop();
        startServer();
    }

    @Override
    public synchronized void close() {
        stop();
        if (ownedDir != null) {
            deleteQuietly(ownedDir);
        }
    }

    private synchronized void startServer() {
        KafkaRaftServer started = new KafkaRaftServer(config, Time.SYSTEM);
        try {
            started.startup();
            awaitReady();
        } catch (RuntimeException e) {
            started.shutdown();
            started.awaitShutdown();
            throw e;
        }
        server = started;
    }

    /**
     * What every single-node broker of Glimpse sets, in process or as its own JVM: internal topics
     * with one replica and one partition, transactions of up to 15 minutes, and small files.
     */
    public static Map<String, String> singleNodeSettings() {
        Map<String, String> props = new LinkedHashMap<>();
        props.put("offsets.topic.replication.factor", "1");
        props.put("offsets.topic.num.partitions", "1");
        props.put("transaction.state.log.replication.factor", "1");
        props.put("transaction.state.log.min.isr", "1");
        props.put("transaction.state.log.num.partitions", "1");
        props.put("share.coordinator.state.topic.replication.factor", "1");
        props.put("share.coordinator.state.topic.min.isr", "1");
        props.put("group.initial.rebalance.delay.ms", "0");
        props.put("num.partitions", "1");
        // Exactly-once sinks keep transactions open across checkpoints; allow up to 15 minutes.
        props.put("transaction.max.timeout.ms", Integer.toString(15 * 60 * 1000));
        // Small files and buffers: the defaults preallocate 10 MiB indexes and a 128 MiB cleaner buffer.
        props.put("log.segment.bytes", Integer.toString(1024 * 1024));
        props.put("log.index.size.max.bytes", Integer.toString(64 * 1024));
        props.put("offsets.topic.segment.bytes", Integer.toString(1024 * 1024));
        props.put("transaction.state.log.segment.bytes", Integer.toString(1024 * 1024));
        props.put("metadata.log.segment.bytes", Integer.toString(8 * 1024 * 1024));
        props.put("log.cleaner.dedupe.buffer.size", Integer.toString(4 * 1024 * 1024));
        return props;
    }

    private static Map<String, String> serverProperties(Path logDir, int brokerPort, int controllerPort) {
        String broker = "PLAINTEXT://" + HOST + ":" + brokerPort;
        Map<String, String> props = new HashMap<>();
        props.put("node.id", Integer.toString(NODE_ID));
        props.put("process.roles", "broker,controller");
        props.put("listeners", broker + "," + CONTROLLER_LISTENER + "://" + HOST + ":" + controllerPort);
        props.put("advertised.listeners", broker);
        props.put("listener.security.protocol.map", "PLAINTEXT:PLAINTEXT," + CONTROLLER_LISTENER + ":PLAINTEXT");
        props.put("controller.listener.names", CONTROLLER_LISTENER);
        props.put("inter.broker.listener.name", "PLAINTEXT");
        // A static voter set (rather than a dynamic quorum) lets a data directory be reused with new ports.
        props.put("controller.quorum.voters", NODE_ID + "@" + HOST + ":" + controllerPort);
        props.put("log.dirs", logDir.toString());

        props.put("auto.create.topics.enable", "true");
        props.putAll(singleNodeSettings());
        return props;
    }

    /** Formats the log directory with a new cluster id unless an earlier run already did. */
    private static void formatIfNeeded(Path logDir) {
        if (Files.exists(logDir.resolve(MetaPropertiesEnsemble.META_PROPERTIES_NAME))) {
            return;
        }
        try {
            new Formatter()
                    .setPrintStream(new PrintStream(OutputStream.nullOutputStream()))
                    .setNodeId(NODE_ID)
                    .setClusterId(Uuid.randomUuid().toString())
                    .setControllerListenerName(CONTROLLER_LISTENER)
                    .addDirectory(logDir.toString())
                    .setMetadataLogDirectory(logDir.toString())
                    .run();
        } catch (Exception e) {
            throw new IllegalStateException("Could not format Kafka storage in " + logDir, e);
        }
    }

    private void awaitReady() {
        try (Admin admin = admin()) {
            await("the broker to answer metadata requests",
                    () -> !admin.describeCluster().nodes().get().isEmpty());
        }
    }

    /** A readiness probe; an {@link ExecutionException} means "not yet, try again". */
    private interface Probe {
        boolean ready() throws ExecutionException, InterruptedException;
    }

    private static void await(String what, Probe probe) {
        long deadline = System.nanoTime() + READY_TIMEOUT.toNanos();
        Throwable lastError = null;
        try {
            while (true) {
                try {
                    if (probe.ready()) {
                        return;
                    }
                } catch (ExecutionException e) {
                    lastError = e.getCause();
                }
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("Timed out after " + READY_TIMEOUT + " waiting for " + what,
                            lastError);
                }
                Thread.sleep(POLL_INTERVAL.toMillis());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("Interrupted while waiting for " + what, e);
        }
    }

    private Admin admin() {
        int timeoutMs = (int) Duration.ofSeconds(10).toMillis();
        return Admin.create(Map.of(
                AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, internalServers,
                AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, timeoutMs,
                AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, timeoutMs));
    }

    /** Picks distinct free loopback ports by holding all of them open until each is known. */
    public static int[] freePorts(int count) {
        ServerSocket[] sockets = new ServerSocket[count];
        try {
            int[] ports = new int[count];
            for (int i = 0; i < count; i++) {
                sockets[i] = new ServerSocket(0, 1, InetAddress.getByName(HOST));
                ports[i] = sockets[i].getLocalPort();
            }
            return ports;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } finally {
            for (ServerSocket socket : sockets) {
                Utils.closeQuietly(socket, "port probe");
            }
        }
    }

    /** Lowers broker logging to WARN, but never makes a logger more verbose than configured. */
    private static void quietServerLogs() {
        for (String name : SERVER_LOGGERS) {
            if (LogManager.getLogger(name).getLevel().isLessSpecificThan(Level.INFO)) {
                Configurator.setLevel(name, Level.WARN);
            }
        }
    }

    private static void deleteQuietly(Path dir) {
        try {
            Utils.delete(dir.toFile());
        } catch (IOException e) {
            // Leftovers in the temp directory are harmless; a failed close must not hide test results.
        }
    }
}
