package dev.glimpse.connectors.reprocess;

import java.io.IOException;
import java.net.URI;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.flink.core.fs.FileStatus;
import org.apache.flink.core.fs.FileSystem;
import org.apache.flink.core.fs.FileSystemFactory;
import org.apache.flink.core.fs.Path;
import org.apache.flink.core.fs.local.LocalFileSystem;

/**
 * A Flink file system of scheme {@code listed://} over local folders (registered for tests through
 * META-INF/services) that counts each directory's {@code listStatus} calls: a Flink file system
 * that is not {@code file:}, so {@link FileTreeListing} walks it through Flink's API as it walks S3.
 */
public final class CountingFileSystemFactory implements FileSystemFactory {
    static final String SCHEME = "listed";
    /** listStatus calls by local path. */
    static final Map<String, AtomicInteger> LISTINGS = new ConcurrentHashMap<>();

    @Override
    public String getScheme() {
        return SCHEME;
    }

    @Override
    public FileSystem create(URI fsUri) {
        return new LocalFileSystem() {
            @Override
            public FileStatus[] listStatus(Path f) throws IOException {
                LISTINGS.computeIfAbsent(f.toUri().getPath(), k -> new AtomicInteger()).incrementAndGet();
                return super.listStatus(local(f));
            }

            @Override
            public FileStatus getFileStatus(Path f) throws IOException {
                return super.getFileStatus(local(f));
            }
        };
    }

    private static Path local(Path f) {
        return new Path(URI.create("file://" + f.toUri().getRawPath()));
    }
}
