package dev.glimpse.connectors;

/**
 * Whether a job creates the Kafka topics it needs when they are missing ({@code kafka.create-topics}),
 * and with how many partitions and replicas ({@code kafka.topic-partitions}, {@code
 * kafka.topic-replication-factor}; -1: the broker's {@code num.partitions} or {@code
 * default.replication.factor}).
 */
public record TopicCreation(boolean enabled, int partitions, int replicationFactor) implements java.io.Serializable {
    public TopicCreation {
        if (partitions == 0 || partitions < -1) {
            throw new IllegalArgumentException("kafka.topic-partitions must be at least 1, or -1 for the broker's default, got "
                    + partitions);
        }
        if (replicationFactor == 0 || replicationFactor < -1 || replicationFactor > Short.MAX_VALUE) {
            throw new IllegalArgumentException("kafka.topic-replication-factor must be at least 1, or -1 for the broker's "
                    + "default, got " + replicationFactor);
        }
    }
}
