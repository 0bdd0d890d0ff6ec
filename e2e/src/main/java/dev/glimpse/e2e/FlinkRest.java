package dev.glimpse.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/** The few calls of Flink's REST API the cluster test makes (JDK HTTP client, Jackson). */
final class FlinkRest {
    /** A non-2xx answer. */
    static final class RestException extends IOException {
        final int status;
        /** The answer's text: Flink's {"errors": [...]} with stack traces. */
        final String body;

        RestException(String message, int status, String body) {
            super(message);
            this.status = status;
            this.body = body;
        }

        /** The innermost "Caused by:" of Flink's error answer, else the first line of its first error. */
        String rootCause() {
            return FlinkRest.rootCause(body);
        }
    }

    final String base;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private final ObjectMapper json = new ObjectMapper();

    FlinkRest(String base) {
        this.base = base;
    }

    JsonNode get(String path) throws IOException, InterruptedException {
        return send(HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(30)).GET().build());
    }

    /** GET /overview: TaskManagers, slots, jobs. */
    JsonNode overview() throws IOException, InterruptedException {
        return get("/overview");
    }

    /** POST /jars/upload (multipart, field "jarfile"); the id of the uploaded jar. */
    String uploadJar(Path jar) throws IOException, InterruptedException {
        String boundary = "----glimpse" + UUID.randomUUID();
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        body.write(("--" + boundary + "\r\n"
                + "Content-Disposition: form-data; name=\"jarfile\"; filename=\"" + jar.getFileName() + "\"\r\n"
                + "Content-Type: application/x-java-archive\r\n\r\n").getBytes(StandardCharsets.UTF_8));
        body.write(Files.readAllBytes(jar));
        body.write(("\r\n--" + boundary + "--\r\n").getBytes(StandardCharsets.UTF_8));
        JsonNode r = send(HttpRequest.newBuilder(URI.create(base + "/jars/upload"))
                .timeout(Duration.ofMinutes(2))
                .header("Content-Type", "multipart/form-data; boundary=" + boundary)
                .POST(HttpRequest.BodyPublishers.ofByteArray(body.toByteArray())).build());
        String file = r.path("filename").asText();
        if (file.isEmpty()) {
            throw new IOException("jar upload answered " + r);
        }
        return Path.of(file).getFileName().toString();
    }

    /**
     * POST /jars/&lt;id&gt;/run: runs the jar's main() in the JobManager, which submits the job;
     * {@code savepointPath} (a savepoint or retained checkpoint) may be null. The job id.
     */
    String runJar(String jarId, String entryClass, List<String> programArgs, String savepointPath)
            throws IOException, InterruptedException {
        ObjectNode body = json.createObjectNode();
        body.put("entryClass", entryClass);
        body.putArray("programArgsList").addAll(programArgs.stream().map(json.getNodeFactory()::textNode).toList());
        if (savepointPath != null) {
            body.put("savepointPath", savepointPath);
            body.put("allowNonRestoredState", false);
        }
        JsonNode r = send(HttpRequest.newBuilder(URI.create(base + "/jars/" + jarId + "/run"))
                .timeout(Duration.ofMinutes(5))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body.toString())).build());
        return r.path("jobid").asText();
    }

    /** The ids of all jobs the cluster knows (any state). */
    List<String> jobIds() throws IOException, InterruptedException {
        List<String> ids = new ArrayList<>();
        for (JsonNode j : get("/jobs/overview").path("jobs")) {
            ids.add(j.path("jid").asText());
        }
        return ids;
    }

    JsonNode job(String id) throws IOException, InterruptedException {
        return get("/jobs/" + id);
    }

    /** PATCH /jobs/&lt;id&gt;?mode=cancel. */
    void cancel(String id) throws IOException, InterruptedException {
        send(HttpRequest.newBuilder(URI.create(base + "/jobs/" + id + "?mode=cancel"))
                .timeout(Duration.ofSeconds(30))
                .method("PATCH", HttpRequest.BodyPublishers.noBody()).build());
    }

    /** The TaskManager ids that run at least one RUNNING subtask of the job. */
    List<String> taskManagersOf(String jobId) throws IOException, InterruptedException {
        List<String> tms = new ArrayList<>();
        for (JsonNode v : job(jobId).path("vertices")) {
            JsonNode info = get("/jobs/" + jobId + "/vertices/" + v.path("id").asText() + "/taskmanagers");
            for (JsonNode tm : info.path("taskmanagers")) {
                String id = tm.path("taskmanager-id").asText();
                if (tm.path("status-counts").path("RUNNING").asInt() > 0 && !tms.contains(id)) {
                    tms.add(id);
                }
            }
        }
        return tms;
    }

    /** Whether the job and every one of its subtasks are RUNNING. */
    boolean allRunning(String jobId) throws IOException, InterruptedException {
        JsonNode j = job(jobId);
        if (!"RUNNING".equals(j.path("state").asText()) || j.path("vertices").isEmpty()) {
            return false;
        }
        for (JsonNode v : j.path("vertices")) {
            if (v.path("tasks").path("RUNNING").asInt() != v.path("parallelism").asInt()) {
                return false;
            }
        }
        return true;
    }

    /** The external path of the job's latest completed checkpoint, or null. */
    String latestCheckpoint(String jobId) throws IOException, InterruptedException {
        JsonNode latest = get("/jobs/" + jobId + "/checkpoints").path("latest").path("completed");
        return latest.isMissingNode() || latest.isNull() ? null : latest.path("external_path").asText(null);
    }

    long completedCheckpoints(String jobId) throws IOException, InterruptedException {
        return get("/jobs/" + jobId + "/checkpoints").path("counts").path("completed").asLong();
    }

    /** The first line of each entry of the job's exception history since {@code sinceMillis}, newest first. */
    List<String> exceptionHistory(String jobId, long sinceMillis) throws IOException, InterruptedException {
        List<String> out = new ArrayList<>();
        for (JsonNode e : get("/jobs/" + jobId + "/exceptions").path("exceptionHistory").path("entries")) {
            if (e.path("timestamp").asLong() < sinceMillis) {
                continue;
            }
            String trace = e.path("stacktrace").asText("");
            String first = trace.lines().findFirst().orElse(e.path("exceptionName").asText());
            out.add(first + (e.path("taskManagerId").isTextual() ? " [" + e.path("taskManagerId").asText() + "]" : ""));
        }
        return out;
    }

    private JsonNode send(HttpRequest request) throws IOException, InterruptedException {
        HttpResponse<String> r = http.send(request, HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() / 100 != 2) {
            throw new RestException(request.method() + " " + request.uri().getPath() + " answered HTTP " + r.statusCode()
                    + ": " + abbreviate(r.body()), r.statusCode(), r.body());
        }
        return r.body().isBlank() ? json.createObjectNode() : json.readTree(r.body());
    }

    /** The innermost "Caused by:" of a Flink error answer ({"errors": ["trace", ...]}), else its first line. */
    static String rootCause(String body) {
        List<String> errors = new ArrayList<>();
        try {
            for (JsonNode e : new ObjectMapper().readTree(body).path("errors")) {
                errors.add(e.asText());
            }
        } catch (IOException | RuntimeException notJson) {
            errors.add(body);
        }
        String last = null;
        for (String e : errors) {
            for (String line : e.split("\\R")) {
                if (line.trim().startsWith("Caused by: ")) {
                    last = line.trim().substring("Caused by: ".length());
                }
            }
        }
        if (last != null) {
            return last;
        }
        return errors.isEmpty() ? body : errors.get(0).lines().findFirst().orElse("");
    }

    static String abbreviate(String s) {
        String one = s.replaceAll("\\\\n\\s*", " | ").replaceAll("\\s+", " ");
        return one.length() > 600 ? one.substring(0, 600) + "..." : one;
    }
}
