package dev.glimpse.connectors.reprocess;

import java.io.IOException;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import org.apache.flink.core.fs.FileStatus;
import org.apache.flink.core.fs.FileSystem;
import org.apache.flink.core.fs.Path;

/**
 * The committed files of a file sink, through Flink's file systems (so {@code s3://} works where
 * Flink's does): each URI is a file, or a folder whose files are visited recursively in path order.
 * Names starting with "." or "_" are skipped: they are a {@code FileSink}'s in-progress files (and
 * Hadoop's markers), never outcomes. URIs that do not exist yet hold no files.
 */
final class CommittedFiles {
    /** What is done with each file. */
    @FunctionalInterface
    interface Visitor {
        void visit(FileSystem fs, FileStatus file) throws IOException;
    }

    private CommittedFiles() {}

    static void forEach(List<String> uris, Visitor visitor) throws IOException {
        for (String uri : uris) {
            Path p = new Path(uri);
            FileSystem fs = p.getFileSystem();
            if (fs.exists(p)) {
                visit(fs, fs.getFileStatus(p), visitor);
            }
        }
    }

    private static void visit(FileSystem fs, FileStatus status, Visitor visitor) throws IOException {
        if (!status.isDir()) {
            visitor.visit(fs, status);
            return;
        }
        FileStatus[] children = fs.listStatus(status.getPath());
        Arrays.sort(children, Comparator.comparing(c -> c.getPath().toString()));
        for (FileStatus child : children) {
            String name = child.getPath().getName();
            if (!name.startsWith(".") && !name.startsWith("_")) {
                visit(fs, child, visitor);
            }
        }
    }
}
