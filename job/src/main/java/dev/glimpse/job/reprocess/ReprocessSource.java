package dev.glimpse.job.reprocess;

import dev.glimpse.job.GlimpseConfig;
import dev.glimpse.operators.ImageEvent;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;

/** {@code --from}: what a reprocessing run reads, parsed from its command-line form. */
public sealed interface ReprocessSource permits ReprocessSource.Folder {
    /**
     * {@code file:///DIR}, a plain path, or any URI a Flink file system serves ({@code s3://b/p}):
     * every image under it.
     */
    static ReprocessSource parse(String text, Set<String> extensions) {
        if (text == null || text.isBlank()) {
            throw new IllegalArgumentException("--from needs a folder, manifest:FILE or kafka:TOPIC@BOOTSTRAP");
        }
        if (text.startsWith("file:")) {
            return new Folder(new FileTreeListing(localFolder(Path.of(URI.create(text)), "--from " + text).toUri(), extensions));
        }
        if (text.matches("^[a-zA-Z][a-zA-Z0-9+.-]*://.*")) {
            return new Folder(new FileTreeListing(URI.create(text), extensions));
        }
        return new Folder(new FileTreeListing(localFolder(Path.of(text), "--from " + text).toUri(), extensions));
    }

    /**
     * A local folder by its real path: the decoder matches {@code file://} URIs by their real path
     * against the allowed URIs, so the envelopes must name it that way too.
     */
    private static Path localFolder(Path dir, String what) {
        try {
            Path real = dir.toRealPath();
            if (java.nio.file.Files.isDirectory(real)) {
                return real;
            }
        } catch (IOException e) {
            // Reported below.
        }
        throw new IllegalArgumentException(what + ": no such folder");
    }

    /** The records of the run, at the CPU stages' parallelism. */
    SingleOutputStreamOperator<ImageEvent> stream(StreamExecutionEnvironment env, GlimpseConfig c, String defaultPrompt);

    /** How many images it holds, skipping {@code existing}; a quick pass the command makes beside the job. */
    long count(ExistingIds existing) throws IOException;

    /** URI prefixes the run's envelopes point at, which the decoder must allow. */
    List<String> allowedUris();

    /** A folder tree, walked lazily by a source of Glimpse's own (see {@link ListingSource}). */
    record Folder(FileTreeListing listing) implements ReprocessSource {
        @Override
        public SingleOutputStreamOperator<ImageEvent> stream(StreamExecutionEnvironment env, GlimpseConfig c, String defaultPrompt) {
            return env.fromSource(new ListingSource(listing, defaultPrompt), WatermarkStrategy.noWatermarks(), "folder " + listing)
                    .uid("folder-source");
        }

        @Override
        public long count(ExistingIds existing) throws IOException {
            long n = 0;
            try (Listing.Walk walk = listing.open(null)) {
                for (List<ListedImage> batch = walk.next(1024); !batch.isEmpty(); batch = walk.next(1024)) {
                    for (ListedImage image : batch) {
                        if (!existing.contains(image.id())) {
                            n++;
                        }
                    }
                }
            }
            return n;
        }

        @Override
        public List<String> allowedUris() {
            return List.of(listing.rootUri() + "/");
        }

        @Override
        public String toString() {
            return listing.rootUri();
        }
    }
}
