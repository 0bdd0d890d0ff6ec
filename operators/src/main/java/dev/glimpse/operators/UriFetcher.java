package dev.glimpse.operators;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import org.apache.flink.core.fs.FileSystem;

/**
 * Fetches the bytes behind a {@code uri}: {@code file://} and {@code http(s)://} directly, any other
 * scheme through Flink's file systems (so an {@code s3://} plugin in the cluster serves it). Every
 * fetch is bounded in size and time.
 */
final class UriFetcher {
    private final long maxBytes;
    private final Duration timeout;
    private transient HttpClient http;

    UriFetcher(long maxBytes, Duration timeout) {
        this.maxBytes = maxBytes;
        this.timeout = timeout;
    }

    /** A fetch that failed, with a message that says why. */
    static final class FetchException extends Exception {
        final boolean tooLarge;

        FetchException(String message, boolean tooLarge) {
            super(message);
            this.tooLarge = tooLarge;
        }
    }

    byte[] fetch(String uriText) throws FetchException {
        URI uri;
        try {
            uri = URI.create(uriText);
        } catch (IllegalArgumentException e) {
            throw new FetchException("invalid URI " + uriText + ": " + e.getMessage(), false);
        }
        String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase();
        try {
            switch (scheme) {
                case "file":
                    return readFile(Path.of(uri));
                case "http":
                case "https":
                    return readHttp(uri);
                case "":
                    throw new FetchException("URI " + uriText + " has no scheme (use file://, http(s):// or a Flink file system)", false);
                default:
                    return readFlinkFileSystem(uri);
            }
        } catch (FetchException e) {
            throw e;
        } catch (NoSuchFileException e) {
            throw new FetchException("no such file: " + e.getFile(), false);
        } catch (IOException | RuntimeException e) {
            throw new FetchException("cannot fetch " + uriText + ": " + e.getClass().getSimpleName()
                    + (e.getMessage() == null ? "" : " (" + e.getMessage() + ")"), false);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new FetchException("interrupted while fetching " + uriText, false);
        }
    }

    private byte[] readFile(Path path) throws IOException, FetchException {
        long size = Files.size(path);
        if (size > maxBytes) {
            throw new FetchException("file " + path + " has " + size + " bytes, over the limit of " + maxBytes, true);
        }
        return Files.readAllBytes(path);
    }

    private byte[] readHttp(URI uri) throws IOException, InterruptedException, FetchException {
        if (http == null) {
            http = HttpClient.newBuilder().connectTimeout(timeout).followRedirects(HttpClient.Redirect.NORMAL).build();
        }
        HttpRequest request = HttpRequest.newBuilder(uri).timeout(timeout).GET().build();
        HttpResponse<InputStream> response;
        try {
            response = http.send(request, HttpResponse.BodyHandlers.ofInputStream());
        } catch (java.net.http.HttpTimeoutException e) {
            throw new FetchException("timed out after " + timeout.toMillis() + " ms fetching " + uri, false);
        }
        try (InputStream body = response.body()) {
            if (response.statusCode() / 100 != 2) {
                throw new FetchException("HTTP " + response.statusCode() + " fetching " + uri, false);
            }
            return readBounded(body, uri.toString());
        }
    }

    private byte[] readFlinkFileSystem(URI uri) throws IOException, FetchException {
        org.apache.flink.core.fs.Path path = new org.apache.flink.core.fs.Path(uri);
        FileSystem fs;
        try {
            fs = path.getFileSystem();
        } catch (IOException e) {
            throw new FetchException("unsupported URI scheme '" + uri.getScheme()
                    + "' (no Flink file system serves it): " + uri, false);
        }
        try (InputStream in = fs.open(path)) {
            return readBounded(in, uri.toString());
        } catch (java.io.FileNotFoundException e) {
            throw new FetchException("no such file: " + uri, false);
        }
    }

    private byte[] readBounded(InputStream in, String what) throws IOException, FetchException {
        byte[] bytes = in.readNBytes((int) Math.min(Integer.MAX_VALUE - 8, maxBytes + 1));
        if (bytes.length > maxBytes) {
            throw new FetchException(what + " is larger than the limit of " + maxBytes + " bytes", true);
        }
        return bytes;
    }
}
