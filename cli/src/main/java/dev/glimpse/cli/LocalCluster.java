package dev.glimpse.cli;

import dev.glimpse.job.StartupBanner;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.ConfigOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.RestOptions;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;

/**
 * The local Flink cluster of {@code demo}, {@code run} and {@code reprocess}: the web UI and REST
 * API on a port, and, when asked for, Flink's Prometheus reporter. The reporter's HTTP server binds
 * every interface (Flink offers no bind address for it); its endpoint lives as long as the job.
 */
public final class LocalCluster {
    /** Flink's reporter name in {@code metrics.reporter.<name>.*}, the same as the cluster's config. */
    static final String REPORTER = "prom";
    static final String PROMETHEUS_FACTORY = "org.apache.flink.metrics.prometheus.PrometheusReporterFactory";

    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private final int restPort;
    private final int prometheusPort;

    /** {@code restPort} 0: any free port; {@code prometheusPort} 0: no Prometheus endpoint. */
    public LocalCluster(int restPort, int prometheusPort) {
        if (restPort < 0 || prometheusPort < 0) {
            throw new IllegalArgumentException("--rest-port and --prometheus-port must be 0 or a port number");
        }
        this.restPort = restPort > 0 ? restPort : freePort();
        this.prometheusPort = prometheusPort;
    }

    /** A local environment with the web UI on {@link #restPort()} and, if asked, Prometheus; {@code flink} is updated. */
    public StreamExecutionEnvironment environment(Configuration flink) {
        flink.set(RestOptions.PORT, restPort);
        if (prometheusPort > 0) {
            flink.set(reporterOption("factory.class"), PROMETHEUS_FACTORY);
            flink.set(reporterOption("port"), String.valueOf(prometheusPort));
        }
        return StreamExecutionEnvironment.createLocalEnvironmentWithWebUI(flink);
    }

    private static ConfigOption<String> reporterOption(String key) {
        return ConfigOptions.key("metrics.reporter." + REPORTER + "." + key).stringType().noDefaultValue();
    }

    public int restPort() {
        return restPort;
    }

    public String webUi() {
        return "http://localhost:" + restPort;
    }

    /**
     * Asks the cluster's REST API for a checkpoint of {@code job} now (Flink's manual trigger, {@code
     * POST /jobs/:jobid/checkpoints}) and returns without waiting for it; false when the request failed.
     */
    public boolean triggerCheckpoint(String jobId) {
        HttpRequest request = HttpRequest.newBuilder(URI.create(webUi() + "/jobs/" + jobId + "/checkpoints"))
                .header("Content-Type", "application/json").timeout(Duration.ofSeconds(10))
                .POST(HttpRequest.BodyPublishers.ofString("{}")).build();
        try {
            return HTTP.send(request, HttpResponse.BodyHandlers.discarding()).statusCode() / 100 == 2;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    /** The metrics address, or null without Prometheus. */
    public String metrics() {
        return prometheusPort > 0 ? "http://localhost:" + prometheusPort + "/metrics (bound on all interfaces)" : null;
    }

    /** Its addresses, for the start-up banner. */
    public StartupBanner.Endpoints endpoints() {
        return new StartupBanner.Endpoints(webUi(), metrics());
    }

    /** A port free on loopback now (another process may take it before it is bound again). */
    public static int freePort() {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
