package dev.glimpse.operators;

import java.util.Objects;

/**
 * Where a record came from; part of every output, and the fallback id. A record of the images
 * topic has a topic, partition and offset; one read by a bounded source has the {@code uri} of its
 * file (offset -1) or of the manifest that listed it (offset = the line's index, from 0).
 */
public class SourceRef {
    public String topic;
    public int partition;
    public long offset;
    public long timestamp;
    /** The file or manifest of a bounded source; null for Kafka records. */
    public String uri;

    public SourceRef() {}

    public SourceRef(String topic, int partition, long offset, long timestamp) {
        this.topic = topic;
        this.partition = partition;
        this.offset = offset;
        this.timestamp = timestamp;
    }

    /** A file ({@code offset} -1) or a manifest line ({@code offset} = its index) of a bounded source. */
    public static SourceRef ofUri(String uri, long offset, long timestamp) {
        SourceRef s = new SourceRef(null, -1, offset, timestamp);
        s.uri = uri;
        return s;
    }

    /**
     * {@code topic-partition-offset}, or the file's URI, or {@code manifest-uri#line=N} (RFC 5147's
     * fragment): stable when the same record is read again.
     */
    public String coordinates() {
        if (uri == null) {
            return topic + "-" + partition + "-" + offset;
        }
        return offset < 0 ? uri : uri + "#line=" + offset;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof SourceRef s && Objects.equals(topic, s.topic) && partition == s.partition
                && offset == s.offset && timestamp == s.timestamp && Objects.equals(uri, s.uri);
    }

    @Override
    public int hashCode() {
        return Objects.hash(topic, partition, offset, timestamp, uri);
    }

    @Override
    public String toString() {
        return coordinates();
    }
}
