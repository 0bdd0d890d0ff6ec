package dev.glimpse.connectors;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.KafkaFuture;
import org.apache.kafka.common.errors.TopicAuthorizationException;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The topics a job needs on one Kafka cluster, checked before the job is submitted: without the check
 * a missing source topic made the job fail over again and again ({@code UnknownTopicOrPartitionException
 * ... Triggering job failover}) until something created it. {@code read}: topics a bounded run reads,
 * never created (an empty new topic would make a run with nothing to do). {@code used}: topics that are
 * created when missing where {@code creation} allows it; otherwise a missing one stops the start with a
 * message naming it, the broker and the fix.
 */
public record KafkaTopics(List<String> read, List<String> used, TopicCreation creation) {
    private static final Logger LOG = LoggerFactory.getLogger(KafkaTopics.class);

    public KafkaTopics {
        read = List.copyOf(read);
        used = List.copyOf(used);
    }

    /** Topics the job reads and writes, each created when missing if {@code creation} allows it. */
    public static KafkaTopics used(List<String> topics, TopicCreation creation) {
        return new KafkaTopics(List.of(), topics, creation);
    }

    /** The topics of both on one cluster, with this one's {@code creation}. */
    public KafkaTopics and(KafkaTopics other) {
        List<String> allRead = new ArrayList<>(read);
        allRead.addAll(other.read);
        List<String> allUsed = new ArrayList<>(used);
        allUsed.addAll(other.used);
        return new KafkaTopics(allRead, allUsed, creation);
    }

    /**
     * Checks every topic with {@code admin} (at {@code bootstrap}) and creates the missing ones it may.
     * Throws {@link IllegalArgumentException} for a topic that is missing and may not be created, or
     * that the job's credentials may not see.
     */
    public void ensure(Admin admin, String bootstrap, long timeoutMs)
            throws ExecutionException, InterruptedException, TimeoutException {
        List<String> all = new ArrayList<>(read);
        used.stream().filter(t -> !all.contains(t)).forEach(all::add);
        List<String> missing = missing(admin, bootstrap, all, timeoutMs);
        List<String> missingRead = missing.stream().filter(read::contains).toList();
        if (!missingRead.isEmpty()) {
            throw new IllegalArgumentException(topics(missingRead) + " to read " + (missingRead.size() == 1 ? "does" : "do")
                    + " not exist on the Kafka cluster at " + bootstrap + ": nothing to read; check the name");
        }
        if (missing.isEmpty()) {
            return;
        }
        if (!creation.enabled()) {
            throw new IllegalArgumentException(topics(missing) + (missing.size() == 1 ? " does" : " do")
                    + " not exist on the Kafka cluster at " + bootstrap + ". Create " + (missing.size() == 1 ? "it" : "them")
                    + " (kafka-topics.sh --bootstrap-server " + bootstrap + " --create --topic " + missing.get(0)
                    + (creation.partitions() > 0 ? " --partitions " + creation.partitions() : "")
                    + (missing.size() == 1 ? "" : ", and so on")
                    + "), or let the job create missing topics: kafka.create-topics: true in the configuration "
                    + "(--set kafka.create-topics=true; partitions and replicas from kafka.topic-partitions and "
                    + "kafka.topic-replication-factor)");
        }
        List<NewTopic> create = missing.stream().map(t -> new NewTopic(t, partitions(), replicas())).toList();
        Map<String, KafkaFuture<Void>> results = admin.createTopics(create).values();
        for (String t : missing) {
            try {
                results.get(t).get(timeoutMs, TimeUnit.MILLISECONDS);
            } catch (ExecutionException e) {
                // Another client (a second job, a topic creator) made it in between: what we wanted.
                if (!(e.getCause() instanceof TopicExistsException)) {
                    throw new IllegalArgumentException("could not create Kafka topic '" + t + "' on the Kafka cluster at "
                            + bootstrap + " (kafka.create-topics: true): " + e.getCause().getMessage(), e.getCause());
                }
            }
        }
        LOG.info("created {} on {} (partitions {}, replication factor {})", topics(missing), bootstrap,
                creation.partitions() < 0 ? "the broker's default" : creation.partitions(),
                creation.replicationFactor() < 0 ? "the broker's default" : creation.replicationFactor());
    }

    /** The topics of {@code names} the cluster does not have. */
    private static List<String> missing(Admin admin, String bootstrap, List<String> names, long timeoutMs)
            throws ExecutionException, InterruptedException, TimeoutException {
        Map<String, KafkaFuture<TopicDescription>> described = admin.describeTopics(names).topicNameValues();
        List<String> missing = new ArrayList<>();
        for (String t : names) {
            try {
                described.get(t).get(timeoutMs, TimeUnit.MILLISECONDS);
            } catch (ExecutionException e) {
                if (e.getCause() instanceof UnknownTopicOrPartitionException) {
                    missing.add(t);
                } else if (e.getCause() instanceof TopicAuthorizationException) {
                    throw new IllegalArgumentException("the Kafka cluster at " + bootstrap + " does not let the job see topic '"
                            + t + "' (not authorized to describe it); grant the job's principal access to it", e.getCause());
                } else {
                    throw e;
                }
            }
        }
        return missing;
    }

    private Optional<Integer> partitions() {
        return creation.partitions() < 0 ? Optional.empty() : Optional.of(creation.partitions());
    }

    private Optional<Short> replicas() {
        return creation.replicationFactor() < 0 ? Optional.empty() : Optional.of((short) creation.replicationFactor());
    }

    private static String topics(List<String> names) {
        return (names.size() == 1 ? "Kafka topic '" : "Kafka topics '") + String.join("', '", names) + "'";
    }
}
