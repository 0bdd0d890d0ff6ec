package dev.glimpse.operators;

import static org.assertj.core.api.Assertions.assertThat;

import java.awt.Color;
import java.io.IOException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.flink.streaming.api.operators.ProcessOperator;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.OneInputStreamOperatorTestHarness;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A producer of the images topic is not trusted: the uris it names are fetched only under the
 * allowed prefixes, never from non-public addresses unless allowed, and nothing fetched comes back
 * in a dead letter. Each case asserts its outcome code and that a loopback HTTP server, which would
 * answer with a decodable image, got no request where none is allowed.
 */
class UriSafetyHarnessTest {
    @TempDir
    Path dir;
    Path allowed;
    Path outside;
    CountingHttpServer loopback;
    byte[] image;

    @BeforeEach
    void setUp() throws Exception {
        image = ImageDecoderHarnessTest.png(Color.GREEN);
        allowed = Files.createDirectories(dir.resolve("img"));
        // A sibling whose name starts with the allowed folder's: prefixes match whole segments.
        outside = Files.createDirectories(dir.resolve("img-secret"));
        Files.write(allowed.resolve("a.png"), image);
        Files.write(outside.resolve("secret.png"), image);
        loopback = CountingHttpServer.onLoopback().serve("/a.png", image);
    }

    @AfterEach
    void tearDown() {
        loopback.close();
    }

    static DecoderSettings settings(List<String> allowedUris, boolean allowPrivate) {
        return new DecoderSettings(1 << 20, 4_000_000, 1000, 20, 64, Duration.ofMillis(2000), 32, allowedUris, allowPrivate);
    }

    /** Resolves {@code images.example.com} to loopback, as a hostile or stale DNS entry would; others as the system does. */
    static final HostResolver POISONED = host -> host.equals("images.example.com")
            ? new InetAddress[] {InetAddress.getByName("127.0.0.1")} : InetAddress.getAllByName(host);

    static String envelope(String id, String uri) {
        return "{\"id\":\"" + id + "\",\"uri\":\"" + uri + "\"}";
    }

    /** Id → outcome code ("OK" for a decoded image), and the dead letters by id. */
    record Outcomes(Map<String, String> codes, Map<String, DeadLetter> dead) {}

    static Outcomes run(DecoderSettings settings, HostResolver resolver, Map<String, String> uris) throws Exception {
        Map<String, String> codes = new LinkedHashMap<>();
        Map<String, DeadLetter> dead = new LinkedHashMap<>();
        try (var h = new OneInputStreamOperatorTestHarness<>(new ProcessOperator<>(new ImageDecoder(settings, resolver)))) {
            h.open();
            for (Map.Entry<String, String> u : uris.entrySet()) {
                h.processElement(new StreamRecord<>(ImageDecoderHarnessTest.event(null,
                        envelope(u.getKey(), u.getValue()).getBytes(StandardCharsets.UTF_8))));
            }
            for (DecodedImage d : h.extractOutputValues()) {
                codes.put(d.request.id, "OK");
            }
            var side = h.getSideOutput(DeadLetters.TAG);
            if (side != null) {
                for (StreamRecord<DeadLetter> d : side) {
                    assertThat(codes.put(d.getValue().id, d.getValue().code.name())).as("one outcome for " + d.getValue().id).isNull();
                    dead.put(d.getValue().id, d.getValue());
                }
            }
        }
        return new Outcomes(codes, dead);
    }

    private String fileUri(Path p) {
        return p.toUri().toString();
    }

    @Test
    void shouldRefuseEveryUriWhileTheAllowListIsEmpty() throws Exception {
        Map<String, String> uris = new LinkedHashMap<>();
        uris.put("passwd", "file:///etc/passwd");
        uris.put("a-file", fileUri(allowed.resolve("a.png")));
        uris.put("loopback", loopback.base() + "/a.png");
        uris.put("s3", "s3://bucket/a.png");
        Outcomes o = run(settings(List.of(), false), HostResolver.SYSTEM, uris);
        assertThat(o.codes()).containsOnly(Map.entry("passwd", "URI_NOT_ALLOWED"), Map.entry("a-file", "URI_NOT_ALLOWED"),
                Map.entry("loopback", "URI_NOT_ALLOWED"), Map.entry("s3", "URI_NOT_ALLOWED"));
        assertThat(o.dead().values()).allSatisfy(d -> assertThat(d.message).contains("decoder.allowed-uris"));
        assertThat(loopback.requests()).isEmpty();
    }

