package dev.glimpse.operators;

import java.io.ByteArrayOutputStream;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.net.UnknownHostException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import javax.net.ssl.SSLException;
import org.apache.flink.core.fs.FileSystem;
import org.apache.hc.client5.http.DnsResolver;
import org.apache.hc.client5.http.classic.methods.HttpGet;
import org.apache.hc.client5.http.config.ConnectionConfig;
import org.apache.hc.client5.http.config.RequestConfig;
import org.apache.hc.client5.http.impl.classic.CloseableHttpClient;
import org.apache.hc.client5.http.impl.classic.HttpClients;
import org.apache.hc.client5.http.impl.io.PoolingHttpClientConnectionManagerBuilder;
import org.apache.hc.core5.http.ClassicHttpResponse;
import org.apache.hc.core5.http.Header;
import org.apache.hc.core5.http.HttpEntity;
import org.apache.hc.core5.util.TimeValue;
import org.apache.hc.core5.util.Timeout;

/**
 * Fetches the bytes behind a {@code uri} that {@link UriPolicy} allows: {@code file://} by its real
 * path, {@code http(s)://} through a client that connects only to addresses it has checked, any
 * other scheme through Flink's file systems (an {@code s3://} plugin, whose endpoint the cluster's
 * operators configure). Every fetch is bounded in size and time; no message carries fetched bytes.
 */
final class UriFetcher implements AutoCloseable {
    /** Redirects followed per fetch, each hop checked like the first uri. */
    static final int MAX_REDIRECTS = 3;
    static final String PRIVATE_RULE = "decoder.allow-private-addresses";
    /** Longest uri quoted in a message: a producer must not blow up dead letters or logs through it. */
    static final int SHOWN_URI_CHARS = 300;

    private final UriPolicy policy;
    private final boolean allowPrivateAddresses;
    private final HostResolver resolver;
    private final Function<InetAddress, String> nonPublicKind;
    private final long maxBytes;
    private final Duration timeout;
    private CloseableHttpClient http;

    UriFetcher(UriPolicy policy, boolean allowPrivateAddresses, HostResolver resolver, long maxBytes, Duration timeout) {
        this(policy, allowPrivateAddresses, resolver, NonPublicAddresses::kind, maxBytes, timeout);
    }

    /** As above, with the rule that names non-public addresses given (tests stand in a public server with it). */
    UriFetcher(UriPolicy policy, boolean allowPrivateAddresses, HostResolver resolver,
               Function<InetAddress, String> nonPublicKind, long maxBytes, Duration timeout) {
        this.policy = policy;
        this.allowPrivateAddresses = allowPrivateAddresses;
        this.resolver = resolver;
        this.nonPublicKind = nonPublicKind;
        this.maxBytes = maxBytes;
        this.timeout = timeout;
    }

    /** A fetch that failed or was refused, with its dead-letter code and a message that says why. */
    static final class FetchException extends Exception {
        final ErrorCode code;

        FetchException(ErrorCode code, String message) {
            super(message);
            this.code = code;
        }
    }

    /** Thrown by the resolver of the HTTP client, before any connection, for an address it must not reach. */
    private static final class AddressRefused extends UnknownHostException {
        AddressRefused(String kind) {
            super("uri host resolves to a " + kind + " address, refused (" + PRIVATE_RULE + " is false)");
        }
    }

