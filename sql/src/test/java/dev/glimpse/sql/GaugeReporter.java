package dev.glimpse.sql;

import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.Gauge;
import org.apache.flink.metrics.Histogram;
import org.apache.flink.metrics.Metric;
import org.apache.flink.metrics.MetricConfig;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.metrics.reporter.MetricReporter;
import org.apache.flink.metrics.reporter.MetricReporterFactory;

/** A metric reporter of the test JVM's MiniCluster that keeps every gauge, by name, for the test to read. */
public final class GaugeReporter implements MetricReporter, MetricReporterFactory {
    static final Map<String, Gauge<?>> GAUGES = new ConcurrentHashMap<>();
    static final Map<String, Histogram> HISTOGRAMS = new ConcurrentHashMap<>();
    static final Map<String, Counter> COUNTERS = new ConcurrentHashMap<>();

    @Override
    public MetricReporter createMetricReporter(Properties properties) {
        return this;
    }

    @Override
    public void open(MetricConfig config) {}

    @Override
    public void close() {}

    @Override
    public void notifyOfAddedMetric(Metric metric, String name, MetricGroup group) {
        if (metric instanceof Gauge<?> g) {
            GAUGES.put(name, g);
        } else if (metric instanceof Histogram h) {
            HISTOGRAMS.put(name, h);
        } else if (metric instanceof Counter c) {
            COUNTERS.put(name, c);
        }
    }

    @Override
    public void notifyOfRemovedMetric(Metric metric, String name, MetricGroup group) {}
}
