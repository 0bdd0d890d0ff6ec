package dev.glimpse.operators;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A real HTTP server on one loopback address and a free port that records every request it gets:
 * a test asserts both the outcome of a fetch and that no request reached a server where none may.
 * It answers each path with what {@link #serve} and {@link #redirect} gave it, others with 404.
 */
final class CountingHttpServer implements AutoCloseable {
    private final HttpServer server;
    private final List<String> requests = new CopyOnWriteArrayList<>();
    private final Map<String, byte[]> bodies = new ConcurrentHashMap<>();
    private final Map<String, String> redirects = new ConcurrentHashMap<>();

    CountingHttpServer(String address) throws IOException {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getByName(address), 0), 16);
        server.createContext("/", this::handle);
        server.start();
    }

    static CountingHttpServer onLoopback() throws IOException {
        return new CountingHttpServer("127.0.0.1");
    }

    int port() {
        return server.getAddress().getPort();
    }

    /** {@code http://<address>:<port>} as a client would write it with an IP literal. */
    String base() {
        return "http://" + server.getAddress().getAddress().getHostAddress() + ":" + port();
    }

    CountingHttpServer serve(String path, byte[] body) {
        bodies.put(path, body);
        return this;
    }

    CountingHttpServer redirect(String path, String location) {
        redirects.put(path, location);
        return this;
    }

    /** The paths requested so far, in order. */
    List<String> requests() {
        return List.copyOf(requests);
    }

    private void handle(HttpExchange x) throws IOException {
        requests.add(x.getRequestURI().getRawPath());
        String path = x.getRequestURI().getRawPath();
        if (redirects.containsKey(path)) {
            x.getResponseHeaders().add("Location", redirects.get(path));
            x.sendResponseHeaders(302, -1);
        } else if (bodies.containsKey(path)) {
            byte[] body = bodies.get(path);
            x.sendResponseHeaders(200, body.length);
            try (OutputStream out = x.getResponseBody()) {
                out.write(body);
            }
        } else {
            x.sendResponseHeaders(404, -1);
        }
        x.close();
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