    /**
     * The bytes behind {@code uriText}. The messages of failures name the uri as given (its start,
     * if long) and the rule or the kind of failure, nothing read from the target.
     */
    byte[] fetch(String uriText) throws FetchException {
        UriPolicy.Location target = check(uriText, "");
        String shown = uriText.length() <= SHOWN_URI_CHARS ? uriText : uriText.substring(0, SHOWN_URI_CHARS) + "...";
        try {
            return switch (target.scheme()) {
                case "file" -> readFile(target, shown);
                case "http", "https" -> readHttp(target, shown);
                default -> readFlinkFileSystem(target.toUri(), shown);
            };
        } catch (AddressRefused e) {
            throw new FetchException(ErrorCode.URI_NOT_ALLOWED, e.getMessage());
        } catch (NoSuchFileException | FileNotFoundException e) {
            throw new FetchException(ErrorCode.URI_FETCH_FAILED, "cannot fetch " + shown + ": no such file");
        } catch (SocketTimeoutException e) {
            throw new FetchException(ErrorCode.URI_FETCH_FAILED, "timed out after " + timeout.toMillis() + " ms fetching " + shown);
        } catch (UnknownHostException e) {
            throw new FetchException(ErrorCode.URI_FETCH_FAILED, "cannot fetch " + shown + ": host not found");
        } catch (ConnectException e) {
            throw new FetchException(ErrorCode.URI_FETCH_FAILED, "cannot fetch " + shown + ": connection refused");
        } catch (SSLException e) {
            throw new FetchException(ErrorCode.URI_FETCH_FAILED, "cannot fetch " + shown + ": TLS failed (" + e.getClass().getSimpleName() + ")");
        } catch (InterruptedIOException e) {
            Thread.currentThread().interrupt();
            throw new FetchException(ErrorCode.URI_FETCH_FAILED, "interrupted while fetching " + shown);
        } catch (IOException | RuntimeException e) {
            // Exception messages may quote what was read or where it resolved: only the kind is kept.
            throw new FetchException(ErrorCode.URI_FETCH_FAILED, "cannot fetch " + shown + ": " + e.getClass().getSimpleName());
        }
    }

    private UriPolicy.Location check(String uriText, String what) throws FetchException {
        try {
            return policy.check(uriText);
        } catch (UriPolicy.Refused e) {
            throw new FetchException(ErrorCode.URI_NOT_ALLOWED, what + e.getMessage());
        }
    }

    private byte[] readFile(UriPolicy.Location target, String shown) throws IOException, FetchException {
        Path real;
        try {
            real = policy.realFileInside(target);
        } catch (UriPolicy.Refused e) {
            throw new FetchException(ErrorCode.URI_NOT_ALLOWED, e.getMessage());
        }
        if (!Files.isRegularFile(real, LinkOption.NOFOLLOW_LINKS)) {
            throw new FetchException(ErrorCode.URI_FETCH_FAILED, "cannot fetch " + shown + ": not a regular file");
        }
        long size = Files.size(real);
        if (size > maxBytes) {
            throw new FetchException(ErrorCode.IMAGE_TOO_LARGE, shown + " has " + size + " bytes, over the limit of " + maxBytes);
        }
        // The real path was checked: a symlink put in its place since must not be followed.
        try (InputStream in = Files.newInputStream(real, LinkOption.NOFOLLOW_LINKS)) {
            return readBounded(in, shown);
        }
    }

    private byte[] readHttp(UriPolicy.Location first, String shown) throws IOException, FetchException {
        URI current = first.toUri();
        for (int hop = 0; ; hop++) {
            HttpGet get = new HttpGet(current);
            try (ClassicHttpResponse response = client().executeOpen(null, get, null)) {
                int status = response.getCode();
                if (status >= 300 && status < 400 && status != 304) {
                    if (hop == MAX_REDIRECTS) {
                        throw new FetchException(ErrorCode.URI_FETCH_FAILED,
                                "cannot fetch " + shown + ": more than " + MAX_REDIRECTS + " redirects");
                    }
                    current = redirectTarget(current, response.getFirstHeader("Location"), shown);
                    continue;
                }
                if (status / 100 != 2) {
                    throw new FetchException(ErrorCode.URI_FETCH_FAILED, "HTTP " + status + " fetching " + shown);
                }
                HttpEntity entity = response.getEntity();
                if (entity == null) {
                    return new byte[0];
                }
                if (entity.getContentLength() > maxBytes) {
                    throw new FetchException(ErrorCode.IMAGE_TOO_LARGE, shown + " declares " + entity.getContentLength()
                            + " bytes, over the limit of " + maxBytes);
                }
                try (InputStream body = entity.getContent()) {
                    return readBounded(body, shown);
                }
            }
        }
    }