    @Test
    void shouldReadOnlyFilesWhoseRealPathIsInsideAnAllowedFolder() throws Exception {
        Files.createSymbolicLink(allowed.resolve("link.png"), outside.resolve("secret.png"));
        Files.createSymbolicLink(allowed.resolve("up"), outside);
        Files.createDirectories(allowed.resolve("sub"));
        String root = fileUri(allowed); // file:///.../img/
        Map<String, String> uris = new LinkedHashMap<>();
        uris.put("etc-passwd", "file:///etc/passwd");
        uris.put("dot-dot", root + "../img-secret/secret.png");
        uris.put("encoded-dot-dot", root + "%2e%2e/img-secret/secret.png");
        uris.put("encoded-dot-dot-slash", root + "%2E%2E%2Fimg-secret%2Fsecret.png");
        uris.put("sibling-prefix", fileUri(outside.resolve("secret.png")));
        uris.put("symlink-file", root + "link.png");
        uris.put("symlink-folder", root + "up/secret.png");
        uris.put("symlink-folder-missing", root + "up/missing.png");
        uris.put("file-host", "file://localhost" + allowed.resolve("a.png").toUri().getRawPath());
        uris.put("allowed", root + "a.png");
        uris.put("allowed-after-dots", root + "sub/./../a.png");
        uris.put("allowed-upper-case-scheme", "FILE:" + allowed.resolve("a.png").toUri().getRawSchemeSpecificPart());
        uris.put("missing-in-allowed", root + "missing.png");
        Outcomes o = run(settings(List.of(root), false), HostResolver.SYSTEM, uris);

        Map<String, String> expected = new LinkedHashMap<>();
        for (String id : List.of("etc-passwd", "dot-dot", "encoded-dot-dot", "encoded-dot-dot-slash", "sibling-prefix",
                "symlink-file", "symlink-folder", "symlink-folder-missing", "file-host")) {
            expected.put(id, "URI_NOT_ALLOWED");
        }
        expected.put("allowed", "OK");
        expected.put("allowed-after-dots", "OK");
        expected.put("allowed-upper-case-scheme", "OK");
        expected.put("missing-in-allowed", "URI_FETCH_FAILED");
        assertThat(o.codes()).isEqualTo(expected);
        // Outside the folder the answer never tells whether the target exists.
        assertThat(o.dead().get("symlink-folder").message).isEqualTo(o.dead().get("symlink-folder-missing").message)
                .isEqualTo(o.dead().get("dot-dot").message).isEqualTo("uri is not under an allowed prefix (decoder.allowed-uris)");
        assertThat(o.dead().get("missing-in-allowed").message).isEqualTo("cannot fetch " + root + "missing.png: no such file");
        assertThat(loopback.requests()).isEmpty();
    }

    @Test
    void shouldRefuseNonPublicAddressesBeforeAnyConnection() throws Exception {
        int port = loopback.port();
        List<String> prefixes = List.of("http://127.0.0.1:" + port + "/", "http://localhost:" + port + "/",
                "http://[::1]:" + port + "/", "http://[::ffff:127.0.0.1]:" + port + "/", "http://169.254.169.254/",
                "http://10.0.0.1/", "http://images.example.com:" + port + "/");
        Map<String, String> uris = new LinkedHashMap<>();
        uris.put("ipv4-loopback", "http://127.0.0.1:" + port + "/a.png");
        uris.put("localhost", "http://localhost:" + port + "/a.png");
        uris.put("ipv6-loopback", "http://[::1]:" + port + "/a.png");
        uris.put("ipv4-mapped-loopback", "http://[::ffff:127.0.0.1]:" + port + "/a.png");
        uris.put("cloud-metadata", "http://169.254.169.254/latest/meta-data/");
        uris.put("private-network", "http://10.0.0.1/a.png");
        uris.put("public-name-resolving-to-loopback", "http://images.example.com:" + port + "/a.png");
        Outcomes o = run(settings(prefixes, false), POISONED, uris);

        assertThat(o.codes()).hasSize(uris.size()).allSatisfy((id, code) -> assertThat(code).as(id).isEqualTo("URI_NOT_ALLOWED"));
        assertThat(o.dead().values()).allSatisfy(d -> assertThat(d.message).contains("decoder.allow-private-addresses"));
        assertThat(o.dead().get("cloud-metadata").message).contains("link-local");
        assertThat(o.dead().get("private-network").message).contains("private");
        // Refused before connecting: a connection to 169.254.169.254 or 10.0.0.1 would end in URI_FETCH_FAILED.
        assertThat(loopback.requests()).isEmpty();
    }

    @Test
    void shouldReachLoopbackWhenPrivateAddressesAreAllowed() throws Exception {
        Map<String, String> uris = new LinkedHashMap<>();
        uris.put("loopback", loopback.base() + "/a.png");
        uris.put("public-name-resolving-to-loopback", "http://images.example.com:" + loopback.port() + "/a.png");
        uris.put("not-under-prefix", loopback.base() + "/../private/a.png");
        Outcomes o = run(settings(List.of(loopback.base() + "/", "http://images.example.com:" + loopback.port() + "/"), true),
                POISONED, uris);
        assertThat(o.codes()).containsExactly(Map.entry("loopback", "OK"),
                Map.entry("public-name-resolving-to-loopback", "OK"), Map.entry("not-under-prefix", "URI_NOT_ALLOWED"));
        assertThat(loopback.requests()).containsExactly("/a.png", "/a.png");
    }

