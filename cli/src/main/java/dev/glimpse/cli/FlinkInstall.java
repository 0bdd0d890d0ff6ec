package dev.glimpse.cli;

import ai.djl.engine.Engine;
import dev.glimpse.job.Installation;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code glimpse flink-install FLINK_HOME}: step 2 of docs/deployment.md, "On an existing Flink
 * installation". Copies the jars a Flink {@code lib/} needs for Glimpse (DJL and its natives, gson,
 * jna, the TwelveMonkeys ImageIO plug-ins: {@code dist/target/flink-lib}) into the installation's
 * {@code lib/}, prints each one, and the steps that follow. With {@code --extract-natives} it also
 * extracts the PyTorch and tokenizers natives now, which a TaskManager would otherwise do at its first
 * model load.
 */
@Command(name = "flink-install", mixinStandardHelpOptions = true,
        description = {"Put the jars Glimpse needs into the lib/ of a Flink 2.2 installation (DJL, PyTorch natives, ImageIO "
                + "plug-ins) and print what was done and what to do next (docs/deployment.md)."})
public final class FlinkInstall implements Callable<Integer> {
    /** Where the dist module writes the jars for Flink's lib/. */
    static final String DIST_FLINK_LIB = "dist/target/flink-lib";
    /** The keys to append to Flink's config.yaml, relative to the Glimpse installation. */
    public static final String CONFIG_ADDITIONS = "conf/flink/config-additions.yaml";
    static final String SUPPORTED_FLINK = "2.2.";

    private static final Pattern VERSIONED_JAR = Pattern.compile("(.+?)-(\\d[^/]*)\\.jar");
    private static final Pattern FLINK_CORE_JAR = Pattern.compile("flink-(dist|runtime|core)-(\\d[\\w.-]*)\\.jar");

    @Parameters(index = "0", paramLabel = "FLINK_HOME", description = "The Flink installation (it holds lib/, conf/, bin/).")
    Path flinkHome;

    @Option(names = "--from", paramLabel = "DIR", description = "The jars to install (default: " + DIST_FLINK_LIB + ", made by mvn package).")
    Path from;

    @Option(names = "--extract-natives", description = "Also extract the PyTorch and tokenizers natives now (about 450 MB into DJL's "
            + "cache, ~/.djl.ai or $DJL_CACHE_DIR) instead of at the first TaskManager start; run it as the user of the TaskManagers.")
    boolean extractNatives;

    private final PrintStream out;

    public FlinkInstall() {
        this(System.out);
    }

    /** Prints to {@code out} (the cluster test reads what it did). */
    public FlinkInstall(PrintStream out) {
        this.out = out;
    }

    @Override
    public Integer call() throws Exception {
        Path home = flinkHome.toAbsolutePath().normalize();
        Path lib = home.resolve("lib");
        String version = flinkVersion(lib).orElseThrow(() -> new IllegalArgumentException(
                "no Flink in " + lib + " (no flink-dist-*.jar): FLINK_HOME must be a Flink 2.2 installation"));
        if (!version.startsWith(SUPPORTED_FLINK)) {
            throw new IllegalArgumentException("Flink " + version + " in " + lib + ": Glimpse is built for Flink " + SUPPORTED_FLINK + "x");
        }
        Path source = (from != null ? from : Installation.home().resolve(DIST_FLINK_LIB)).toAbsolutePath().normalize();
        List<Path> jars = jars(source);
        if (jars.isEmpty()) {
            throw new IllegalArgumentException(source + " holds no jars: build them with mvn -B -DskipTests package");
        }
        List<String> clashes = clashes(jars, lib);
        if (!clashes.isEmpty()) {
            throw new IllegalArgumentException("lib/ holds other versions of these jars; remove them first: " + String.join(", ", clashes));
        }

        out.println("Flink " + version + " at " + home);
        long copiedBytes = 0;
        int copied = 0;
        for (Path jar : jars) {
            Path target = lib.resolve(jar.getFileName());
            long size = Files.size(jar);
            if (Files.isRegularFile(target) && Files.size(target) == size) {
                out.printf("  in place  lib/%s%n", jar.getFileName());
                continue;
            }
            Files.copy(jar, target, StandardCopyOption.REPLACE_EXISTING);
            out.printf("  copied    lib/%s (%s)%n", jar.getFileName(), megabytes(size));
            copied++;
            copiedBytes += size;
        }
        out.printf("lib/: %d of %d jars copied (%s) from %s%n", copied, jars.size(), megabytes(copiedBytes), source);
        if (extractNatives) {
            extractNatives();
        }
        printNextSteps(home);
        return 0;
    }

