package dev.glimpse.job;

import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.Comparator;
import java.util.Optional;
import java.util.stream.Stream;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.StateRecoveryOptions;

/**
 * Finds what a job can resume from: retained checkpoints {@code <dir>/<job id>/chk-<n>/_metadata}
 * and savepoints {@code <dir>/savepoints/savepoint-<id>/_metadata}.
 */
public final class Checkpoints {
    private Checkpoints() {}

    /**
     * The most recent complete checkpoint or savepoint under {@code dir}, if any. Savepoints count:
     * a job stopped with one has its checkpoints removed or older, and resuming from an older
     * snapshot would produce again what the job committed after it.
     */
    public static Optional<Path> latest(Path dir) {
        if (!Files.isDirectory(dir)) {
            return Optional.empty();
        }
        return children(dir)
                .filter(Files::isDirectory)
                .flatMap(Checkpoints::children)
                .filter(p -> p.getFileName().toString().startsWith("chk-") || p.getFileName().toString().startsWith("savepoint-"))
                .filter(p -> Files.isRegularFile(p.resolve("_metadata")))
                .max(Comparator.comparing(p -> modified(p.resolve("_metadata"))));
    }

    /** The newest savepoint under {@code <dir>/savepoints} written after {@code sinceMillis}, if any. */
    public static Optional<Path> newestSavepoint(Path dir, long sinceMillis) {
        return newestSavepointIn(dir.resolve("savepoints"), sinceMillis);
    }

    /** The newest savepoint in the folder {@code savepoints} written after {@code sinceMillis}, if any. */
    public static Optional<Path> newestSavepointIn(Path savepoints, long sinceMillis) {
        if (!Files.isDirectory(savepoints)) {
            return Optional.empty();
        }
        return children(savepoints)
                .filter(p -> Files.isRegularFile(p.resolve("_metadata")))
                .filter(p -> modified(p.resolve("_metadata")).toMillis() >= sinceMillis)
                .max(Comparator.comparing(p -> modified(p.resolve("_metadata"))));
    }

    private static Stream<Path> children(Path p) {
        try (Stream<Path> s = Files.list(p)) {
            return s.toList().stream();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static FileTime modified(Path p) {
        try {
            return Files.getLastModifiedTime(p);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * What a job starts from: {@code fromSavepoint}, else with {@code resume} the latest retained
     * checkpoint in {@code checkpointDir} (none there is an error naming it); null for a fresh start.
     */
    public static String restorePoint(String fromSavepoint, boolean resume, Path checkpointDir) {
        if (fromSavepoint != null || !resume) {
            return fromSavepoint;
        }
        return latest(checkpointDir).map(Path::toString)
                .orElseThrow(() -> new IllegalArgumentException("--resume: no retained checkpoint in " + checkpointDir));
    }

    /** {@code flink}, starting from {@code restoreFrom} (null: afresh), which is reported on {@code log}. */
    public static Configuration restoring(Configuration flink, String restoreFrom, PrintStream log) {
        if (restoreFrom != null) {
            flink.set(StateRecoveryOptions.SAVEPOINT_PATH, restoreFrom);
            log.println("restoring from " + restoreFrom);
        }
        return flink;
    }
}
