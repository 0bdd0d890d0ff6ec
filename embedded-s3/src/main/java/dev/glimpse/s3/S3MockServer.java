package dev.glimpse.s3;

import java.io.File;
import java.io.IOException;
import java.net.HttpURLConnection;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.PutObjectRequest;

/**
 * Adobe's S3Mock, a real S3 server, as a child JVM from its executable jar (this module's runtime
 * dependency, found on the class path). Its plain-HTTP port binds every interface (S3Mock has no bind
 * address for it): only loopback traffic is sent to it, and it lives as long as its user: a test
 * class of the command line, or the S3 bench of {@code bench-reprocess --s3}.
 */
public final class S3MockServer implements AutoCloseable {
    public static final String REGION = "us-east-1";
    /** S3Mock checks no signature; the keys still travel as a real client signs with them. */
    public static final String ACCESS_KEY = "glimpse-test-access";
    public static final String SECRET_KEY = "glimpse-test-secret-9f3b7c";

    private final Process process;
    private final Path log;
    private final String endpoint;

    private S3MockServer(Process process, Path log, String endpoint) {
        this.process = process;
        this.log = log;
        this.endpoint = endpoint;
    }

    /** Starts it with {@code buckets} created, its objects under {@code dir}; waits until it answers. */
    public static S3MockServer start(Path dir, Duration timeout, String... buckets) throws IOException, InterruptedException {
        return start(dir, timeout, false, buckets);
    }

    /**
     * As {@link #start(Path, Duration, String...)}; {@code retain}: the objects stay in {@code dir} when
     * it stops, and the next server started on {@code dir} serves them again.
     */
    public static S3MockServer start(Path dir, Duration timeout, boolean retain, String... buckets)
            throws IOException, InterruptedException {
        int port = freePort();
        Path log = dir.resolve("s3mock.log");
        Files.createDirectories(dir);
        // S3Mock keeps every object's metadata in its heap: 52,000 objects under 384 MB had listings of
        // 1,000 keys run past the client's 30 s read timeout.
        List<String> command = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx1g", "-XX:+UseSerialGC", "-jar", jar().toString(),
                "--server.port=0", "--server.address=127.0.0.1",
                "--com.adobe.testing.s3mock.httpPort=" + port,
                "--com.adobe.testing.s3mock.store.root=" + dir.resolve("store"),
                "--com.adobe.testing.s3mock.store.initialBuckets=" + String.join(",", buckets),
                "--com.adobe.testing.s3mock.store.retainFilesOnExit=" + retain,
                "--spring.main.banner-mode=off");
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().put("AWS_EC2_METADATA_DISABLED", "true");
        S3MockServer server = new S3MockServer(pb.start(), log, "http://127.0.0.1:" + port);
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!server.answers()) {
            if (!server.process.isAlive() || System.nanoTime() > deadline) {
                server.close();
                throw new IllegalStateException("S3Mock did not start within " + timeout + ":\n" + server.logTail());
            }
            Thread.sleep(250);
        }
        return server;
    }

    /** A port free on the loopback interface now. */
    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    /** The executable jar on the class path. */
    private static Path jar() {
        return Arrays.stream(System.getProperty("java.class.path").split(File.pathSeparator))
                .filter(e -> e.contains("s3mock") && e.endsWith("-exec.jar")).map(Path::of).findFirst()
                .orElseThrow(() -> new IllegalStateException("com.adobe.testing:s3mock:exec is not on the class path"));
    }

    private boolean answers() {
        try {
            HttpURLConnection c = (HttpURLConnection) URI.create(endpoint + "/").toURL().openConnection();
            c.setConnectTimeout(1000);
            c.setReadTimeout(2000);
            try {
                return c.getResponseCode() == 200;
            } finally {
                c.disconnect();
            }
        } catch (IOException e) {
            return false;
        }
    }

    /** The server's address, {@code http://127.0.0.1:<port>}. */
    public String endpoint() {
        return endpoint;
    }

    /** A client of the server: path-style addressing, the test's keys. */
    public S3Client client() {
        return S3Client.builder()
                .endpointOverride(URI.create(endpoint))
                .region(Region.of(REGION))
                .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create(ACCESS_KEY, SECRET_KEY)))
                .forcePathStyle(true)
                .httpClient(UrlConnectionHttpClient.create())
                .build();
    }

    public static void put(S3Client s3, String bucket, String key, byte[] bytes) {
        s3.putObject(PutObjectRequest.builder().bucket(bucket).key(key).build(), RequestBody.fromBytes(bytes));
    }

    /**
     * {@code bytes} under each of {@code keys}, on {@code threads} connections at once (S3Mock stores
     * an object in a few milliseconds: tens of thousands take minutes one at a time).
     */
    public static void putAll(S3Client s3, String bucket, List<String> keys, byte[] bytes, int threads) throws InterruptedException {
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            List<Future<?>> puts = new ArrayList<>(keys.size());
            for (String key : keys) {
                puts.add(pool.submit(() -> put(s3, bucket, key, bytes)));
            }
            for (Future<?> f : puts) {
                f.get();
            }
        } catch (ExecutionException e) {
            throw new IllegalStateException("an upload to S3Mock failed", e.getCause());
        } finally {
            pool.shutdownNow();
        }
    }

    /** Flink's S3 options that point its S3 file system (and Glimpse's S3 listing) at this server. */
    public Map<String, String> options() {
        Map<String, String> o = new LinkedHashMap<>();
        o.put("s3.endpoint", endpoint);
        o.put("s3.endpoint.region", REGION);
        o.put("s3.path.style.access", "true");
        o.put("s3.access-key", ACCESS_KEY);
        o.put("s3.secret-key", SECRET_KEY);
        return o;
    }

    /** The {@code --set} options that point Flink's S3 file system at this server. */
    public List<String> flinkOptions() {
        List<String> args = new ArrayList<>();
        options().forEach((k, v) -> args.addAll(List.of("--set", k + "=" + v)));
        return args;
    }

    public String logTail() {
        try {
            List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
            return String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size()));
        } catch (IOException e) {
            return "(no log: " + e.getMessage() + ")";
        }
    }

    @Override
    public void close() throws InterruptedException {
        process.destroy();
        if (!process.waitFor(20, TimeUnit.SECONDS)) {
            process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
    }
}
