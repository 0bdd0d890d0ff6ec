package dev.glimpse.e2e;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** A child JVM of the cluster test: its command line, its output file, and how to end it. */
final class JvmProcess {
    final String name;
    final Path output;
    private final Process process;
    private final long started = System.currentTimeMillis();

    private JvmProcess(String name, Path output, Process process) {
        this.name = name;
        this.output = output;
        this.process = process;
    }

    /** The java launcher of this JVM: children run the same Java. */
    static String java() {
        return Path.of(System.getProperty("java.home"), "bin", "java").toString();
    }

    /**
     * Starts {@code java jvmArgs -cp classpath mainClass args} with stdout and stderr into
     * {@code <logDir>/<name>.out}. Children inherit this process's scheduling priority (nice).
     */
    static JvmProcess start(String name, List<String> jvmArgs, String classpath, String mainClass, List<String> args,
                            Map<String, String> env, Path logDir) {
        List<String> cmd = new ArrayList<>();
        cmd.add(java());
        cmd.addAll(jvmArgs);
        cmd.add("-cp");
        cmd.add(classpath);
        cmd.add(mainClass);
        cmd.addAll(args);
        Path out = logDir.resolve(name + ".out");
        try {
            Files.createDirectories(logDir);
            Files.writeString(logDir.resolve(name + ".cmd"), String.join(" ", cmd) + "\n");
            ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(out.toFile()));
            pb.environment().putAll(env);
            return new JvmProcess(name, out, pb.start());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start " + name, e);
        }
    }

    long pid() {
        return process.pid();
    }

    boolean alive() {
        return process.isAlive();
    }

    long uptimeMillis() {
        return System.currentTimeMillis() - started;
    }

    /** Waits for the process to end; its exit code, or null on timeout. */
    Integer await(long millis) throws InterruptedException {
        return process.waitFor(millis, TimeUnit.MILLISECONDS) ? process.exitValue() : null;
    }

    /** kill -9: no shutdown hooks, no goodbye to the JobManager. */
    void kill() throws InterruptedException {
        process.destroyForcibly();
        process.waitFor(30, TimeUnit.SECONDS);
    }

    /** SIGTERM, then SIGKILL after {@code graceMillis}. */
    void stop(long graceMillis) {
        if (!process.isAlive()) {
            return;
        }
        process.destroy();
        try {
            if (!process.waitFor(graceMillis, TimeUnit.MILLISECONDS)) {
                process.destroyForcibly();
                process.waitFor(10, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public String toString() {
        return name + " (pid " + pid() + ")";
    }
}
