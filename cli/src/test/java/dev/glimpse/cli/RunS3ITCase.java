package dev.glimpse.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.glimpse.job.KafkaPipelineHarness;
import dev.glimpse.kafka.EmbeddedKafka;
import dev.glimpse.model.scenes.SceneGenerator;
import dev.glimpse.model.scenes.SceneSample;
import dev.glimpse.s3.S3MockServer;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.core.fs.FileSystem;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * {@code glimpse run} (the streaming command, its own local cluster) reading the images that
 * envelopes name by {@code s3://} URI through Flink's S3 plugin, against a real S3 server on loopback:
 * the command sets up the plugins itself when an allowed prefix needs one, as a cluster does from its
 * {@code plugins/} folder.
 */
class RunS3ITCase {
    static final String BUCKET = "glimpse";

    @TempDir
    static Path work;
    static S3MockServer s3;
    static EmbeddedKafka kafka;

    @BeforeAll
    static void start() throws Exception {
        s3 = S3MockServer.start(work.resolve("s3mock"), Duration.ofMinutes(5), BUCKET);
        kafka = EmbeddedKafka.start(work.resolve("kafka"));
    }

    @AfterAll
    static void stop() throws Exception {
        FileSystem.initialize(new Configuration(), null); // this JVM's other tests get the default file systems back
        if (kafka != null) {
            kafka.close();
        }
        if (s3 != null) {
            s3.close();
        }
    }

    @Test
    void shouldCaptionEnvelopesNamingS3ObjectsUnderTheAllowedPrefixAndRefuseTheRest() throws Exception {
        SceneGenerator scenes = new SceneGenerator(301);
        Map<String, String> truth = new LinkedHashMap<>();
        Map<String, String> uris = new LinkedHashMap<>();
        try (S3Client client = s3.client()) {
            for (int i = 0; i < 3; i++) {
                SceneSample s = scenes.sample(i);
                S3MockServer.put(client, BUCKET, "photos/2026/" + s.fileName(), s.encoded());
                truth.put("photo-" + i, s.caption());
                uris.put("photo-" + i, "s3://" + BUCKET + "/photos/2026/" + s.fileName());
            }
            S3MockServer.put(client, BUCKET, "private/secret.png", scenes.sample(3).encoded());
        }
        Map<String, String> refused = new LinkedHashMap<>();
        uris.put("outside", "s3://" + BUCKET + "/private/secret.png");
        refused.put("outside", "URI_NOT_ALLOWED");
        uris.put("missing", "s3://" + BUCKET + "/photos/2026/missing.png");
        refused.put("missing", "URI_FETCH_FAILED");

        String prefix = "s3run";
        kafka.createTopic(prefix + "-images", 2);
        int restPort;
        try (ServerSocket socket = new ServerSocket(0)) {
            restPort = socket.getLocalPort();
        }
        List<String> args = new ArrayList<>(List.of("run", "--model", ReprocessRuns.MODEL.toString(),
                "--bootstrap", kafka.bootstrapServers(), "--images-topic", prefix + "-images",
                "--captions-topic", prefix + "-captions", "--dead-letter-topic", prefix + "-dlq",
                "--checkpoint-dir", work.resolve("checkpoints").toString(), "--rest-port", String.valueOf(restPort),
                "--set", "checkpoint.interval=1s", "--set", "kafka.group-id=" + prefix,
                "--set", "kafka.transactional-id-prefix=" + prefix, "--set", "kafka.create-topics=true",
                "--set", "decoder.allowed-uris=s3://" + BUCKET + "/photos/"));
        args.addAll(s3.flinkOptions());
        CompletableFuture<Integer> run = CompletableFuture.supplyAsync(
                () -> Cli.commandLine().execute(args.toArray(String[]::new)));

        List<KafkaPipelineHarness.Output> out;
        try {
            try (KafkaProducer<byte[], byte[]> p = KafkaPipelineHarness.producer(kafka.bootstrapServers())) {
                uris.forEach((id, uri) -> KafkaPipelineHarness.send(p, prefix + "-images", null,
                        ("{\"id\":\"" + id + "\",\"uri\":\"" + uri + "\"}").getBytes()));
            }
            out = KafkaPipelineHarness.readCommitted(kafka.bootstrapServers(), List.of(prefix + "-captions", prefix + "-dlq"),
                    uris.size(), Duration.ofMinutes(4));
        } finally {
            ByteArrayOutputStream stopOut = new ByteArrayOutputStream();
            PrintStream stdout = System.out;
            System.setOut(new PrintStream(stopOut, true, StandardCharsets.UTF_8));
            int stopped;
            try {
                stopped = run.isDone() ? -1 : new CommandLine(new Stop()).execute("--rest", "http://127.0.0.1:" + restPort);
            } finally {
                System.setOut(stdout);
            }
            assertThat(stopped).as("glimpse stop (-1: run had already ended with %s)", run.getNow(null)).isZero();
            // The next command needs the savepoint: stop names it even when run's local cluster ended with the job.
            String said = stopOut.toString(StandardCharsets.UTF_8);
            assertThat(said).as(said).contains("with savepoint ").contains("continue with: bin/glimpse run ... --from-savepoint ");
            String savepoint = said.lines().filter(l -> l.startsWith("stopped job ")).findFirst().orElseThrow()
                    .replaceFirst(".* with savepoint ", "").replaceFirst("^file:", "");
            assertThat(Path.of(savepoint).resolve("_metadata")).as(said).isRegularFile();
        }
        assertThat(run.get(2, TimeUnit.MINUTES)).as("glimpse run's exit code after glimpse stop").isZero();

        Map<String, KafkaPipelineHarness.Output> byId = out.stream()
                .collect(Collectors.toMap(KafkaPipelineHarness.Output::id, Function.identity()));
        assertThat(out).as("one outcome per envelope").hasSize(uris.size());
        truth.forEach((id, caption) -> {
            assertThat(byId.get(id).topic()).as(id).isEqualTo(prefix + "-captions");
            assertThat(byId.get(id).json().path("caption").asText()).as(id).isEqualTo(caption);
            assertThat(byId.get(id).json().path("source").path("topic").asText()).as(id).isEqualTo(prefix + "-images");
        });
        refused.forEach((id, code) -> {
            assertThat(byId.get(id).topic()).as(id).isEqualTo(prefix + "-dlq");
            assertThat(byId.get(id).json().path("error").path("code").asText()).as(id).isEqualTo(code);
        });
        assertThat(byId.get("outside").json().toString()).as("nothing of the object outside the prefix")
                .doesNotContain(S3MockServer.SECRET_KEY, S3MockServer.ACCESS_KEY);
    }
}
