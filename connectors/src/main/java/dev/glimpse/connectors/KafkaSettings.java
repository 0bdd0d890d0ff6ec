package dev.glimpse.connectors;

import java.time.Duration;
import java.util.Map;
import java.util.Objects;

/**
 * What every Kafka client of a job gets: {@code properties} (the {@code kafka.properties.*} options
 * without their prefix: TLS, SASL, timeouts), and for its exactly-once sinks the transactional id
 * prefix and the transaction timeout.
 */
public record KafkaSettings(Map<String, String> properties, String transactionalIdPrefix, Duration transactionTimeout)
        implements java.io.Serializable {
    public KafkaSettings {
        properties = Map.copyOf(Objects.requireNonNull(properties, "properties"));
        Objects.requireNonNull(transactionalIdPrefix, "transactionalIdPrefix");
        Objects.requireNonNull(transactionTimeout, "transactionTimeout");
    }
}