    /** The Flink version of a lib/ folder, read from its flink-dist (or, in a test layout, flink-runtime) jar. */
    static Optional<String> flinkVersion(Path lib) throws IOException {
        Optional<String> best = Optional.empty();
        for (Path jar : jars(lib)) {
            Matcher m = FLINK_CORE_JAR.matcher(jar.getFileName().toString());
            if (m.matches() && (best.isEmpty() || m.group(1).equals("dist"))) {
                best = Optional.of(m.group(2));
            }
        }
        return best;
    }

    /** Jars of {@code lib} that are another version of one of {@code jars} (api-0.35.0.jar beside api-0.36.0.jar). */
    static List<String> clashes(List<Path> jars, Path lib) throws IOException {
        List<String> clashes = new ArrayList<>();
        List<Path> present = jars(lib);
        for (Path jar : jars) {
            String name = jar.getFileName().toString();
            Optional<String> artifact = artifact(name);
            for (Path other : present) {
                String otherName = other.getFileName().toString();
                if (!otherName.equals(name) && artifact.isPresent() && artifact.equals(artifact(otherName))) {
                    clashes.add("lib/" + otherName + " (installing " + name + ")");
                }
            }
        }
        return clashes;
    }

    static Optional<String> artifact(String jarName) {
        Matcher m = VERSIONED_JAR.matcher(jarName);
        return m.matches() ? Optional.of(m.group(1)) : Optional.empty();
    }

    static List<Path> jars(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(p -> p.getFileName().toString().endsWith(".jar") && Files.isRegularFile(p)).sorted().toList();
        }
    }

    /** Loads the engine and the tokenizers library here, which extracts their natives into DJL's cache. */
    private void extractNatives() {
        long start = System.nanoTime();
        Engine engine = Engine.getEngine("PyTorch");
        String libtorch = ai.djl.pytorch.jni.LibUtils.getLibtorchPath();
        ai.djl.huggingface.tokenizers.jni.LibUtils.checkStatus();
        out.printf("natives: PyTorch %s at %s, tokenizers loaded (%.1f s); TaskManagers that run as this user"
                + " (with DJL_CACHE_DIR=%s) find them there%n", engine.getVersion(), libtorch, (System.nanoTime() - start) / 1e9,
                System.getenv().getOrDefault("DJL_CACHE_DIR", "unset"));
    }

    private void printNextSteps(Path home) {
        Path glimpse = Installation.home().toAbsolutePath().normalize();
        out.println("next (docs/deployment.md, \"On an existing Flink installation\"):");
        out.println("  cat " + glimpse.resolve(CONFIG_ADDITIONS) + " >> " + home.resolve("conf/config.yaml"));
        out.println("  " + home.resolve("bin/start-cluster.sh"));
        out.println("  " + home.resolve("bin/flink") + " run -d " + clusterJar(glimpse) + " --set ... (the submit line of the guide)");
    }

    private static String clusterJar(Path glimpse) {
        Path target = glimpse.resolve("dist/target");
        try {
            return jars(target).stream().map(Path::toString).filter(n -> n.endsWith("-cluster.jar")).findFirst()
                    .orElse(target.resolve("glimpse-job-<version>-cluster.jar").toString());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static String megabytes(long bytes) {
        return String.format("%.1f MB", bytes / (1024.0 * 1024.0));
    }
}
