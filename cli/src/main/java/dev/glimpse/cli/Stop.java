package dev.glimpse.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.glimpse.job.Checkpoints;
import dev.glimpse.job.GlimpseJob;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code glimpse stop}: stops a running Glimpse job with a savepoint through Flink's REST API (the
 * local cluster of {@code glimpse run}, or any Flink cluster), and prints the savepoint's path.
 */
@Command(name = "stop", mixinStandardHelpOptions = true,
        description = "Stop the running job with a savepoint (Flink REST API); prints the savepoint path.")
final class Stop implements Callable<Integer> {
    @Option(names = "--rest", defaultValue = "http://localhost:8081", description = "Flink REST address.") String rest;
    @Option(names = "--job", defaultValue = "glimpse", description = "Job name or id.") String job;
    @Option(names = "--savepoint-dir", description = "Target directory (default: the cluster's execution.checkpointing.savepoint-dir).")
    String savepointDir;
    @Option(names = "--timeout", defaultValue = "PT5M") Duration timeout;

    private final ObjectMapper json = new ObjectMapper();
    private final HttpClient http = HttpClient.newHttpClient();

    @Override
    public Integer call() throws Exception {
        String id = findRunningJob();
        // Where the savepoint goes: asked now, while the cluster answers (a local one ends with its job).
        String target = savepointDir != null ? GlimpseJob.toUri(savepointDir) : clusterSavepointDir();
        long started = System.currentTimeMillis();
        String body = json.createObjectNode().put("drain", false)
                .put("targetDirectory", savepointDir == null ? null : GlimpseJob.toUri(savepointDir)).toString();
        JsonNode trigger = send(HttpRequest.newBuilder(URI.create(rest + "/jobs/" + id + "/stop"))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build());
        String request = trigger.path("request-id").asText();
        long deadline = System.currentTimeMillis() + timeout.toMillis();
        while (System.currentTimeMillis() < deadline) {
            JsonNode status;
            try {
                status = send(HttpRequest.newBuilder(URI.create(rest + "/jobs/" + id + "/savepoints/" + request)).GET().build());
            } catch (IllegalArgumentException gone) {
                // A local cluster of 'glimpse run' shuts down with its job, right after the savepoint.
                Optional<Path> savepoint = target != null && target.startsWith("file:")
                        ? Checkpoints.newestSavepointIn(Path.of(URI.create(target)), started) : Optional.empty();
                if (savepoint.isPresent()) {
                    printStopped(id, savepoint.get().toString());
                } else {
                    System.out.println("job " + id + " stopped with a savepoint and its local cluster shut down; "
                            + "'glimpse run' printed the savepoint path (it is the newest under <checkpoint.dir>/savepoints)");
                }
                return 0;
            }
            if (status.path("status").path("id").asText().equals("COMPLETED")) {
                JsonNode op = status.path("operation");
                if (op.has("failure-cause")) {
                    System.err.println("stop with savepoint failed: " + op.path("failure-cause").path("stack-trace").asText().lines().findFirst().orElse(""));
                    return 1;
                }
                printStopped(id, op.path("location").asText());
                return 0;
            }
            Thread.sleep(500);
        }
        System.err.println("savepoint of job " + id + " did not complete within " + timeout);
        return 1;
    }

    private static void printStopped(String id, String savepoint) {
        System.out.println("stopped job " + id + " with savepoint " + savepoint);
        System.out.println("continue with: bin/glimpse run ... --from-savepoint " + savepoint);
    }

    /** The cluster's {@code execution.checkpointing.savepoint-dir}, or null where it has none. */
    private String clusterSavepointDir() throws Exception {
        for (JsonNode entry : send(HttpRequest.newBuilder(URI.create(rest + "/jobmanager/config")).GET().build())) {
            if (entry.path("key").asText().equals("execution.checkpointing.savepoint-dir")) {
                return entry.path("value").asText();
            }
        }
        return null;
    }

    private String findRunningJob() throws Exception {
        JsonNode overview = send(HttpRequest.newBuilder(URI.create(rest + "/jobs/overview")).GET().build());
        for (JsonNode j : overview.path("jobs")) {
            if (j.path("state").asText().equals("RUNNING") && (j.path("jid").asText().equals(job) || j.path("name").asText().equals(job))) {
                return j.path("jid").asText();
            }
        }
        throw new IllegalArgumentException("no running job named or with id '" + job + "' at " + rest);
    }

    private JsonNode send(HttpRequest request) throws Exception {
        HttpResponse<String> r;
        try {
            r = http.send(request, HttpResponse.BodyHandlers.ofString());
        } catch (java.net.ConnectException e) {
            throw new IllegalArgumentException("no Flink REST API at " + rest + " (is the job running?)");
        }
        if (r.statusCode() / 100 != 2) {
            throw new IllegalStateException(request.method() + " " + request.uri() + " answered " + r.statusCode() + ": " + r.body());
        }
        return json.readTree(r.body());
    }
}
