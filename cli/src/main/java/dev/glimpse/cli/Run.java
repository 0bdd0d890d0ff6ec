package dev.glimpse.cli;

import dev.glimpse.job.Checkpoints;
import dev.glimpse.job.GlimpseConfig;
import dev.glimpse.job.GlimpseJob;
import dev.glimpse.job.GlimpseOptions;
import dev.glimpse.job.RunArguments;
import dev.glimpse.job.StartupBanner;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.core.execution.SavepointFormatType;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code glimpse run}: the streaming job against an existing Kafka on a local Flink cluster, until
 * stopped. On a real cluster {@link dev.glimpse.job.GlimpseJob} takes the same options.
 */
@Command(name = "run", mixinStandardHelpOptions = true,
        description = "Run the streaming job against an existing Kafka, on a local Flink cluster (or, "
                + "through 'flink run', on a real one). Runs until stopped.")
public final class Run implements Callable<Integer> {
    @Mixin JobOptions job;
    @Option(names = "--bootstrap", description = "Kafka bootstrap servers (kafka.bootstrap-servers).") String bootstrap;
    @Option(names = "--images-topic") String imagesTopic;
    @Option(names = "--captions-topic") String captionsTopic;
    @Option(names = "--dead-letter-topic") String deadLetterTopic;
    @Option(names = "--checkpoint-dir", description = "Durable checkpoint directory (checkpoint.dir).") String checkpointDir;
    @Option(names = "--resume", description = "Continue from the latest retained checkpoint in the checkpoint directory.")
    boolean resume;
    @Option(names = "--from-savepoint", description = "Start from this savepoint or retained checkpoint.") String fromSavepoint;
    @Option(names = "--rest-port", defaultValue = "8081", description = "REST/web UI port of the local cluster.") int restPort;
    @Option(names = "--prometheus-port", defaultValue = "0", description = "Serve the local cluster's metrics "
            + "for Prometheus on this port, all interfaces (0: none; a cluster takes its own config.yaml).")
    int prometheusPort;

    /** Ctrl-C (SIGINT/SIGTERM) stops the job with a savepoint before the process exits. */
    private static void stopWithSavepointOnCtrlC(JobClient client, GlimpseConfig c,
                                                 AtomicBoolean ended) {
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            if (ended.get()) {
                return;
            }
            try {
                String path = client.stopWithSavepoint(false,
                        GlimpseJob.toUri(c.get(GlimpseOptions.CHECKPOINT_DIR)) + "/savepoints",
                        SavepointFormatType.CANONICAL).get(2, TimeUnit.MINUTES);
                System.err.println("stopped with savepoint " + path + "\ncontinue with: bin/glimpse run ... --from-savepoint " + path);
            } catch (Exception e) {
                System.err.println("could not stop with a savepoint (" + e + "); resume from the latest checkpoint with --resume");
            }
        }, "glimpse-stop-with-savepoint"));
    }

    @Override
    public Integer call() throws Exception {
        RunArguments run = new RunArguments(job.arguments(), bootstrap, imagesTopic, captionsTopic, deadLetterTopic,
                checkpointDir, resume, fromSavepoint);
        GlimpseConfig c = run.load();
        Configuration flink = run.flinkConfiguration(c, System.err);
        // A local cluster of our own, with the web UI and REST API (glimpse stop talks to it). On a real
        // cluster, flink run calls GlimpseJob with the same options.
        LocalCluster local = new LocalCluster(restPort, prometheusPort);
        StreamExecutionEnvironment env = local.environment(flink);
        StartupBanner.print(System.err, "Glimpse run", c, local.endpoints());
        if (FlinkFileSystems.neededFor(c)) {
            // envelopes' s3:// URIs are read through the plugins, as on a cluster (which sets them up itself)
            System.err.println("file systems " + FlinkFileSystems.initialize(c).describe());
        }
        GlimpseJob.addTo(env, c);
        JobClient client = env.executeAsync("glimpse");
        AtomicBoolean ended = new AtomicBoolean();
        long started = System.currentTimeMillis();
        System.err.println("job " + client.getJobID() + " running; web UI and REST API on " + local.webUi()
                + (local.metrics() != null ? "; metrics on " + local.metrics() : "")
                + "; Ctrl-C or 'bin/glimpse stop' stops it with a savepoint");
        stopWithSavepointOnCtrlC(client, c, ended);
        client.getJobExecutionResult().get();
        ended.set(true);
        Checkpoints.newestSavepoint(Path.of(c.get(GlimpseOptions.CHECKPOINT_DIR)), started).ifPresent(sp ->
                System.err.println("stopped with savepoint " + sp + "\ncontinue with: bin/glimpse run ... --from-savepoint " + sp));
        return 0;
    }
}
