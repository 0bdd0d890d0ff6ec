package dev.glimpse.operators;

import java.util.Objects;

/** Where a record came from on the images topic; part of every output, and the fallback id. */
public class SourceRef {
    public String topic;
    public int partition;
    public long offset;
    public long timestamp;

    public SourceRef() {}

    public SourceRef(String topic, int partition, long offset, long timestamp) {
        this.topic = topic;
        this.partition = partition;
        this.offset = offset;
        this.timestamp = timestamp;
    }

    /** {@code topic-partition-offset}: stable when the same record is read again. */
    public String coordinates() {
        return topic + "-" + partition + "-" + offset;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof SourceRef s && Objects.equals(topic, s.topic) && partition == s.partition
                && offset == s.offset && timestamp == s.timestamp;
    }

    @Override
    public int hashCode() {
        return Objects.hash(topic, partition, offset, timestamp);
    }

    @Override
    public String toString() {
        return coordinates();
    }
}