    @Test
    void shouldCheckEveryRedirectHopAgain() throws Exception {
        // A server standing in for a public host: 127.0.0.2, which the test's rule counts as public.
        CountingHttpServer cdn;
        try {
            cdn = new CountingHttpServer("127.0.0.2");
        } catch (IOException e) {
            Assumptions.abort("cannot bind 127.0.0.2 (Linux routes all of 127/8 to loopback; this system does not): " + e);
            return;
        }
        try (cdn) {
            InetAddress cdnAddress = InetAddress.getByName("127.0.0.2");
            HostResolver resolver = host -> host.equals("cdn.example.com") ? new InetAddress[] {cdnAddress} : resolve(host);
            String cdnBase = "http://cdn.example.com:" + cdn.port();
            cdn.serve("/a.png", image)
                    .redirect("/to-loopback", loopback.base() + "/a.png")
                    .redirect("/to-localhost", "http://localhost:" + loopback.port() + "/a.png")
                    .redirect("/to-metadata", "http://169.254.169.254/latest/meta-data/")
                    .redirect("/to-elsewhere", "http://elsewhere.example.com/a.png")
                    .redirect("/to-file", fileUri(allowed.resolve("a.png")))
                    .redirect("/to-cdn", "/a.png")
                    .redirect("/loop", "/loop");
            UriPolicy policy = new UriPolicy(List.of(cdnBase + "/", loopback.base() + "/", "http://localhost:" + loopback.port() + "/",
                    "http://169.254.169.254/", fileUri(allowed)));
            try (UriFetcher fetcher = new UriFetcher(policy, false, resolver,
                    a -> a.equals(cdnAddress) ? null : NonPublicAddresses.kind(a), 1 << 20, Duration.ofSeconds(2))) {
                Map<String, String> codes = new LinkedHashMap<>();
                for (String path : List.of("/to-loopback", "/to-localhost", "/to-metadata", "/to-elsewhere", "/to-file",
                        "/to-cdn", "/loop")) {
                    codes.put(path, outcome(fetcher, cdnBase + path));
                }
                assertThat(codes).containsExactly(Map.entry("/to-loopback", "URI_NOT_ALLOWED"),
                        Map.entry("/to-localhost", "URI_NOT_ALLOWED"), Map.entry("/to-metadata", "URI_NOT_ALLOWED"),
                        Map.entry("/to-elsewhere", "URI_NOT_ALLOWED"), Map.entry("/to-file", "URI_NOT_ALLOWED"),
                        Map.entry("/to-cdn", "OK"), Map.entry("/loop", "URI_FETCH_FAILED"));
            }
            assertThat(loopback.requests()).isEmpty();
            assertThat(cdn.requests()).containsExactly("/to-loopback", "/to-localhost", "/to-metadata", "/to-elsewhere",
                    "/to-file", "/to-cdn", "/a.png", "/loop", "/loop", "/loop", "/loop");
        }
    }

    private static InetAddress[] resolve(String host) throws UnknownHostException {
        return InetAddress.getAllByName(host);
    }

    private static String outcome(UriFetcher fetcher, String uri) {
        try {
            fetcher.fetch(uri);
            return "OK";
        } catch (UriFetcher.FetchException e) {
            return e.code.name();
        }
    }

    @Test
    void shouldPutOnlyTheRecordsOwnBytesIntoADeadLetter() throws Exception {
        String secret = "SECRET-CONTENT root:x:0:0 do not echo";
        Files.writeString(allowed.resolve("notes.txt"), secret);
        loopback.serve("/notes.txt", secret.getBytes(StandardCharsets.UTF_8));
        Map<String, String> uris = new LinkedHashMap<>();
        uris.put("file-text", fileUri(allowed.resolve("notes.txt")));
        uris.put("http-text", loopback.base() + "/notes.txt");
        Outcomes o = run(settings(List.of(fileUri(allowed), loopback.base() + "/"), true), HostResolver.SYSTEM, uris);
        assertThat(o.codes()).containsExactly(Map.entry("file-text", "UNSUPPORTED_FORMAT"), Map.entry("http-text", "UNSUPPORTED_FORMAT"));
        for (Map.Entry<String, DeadLetter> d : o.dead().entrySet()) {
            byte[] record = envelope(d.getKey(), uris.get(d.getKey())).getBytes(StandardCharsets.UTF_8);
            assertThat(d.getValue().payloadHead).as(d.getKey())
                    .isEqualTo(Arrays.copyOf(record, Math.min(record.length, DeadLetter.HEAD_BYTES)));
            assertThat(d.getValue().payloadBytes).isEqualTo(record.length);
            assertThat(new String(d.getValue().payloadHead, StandardCharsets.ISO_8859_1)).doesNotContain("SECRET");
            assertThat(d.getValue().message).doesNotContain("SECRET").doesNotContain("root:");
        }
        assertThat(loopback.requests()).containsExactly("/notes.txt");
    }
}
