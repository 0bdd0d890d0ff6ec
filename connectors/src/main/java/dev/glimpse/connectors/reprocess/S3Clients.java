package dev.glimpse.connectors.reprocess;

import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.apache.flink.configuration.ConfigConstants;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.GlobalConfiguration;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.AwsCredentialsProvider;
import software.amazon.awssdk.auth.credentials.AwsSessionCredentials;
import software.amazon.awssdk.auth.credentials.DefaultCredentialsProvider;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.S3ClientBuilder;

/**
 * An S3 client configured by the keys that configure Flink's S3 file system ({@code s3.endpoint},
 * {@code s3.access-key}, {@code s3.path.style.access}, ...; also spelt {@code s3a.*} and {@code
 * fs.s3a.*}), so a listing made with it sees the objects that Flink's file system then reads. The keys
 * are those given to the command, over those of the {@code config.yaml} in {@code FLINK_CONF_DIR} when
 * the environment sets it (on a cluster, the JobManager's, where the enumerator lists); without keys,
 * the AWS SDK's own chain (environment, profile, instance role).
 */
final class S3Clients {
    private static final List<String> PREFIXES = List.of("fs.s3a.", "s3a.", "s3.");
    /** Flink's S3 file system accepts both spellings of these (its "mirrored" keys). */
    private static final Map<String, String> MIRRORED = Map.of("access-key", "access.key", "secret-key", "secret.key",
            "path-style-access", "path.style.access", "session-token", "session.token");

    private S3Clients() {}

    /** A client by {@code given} (Flink's option names) over the installation's configuration. */
    static S3Client create(Map<String, String> given) {
        Map<String, String> o = new HashMap<>();
        installationOptions().forEach((k, v) -> put(o, k, v));
        given.forEach((k, v) -> put(o, k, v));
        S3ClientBuilder b = S3Client.builder().httpClient(UrlConnectionHttpClient.create());
        String endpoint = o.get("endpoint");
        if (endpoint != null && !endpoint.isBlank()) {
            boolean ssl = !"false".equalsIgnoreCase(o.get("connection.ssl.enabled"));
            b.endpointOverride(URI.create(endpoint.contains("://") ? endpoint : (ssl ? "https://" : "http://") + endpoint));
        } else {
            // AWS itself: a bucket in another region than the one guessed is followed there.
            b.crossRegionAccessEnabled(true);
        }
        String region = o.getOrDefault("endpoint.region", System.getenv("AWS_REGION"));
        b.region(Region.of(region == null || region.isBlank() ? "us-east-1" : region));
        b.forcePathStyle("true".equalsIgnoreCase(o.get("path.style.access")));
        b.credentialsProvider(credentials(o));
        return b.build();
    }

    private static AwsCredentialsProvider credentials(Map<String, String> o) {
        String access = o.get("access.key");
        String secret = o.get("secret.key");
        if (access == null || secret == null) {
            return DefaultCredentialsProvider.builder().build();
        }
        String token = o.get("session.token");
        return StaticCredentialsProvider.create(token == null ? AwsBasicCredentials.create(access, secret)
                : AwsSessionCredentials.create(access, secret, token));
    }

    /** {@code s3.access-key} and {@code fs.s3a.access.key} alike as {@code access.key}; other keys are left out. */
    private static void put(Map<String, String> options, String key, String value) {
        for (String prefix : PREFIXES) {
            if (key.startsWith(prefix)) {
                String name = key.substring(prefix.length()).toLowerCase(Locale.ROOT);
                options.put(MIRRORED.getOrDefault(name, name), value);
                return;
            }
        }
    }

    /** The S3 keys of the Flink installation this process runs in, if it runs in one. */
    private static Map<String, String> installationOptions() {
        String dir = System.getenv(ConfigConstants.ENV_FLINK_CONF_DIR);
        if (dir == null || !Files.isDirectory(Path.of(dir))) {
            return Map.of();
        }
        Configuration conf = GlobalConfiguration.loadConfiguration(dir);
        Map<String, String> s3 = new HashMap<>();
        conf.toMap().forEach((k, v) -> {
            if (PREFIXES.stream().anyMatch(k::startsWith)) {
                s3.put(k, v);
            }
        });
        return s3;
    }
}
