package dev.glimpse.operators;

import java.io.IOException;
import java.io.Serializable;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Which {@code uri}s the decoder may fetch: those whose normalised form lies under one of the
 * prefixes of {@code decoder.allowed-uris}. Producers of the images topic are not trusted, so a uri
 * is compared only after the forms that could hide where it points are undone: scheme and host
 * lower-cased, default ports made explicit, percent-escapes decoded, {@code .} and {@code ..}
 * resolved, and for {@code file://} the real path (symlinks resolved). Paths match by whole
 * segments: {@code /data/img} allows {@code /data/img/a.png}, never {@code /data/img-secret}.
 */
final class UriPolicy implements Serializable {
    static final String OPTION = "decoder.allowed-uris";
    static final String NOT_UNDER_PREFIX = "uri is not under an allowed prefix (" + OPTION + ")";

    private final List<Location> allowed;

    UriPolicy(List<String> prefixes) {
        List<Location> parsed = new ArrayList<>();
        for (String p : prefixes) {
            parsed.add(prefix(p));
        }
        this.allowed = List.copyOf(parsed);
    }

    /** A uri refused by the policy; its message names the rule, never anything about the target. */
    static final class Refused extends Exception {
        Refused(String message) {
            super(message);
        }
    }

    /**
     * A normalised location: lower-case scheme and host ("" for file), the effective port (-1 where
     * the scheme has none), the decoded path as segments without dot-segments, and the raw query.
     */
    record Location(String scheme, String host, int port, List<String> segments, boolean trailingSlash,
                    String rawQuery) implements Serializable {
        boolean isFile() {
            return scheme.equals("file");
        }

        String path() {
            String p = "/" + String.join("/", segments);
            return trailingSlash && !segments.isEmpty() ? p + "/" : p;
        }

        /** The location as a URI to fetch, every character re-escaped as needed. */
        URI toUri() {
            try {
                int shownPort = port == defaultPort(scheme) ? -1 : port;
                String base = new URI(scheme, null, isFile() ? "" : host, shownPort, path(), null, null).toASCIIString();
                return URI.create(rawQuery == null ? base : base + "?" + rawQuery);
            } catch (URISyntaxException e) {
                throw new IllegalStateException("a normalised location does not form a URI", e);
            }
        }

        boolean isUnder(Location prefix) {
            if (!scheme.equals(prefix.scheme) || !host.equals(prefix.host) || port != prefix.port
                    || segments.size() < prefix.segments.size()) {
                return false;
            }
            return segments.subList(0, prefix.segments.size()).equals(prefix.segments);
        }
    }

    boolean allowsNothing() {
        return allowed.isEmpty();
    }

    /**
     * The normalised location of {@code uriText}, if it lies under an allowed prefix. For a file the
     * real path must lie in the real path of an allowed folder; the answer is the same whether the
     * file exists or not, as long as the part of its path that exists resolves outside.
     */
    Location check(String uriText) throws Refused {
        if (allowed.isEmpty()) {
            throw new Refused("uris are not allowed: " + OPTION + " is empty");
        }
        Location target = normalise(uriText);
        for (Location prefix : allowed) {
            if (target.isUnder(prefix) && (!target.isFile() || realPathInside(target, prefix))) {
                return target;
            }
        }
        throw new Refused(NOT_UNDER_PREFIX);
    }

    /**
     * The real path a checked file location is read from, checked again: the file system may have
     * changed since {@link #check}. A missing file throws {@link java.nio.file.NoSuchFileException}.
     */
    Path realFileInside(Location file) throws IOException, Refused {
        Path real = Path.of(file.path()).toRealPath();
        for (Location prefix : allowed) {
            if (prefix.isFile() && file.isUnder(prefix) && real.startsWith(realFolder(prefix))) {
                return real;
            }
        }
        throw new Refused(NOT_UNDER_PREFIX);
    }

    private static Path realFolder(Location prefix) throws IOException {
        return Path.of(prefix.path()).toRealPath();
    }

    private static boolean realPathInside(Location target, Location prefix) {
        Path folder;
        try {
            folder = realFolder(prefix);
        } catch (IOException e) {
            return false;
        }
        // The longest part of the path that exists decides: a missing file in an allowed folder may be
        // reported missing, but a path that leaves the folder through a symlink is refused either way.
        Path p = Path.of(target.path());
        while (p != null && !Files.exists(p)) {
            p = p.getParent();
        }
        if (p == null) {
            return false;
        }
        try {
            return p.toRealPath().startsWith(folder);
        } catch (IOException e) {
            return false;
        }
    }

    static Location normalise(String uriText) throws Refused {
        URI uri;
        try {
            uri = new URI(uriText);
        } catch (URISyntaxException e) {
            throw new Refused("uri is not a valid URI, so not under an allowed prefix (" + OPTION + ")");
        }
        return normalise(uri, "uri");
    }

    private static Location prefix(String text) {
        Location p;
        try {
            URI uri = new URI(text);
            if (uri.getRawQuery() != null || uri.getRawFragment() != null) {
                throw new IllegalArgumentException("option '" + OPTION + "': prefix " + text + " must not have a query or fragment");
            }
            p = normalise(uri, "prefix " + text);
        } catch (URISyntaxException | Refused e) {
            throw new IllegalArgumentException("option '" + OPTION + "': " + e.getMessage(), e);
        }
        return p;
    }

    private static Location normalise(URI uri, String what) throws Refused {
        if (!uri.isAbsolute() || uri.isOpaque()) {
            throw new Refused(what + " must be absolute with a path (scheme://host/path or file:///path)");
        }
        if (uri.getRawUserInfo() != null) {
            throw new Refused(what + " must not carry user information");
        }
        String scheme = uri.getScheme().toLowerCase(Locale.ROOT);
        String host;
        if (scheme.equals("file")) {
            if (uri.getRawAuthority() != null && !uri.getRawAuthority().isEmpty()) {
                throw new Refused(what + ": a file uri must not name a host");
            }
            host = "";
        } else {
            if (uri.getHost() == null) {
                throw new Refused(what + " has no valid host");
            }
            host = uri.getHost().toLowerCase(Locale.ROOT);
            if (host.endsWith(".")) {
                host = host.substring(0, host.length() - 1);
            }
        }
        String path = uri.getPath() == null || uri.getPath().isEmpty() ? "/" : uri.getPath();
        for (int i = 0; i < path.length(); i++) {
            char c = path.charAt(i);
            if (c < 0x20 || c == 0x7f || c == '\\') {
                throw new Refused(what + " has a control character or backslash in its path");
            }
        }
        List<String> segments = new ArrayList<>();
        for (String s : path.split("/")) {
            if (s.isEmpty() || s.equals(".")) {
                continue;
            }
            if (s.equals("..")) {
                if (segments.isEmpty()) {
                    throw new Refused(what + " climbs above its root");
                }
                segments.remove(segments.size() - 1);
            } else {
                segments.add(s);
            }
        }
        int port = uri.getPort() == -1 ? defaultPort(scheme) : uri.getPort();
        return new Location(scheme, host, port, List.copyOf(segments), path.endsWith("/"),
                scheme.equals("file") ? null : uri.getRawQuery());
    }

    private static int defaultPort(String scheme) {
        return switch (scheme) {
            case "http" -> 80;
            case "https" -> 443;
            default -> -1;
        };
    }
}