    /** The next hop of a redirect, checked like the first uri; redirects to other kinds of uri are refused. */
    private URI redirectTarget(URI from, Header location, String shown) throws FetchException {
        if (location == null) {
            throw new FetchException(ErrorCode.URI_FETCH_FAILED, "cannot fetch " + shown + ": redirect without a location");
        }
        URI next;
        try {
            next = from.resolve(new URI(location.getValue()));
        } catch (java.net.URISyntaxException | IllegalArgumentException e) {
            throw new FetchException(ErrorCode.URI_FETCH_FAILED, "cannot fetch " + shown + ": redirect to an invalid uri");
        }
        UriPolicy.Location hop = check(next.toString(), "redirect of " + shown + " refused: ");
        if (!hop.scheme().equals("http") && !hop.scheme().equals("https")) {
            throw new FetchException(ErrorCode.URI_NOT_ALLOWED, "redirect of " + shown + " refused: only http(s) redirects are followed");
        }
        return hop.toUri();
    }

    private byte[] readFlinkFileSystem(URI uri, String shown) throws IOException, FetchException {
        org.apache.flink.core.fs.Path path = new org.apache.flink.core.fs.Path(uri);
        FileSystem fs;
        try {
            fs = path.getFileSystem();
        } catch (IOException e) {
            throw new FetchException(ErrorCode.URI_FETCH_FAILED, "unsupported URI scheme '" + uri.getScheme()
                    + "' (no Flink file system serves it): " + shown);
        }
        try (InputStream in = fs.open(path)) {
            return readBounded(in, shown);
        }
    }

    /**
     * Reads at most {@code maxBytes}, within the fetch timeout as a whole: a source that trickles
     * bytes, each read within its socket timeout, must not hold the decoder for longer.
     */
    private byte[] readBounded(InputStream in, String shown) throws IOException, FetchException {
        long deadline = System.nanoTime() + timeout.toNanos();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] buffer = new byte[64 * 1024];
        while (true) {
            int n = in.read(buffer);
            if (n < 0) {
                return out.toByteArray();
            }
            out.write(buffer, 0, n);
            if (out.size() > maxBytes) {
                throw new FetchException(ErrorCode.IMAGE_TOO_LARGE, shown + " is larger than the limit of " + maxBytes + " bytes");
            }
            if (System.nanoTime() > deadline) {
                throw new SocketTimeoutException("body not read within the fetch timeout");
            }
        }
    }

    private CloseableHttpClient client() {
        if (http == null) {
            Timeout t = Timeout.of(timeout.toMillis(), TimeUnit.MILLISECONDS);
            DnsResolver checking = new DnsResolver() {
                @Override
                public InetAddress[] resolve(String host) throws UnknownHostException {
                    InetAddress[] addresses = resolver.resolve(host);
                    if (!allowPrivateAddresses) {
                        for (InetAddress a : addresses) {
                            String kind = nonPublicKind.apply(a);
                            if (kind != null) {
                                throw new AddressRefused(kind);
                            }
                        }
                    }
                    return addresses;
                }

                @Override
                public String resolveCanonicalHostname(String host) {
                    return host;
                }
            };
            http = HttpClients.custom()
                    .setConnectionManager(PoolingHttpClientConnectionManagerBuilder.create()
                            .setDnsResolver(checking)
                            .setDefaultConnectionConfig(ConnectionConfig.custom().setConnectTimeout(t).setSocketTimeout(t).build())
                            .build())
                    .setDefaultRequestConfig(RequestConfig.custom().setResponseTimeout(t).setConnectionRequestTimeout(t)
                            .setRedirectsEnabled(false).build())
                    // Redirects are followed above, each hop checked; no proxy, cookies, retries or decompression.
                    .disableRedirectHandling()
                    .disableCookieManagement()
                    .disableAutomaticRetries()
                    .disableContentCompression()
                    .disableAuthCaching()
                    .evictIdleConnections(TimeValue.ofSeconds(30))
                    .setUserAgent("glimpse")
                    .build();
        }
        return http;
    }

    @Override
    public void close() throws IOException {
        if (http != null) {
            http.close();
            http = null;
        }
    }
}
