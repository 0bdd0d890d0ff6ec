package dev.glimpse.connectors;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.ListTransactionsOptions;
import org.apache.kafka.clients.admin.TransactionListing;
import org.apache.kafka.clients.admin.TransactionState;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.AuthenticationException;
import org.apache.kafka.common.errors.AuthorizationException;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Kafka clients of the commands around the job (an image producer, a committed-output reader)
 * and the check the job makes before it starts. Each takes the {@code kafka.properties.*} of the
 * configuration (TLS, SASL), under the settings it owns.
 */
public final class KafkaClients {
    private static final Logger LOG = LoggerFactory.getLogger(KafkaClients.class);

    private KafkaClients() {}

    /** A producer of images: byte keys and values, acknowledged by all replicas, large records allowed. */
    public static KafkaProducer<byte[], byte[]> imageProducer(String bootstrap, Map<String, String> properties) {
        Properties p = new Properties();
        p.putAll(properties);
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, String.valueOf(40 << 20));
        return create(() -> new KafkaProducer<>(p), properties);
    }

    /**
     * A reader of the output topics that sees only what the job committed with its checkpoints
     * ({@code isolation.level=read_committed}): exactly once.
     */
    public static KafkaConsumer<String, String> committedReader(String bootstrap, Map<String, String> properties,
                                                                String groupId, boolean fromBeginning) {
        Properties p = new Properties();
        p.putAll(properties);
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ConsumerConfig.GROUP_ID_CONFIG, groupId);
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, fromBeginning ? "earliest" : "latest");
        p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        return create(() -> new KafkaConsumer<>(p), properties);
    }

    /**
     * A reader of whole topics, assigned partitions by its caller: only what the job committed
     * ({@code read_committed}), without a consumer group, so it leaves no offsets behind.
     */
    public static KafkaConsumer<String, String> committedScanner(String bootstrap, Map<String, String> properties) {
        Properties p = new Properties();
        p.putAll(properties);
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        return create(() -> new KafkaConsumer<>(p), properties);
    }

    /**
     * Connects once with the job's settings before the job starts, so that wrong credentials or TLS
     * settings, or a missing topic ({@link KafkaTopics}: created where the configuration allows it),
     * stop it at once with a message naming the failure, instead of a job that restarts forever. A
     * broker that does not answer within {@code timeout} is only warned about: the job waits for Kafka
     * as it always did.
     */
    public static void checkAccess(String bootstrap, Map<String, String> properties, Duration timeout, KafkaTopics topics) {
        try (Admin admin = admin(bootstrap, properties, timeout)) {
            admin.describeCluster().nodes().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
            topics.ensure(admin, bootstrap, timeout.toMillis());
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof AuthenticationException) {
                throw new IllegalArgumentException("Kafka at " + bootstrap + " refused the job: authentication failed ("
                        + masked(cause.getMessage(), properties) + "); check the kafka.properties.* security settings", cause);
            }
            if (cause instanceof AuthorizationException) {
                throw new IllegalArgumentException("Kafka at " + bootstrap + " refused the job: not authorized ("
                        + masked(cause.getMessage(), properties) + ")", cause);
            }
            LOG.warn("Kafka at {} did not answer the start-up check ({}); starting anyway", bootstrap,
                    cause == null ? "no cause" : cause.getClass().getSimpleName());
        } catch (TimeoutException e) {
            LOG.warn("Kafka at {} did not answer within {} ms; starting anyway", bootstrap, timeout.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while checking Kafka at " + bootstrap, e);
        }
    }

    /** An admin client of {@code bootstrap} with the job's {@code properties}, each call bounded by {@code timeout}. */
    private static Admin admin(String bootstrap, Map<String, String> properties, Duration timeout) {
        Properties p = new Properties();
        p.putAll(properties);
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, (int) timeout.toMillis());
        p.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, (int) timeout.toMillis());
        return create(() -> Admin.create(p), properties);
    }

    /**
     * A Kafka transaction open on some of the topics asked about: its id, the topics, when it began and
     * when the broker aborts it at the latest (its timeout). Until it ends, {@code read_committed}
     * readers of those topics see nothing written after it began.
     */
    public record OpenTransaction(String transactionalId, Set<String> topics, Instant since, Instant abortedBy) {}

    /**
     * The transactions open on {@code topics} now, oldest first: those of another writer, or those a
     * writer killed with {@code kill -9} left to the broker. Empty when the cluster does not answer or
     * does not let the job's credentials list transactions: it only informs.
     */
    public static List<OpenTransaction> openTransactions(String bootstrap, Map<String, String> properties,
                                                         Collection<String> topics, Duration timeout) {
        try (Admin admin = admin(bootstrap, properties, timeout)) {
            List<String> ids = admin.listTransactions(new ListTransactionsOptions().filterStates(List.of(TransactionState.ONGOING)))
                    .all().get(timeout.toMillis(), TimeUnit.MILLISECONDS).stream().map(TransactionListing::transactionalId).toList();
            if (ids.isEmpty()) {
                return List.of();
            }
            List<OpenTransaction> open = new ArrayList<>();
            admin.describeTransactions(ids).all().get(timeout.toMillis(), TimeUnit.MILLISECONDS).forEach((id, t) -> {
                Set<String> on = new TreeSet<>();
                t.topicPartitions().stream().map(TopicPartition::topic).filter(topics::contains).forEach(on::add);
                if (!on.isEmpty() && t.state() == TransactionState.ONGOING && t.transactionStartTimeMs().isPresent()) {
                    Instant since = Instant.ofEpochMilli(t.transactionStartTimeMs().getAsLong());
                    open.add(new OpenTransaction(id, on, since, since.plusMillis(t.transactionTimeoutMs())));
                }
            });
            open.sort(Comparator.comparing(OpenTransaction::since));
            return open;
        } catch (ExecutionException | TimeoutException e) {
            LOG.debug("could not list the open transactions at {}: {}", bootstrap, e.toString());
            return List.of();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while listing the transactions at " + bootstrap, e);
        }
    }

    /** {@code text} with every secret value of {@code properties} and every quoted password masked. */
    static String masked(String text, Map<String, String> properties) {
        if (text == null) {
            return "";
        }
        String out = text;
        for (Map.Entry<String, String> e : properties.entrySet()) {
            if (Secrets.isSecretKey(e.getKey()) && e.getValue() != null && !e.getValue().isBlank()) {
                out = out.replace(e.getValue(), Secrets.MASK);
            }
        }
        return out.replaceAll("(?i)(password\\s*=\\s*)(\"[^\"]*\"|\\S+)", "$1" + Secrets.MASK);
    }

    private interface Factory<T> {
        T create();
    }

    /** Builds a client; a configuration it rejects becomes a message that names no secret. */
    private static <T> T create(Factory<T> factory, Map<String, String> properties) {
        try {
            return factory.create();
        } catch (KafkaException e) {
            Throwable root = e;
            while (root.getCause() != null) {
                root = root.getCause();
            }
            throw new IllegalArgumentException("invalid Kafka client settings (kafka.properties.*): "
                    + masked(root.getMessage(), properties));
        }
    }
}
