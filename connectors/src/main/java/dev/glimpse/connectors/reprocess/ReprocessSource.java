package dev.glimpse.connectors.reprocess;

import dev.glimpse.connectors.KafkaSettings;
import dev.glimpse.operators.ImageEvent;
import dev.glimpse.operators.ImageEventDeserializer;
import dev.glimpse.operators.ImageIds;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.functions.MapFunction;
import org.apache.flink.connector.kafka.source.KafkaSource;
import org.apache.flink.connector.kafka.source.KafkaSourceBuilder;
import org.apache.flink.core.fs.FileSystem;
import org.apache.flink.core.fs.UnsupportedFileSystemSchemeException;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;

/** {@code --from}: what a reprocessing run reads, parsed from its command-line form. */
public sealed interface ReprocessSource permits ReprocessSource.Folder, ReprocessSource.Manifest, ReprocessSource.KafkaTopic {
    /**
     * {@code file:///DIR}, a plain path, or any URI a Flink file system serves ({@code s3://b/p}):
     * every image under it; {@code manifest:FILE} (a path or URI); {@code kafka:TOPIC@BOOTSTRAP}.
     */
    static ReprocessSource parse(String text, Set<String> extensions, KafkaRange range) {
        return parse(text, extensions, range, null);
    }

    /**
     * As {@link #parse(String, Set, KafkaRange)}; {@code s3Options}: Flink's S3 options of the run
     * ({@code s3.endpoint}, {@code s3.access-key}, ...; empty where the installation's {@code config.yaml}
     * holds them), with which an {@code s3://} prefix is listed a page of S3's object listing at a time
     * ({@link S3PrefixListing}); null walks it through Flink's file system instead ({@link
     * FileTreeListing}: each window of names lists the prefix again).
     */
    static ReprocessSource parse(String text, Set<String> extensions, KafkaRange range, Map<String, String> s3Options) {
        if (text == null || text.isBlank()) {
            throw new IllegalArgumentException("--from needs a folder, manifest:FILE or kafka:TOPIC@BOOTSTRAP");
        }
        if (text.startsWith("kafka:")) {
            String spec = text.substring("kafka:".length());
            int at = spec.indexOf('@');
            if (at < 1 || at == spec.length() - 1) {
                throw new IllegalArgumentException("--from " + text + ": expected kafka:TOPIC@HOST:PORT[,HOST:PORT]");
            }
            return new KafkaTopic(spec.substring(0, at), spec.substring(at + 1), range);
        }
        if (text.startsWith("manifest:")) {
            String file = text.substring("manifest:".length());
            URI uri;
            if (file.matches("^[a-zA-Z][a-zA-Z0-9+.-]*:/.*") && !file.startsWith("file:")) {
                uri = URI.create(file);
            } else {
                Path local = file.startsWith("file:") ? Path.of(URI.create(file)) : Path.of(file);
                try {
                    uri = local.toRealPath().toUri();
                } catch (IOException e) {
                    throw new IllegalArgumentException("--from " + text + ": no such manifest");
                }
            }
            try {
                return new Manifest(new ManifestListing(uri));
            } catch (IOException e) {
                throw new IllegalArgumentException("--from " + text + ": cannot read the manifest (" + e.getMessage() + ")");
            }
        }
        if (text.startsWith("file:")) {
            return Folder.of(new FileTreeListing(localFolder(Path.of(URI.create(text)), "--from " + text).toUri(), extensions));
        }
        if (text.matches("^[a-zA-Z][a-zA-Z0-9+.-]*://.*")) {
            URI uri = URI.create(text);
            remoteFolder(uri, "--from " + text);
            if (s3Options != null && S3PrefixListing.serves(uri)) {
                S3PrefixListing listing = new S3PrefixListing(uri, extensions, s3Options);
                return new Folder(listing, listing.rootUri());
            }
            return Folder.of(new FileTreeListing(uri, extensions));
        }
        return Folder.of(new FileTreeListing(localFolder(Path.of(text), "--from " + text).toUri(), extensions));
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

    /**
     * Checks that a Flink file system serves {@code uri} and that it names a folder (on S3: a prefix
     * with objects under it), so that a missing plugin or a wrong prefix stops the command at once
     * rather than the job's enumerator.
     */
    private static void remoteFolder(URI uri, String what) {
        org.apache.flink.core.fs.Path path = new org.apache.flink.core.fs.Path(uri);
        FileSystem fs;
        try {
            fs = path.getFileSystem();
        } catch (UnsupportedFileSystemSchemeException e) {
            throw new IllegalArgumentException(what + ": no Flink file system serves " + uri.getScheme() + "://"
                    + (uri.getScheme().startsWith("s3") ? " (Flink's S3 plugin belongs in plugins/s3-fs-hadoop/: "
                    + "docs/reprocessing.md, \"From S3\")" : ""));
        } catch (IOException e) {
            throw new IllegalArgumentException(what + ": cannot open its file system (" + shortMessage(e) + ")");
        }
        try {
            if (!fs.getFileStatus(path).isDir()) {
                throw new IllegalArgumentException(what + ": not a folder");
            }
        } catch (FileNotFoundException e) {
            throw new IllegalArgumentException(what + ": no such folder");
        } catch (IOException e) {
            throw new IllegalArgumentException(what + ": cannot read it (" + shortMessage(e) + ")");
        }
    }

    private static String shortMessage(IOException e) {
        String m = e.getMessage() == null ? "" : e.getMessage().lines().findFirst().orElse("");
        return e.getClass().getSimpleName() + (m.isEmpty() ? "" : ": " + (m.length() > 300 ? m.substring(0, 300) + "..." : m));
    }

    /** The records of the run, at the CPU stages' parallelism. */
    SingleOutputStreamOperator<ImageEvent> stream(StreamExecutionEnvironment env, KafkaSettings kafka, String defaultPrompt);

    /**
     * How many images it holds, without those in {@code existing} unless {@link #totalIncludesSkipped()};
     * a quick pass the command makes beside the job.
     */
    long count(ExistingIds existing, KafkaSettings kafka) throws IOException;

    /** True when {@link #count} cannot leave out the images that will be skipped (a topic's range). */
    default boolean totalIncludesSkipped() {
        return false;
    }

    private static long countListing(Listing listing, ExistingIds existing) throws IOException {
        long n = 0;
        try (Listing.Walk walk = listing.open(null)) {
            for (List<ListedImage> batch = walk.next(1024); !batch.isEmpty(); batch = walk.next(1024)) {
                for (ListedImage image : batch) {
                    if (existing.size() == 0 || !existing.contains(ImageIds.of(image.toEvent(null)))) {
                        n++;
                    }
                }
            }
        }
        return n;
    }

    /** URI prefixes the run's envelopes point at, which the decoder must allow. */
    List<String> allowedUris();

    /**
     * A folder tree or an S3 prefix at {@code rootUri}, walked lazily by a source of Glimpse's own (see
     * {@link ListingSource}).
     */
    record Folder(Listing listing, String rootUri) implements ReprocessSource {
        static Folder of(FileTreeListing listing) {
            return new Folder(listing, listing.rootUri());
        }

        @Override
        public SingleOutputStreamOperator<ImageEvent> stream(StreamExecutionEnvironment env, KafkaSettings kafka, String defaultPrompt) {
            return env.fromSource(new ListingSource(listing, defaultPrompt), WatermarkStrategy.noWatermarks(), "folder " + listing)
                    .uid("folder-source");
        }

        @Override
        public long count(ExistingIds existing, KafkaSettings kafka) throws IOException {
            return countListing(listing, existing);
        }

        @Override
        public List<String> allowedUris() {
            return List.of(rootUri + "/");
        }

        @Override
        public String toString() {
            return rootUri;
        }
    }

    /** The lines of a manifest, read lazily by the same source as a folder. */
    record Manifest(ManifestListing listing) implements ReprocessSource {
        @Override
        public SingleOutputStreamOperator<ImageEvent> stream(StreamExecutionEnvironment env, KafkaSettings kafka, String defaultPrompt) {
            return env.fromSource(new ListingSource(listing, defaultPrompt), WatermarkStrategy.noWatermarks(), listing.toString())
                    .uid("manifest-source");
        }

        @Override
        public long count(ExistingIds existing, KafkaSettings kafka) throws IOException {
            return countListing(listing, existing);
        }

        @Override
        public List<String> allowedUris() {
            return List.of(listing.folderUri());
        }

        @Override
        public String toString() {
            return listing.toString();
        }
    }

    /**
     * A range of a topic's history: Flink's bounded {@code KafkaSource}, reading only committed records
     * (the connector sets no isolation level itself), from {@link KafkaRange#start()} to its end. It
     * commits no offsets: a run is defined by its range, not by a consumer group's position.
     */
    record KafkaTopic(String topic, String bootstrap, KafkaRange range) implements ReprocessSource {
        @Override
        public SingleOutputStreamOperator<ImageEvent> stream(StreamExecutionEnvironment env, KafkaSettings kafka, String defaultPrompt) {
            KafkaSourceBuilder<ImageEvent> b = KafkaSource.<ImageEvent>builder()
                    .setBootstrapServers(bootstrap)
                    .setTopics(topic)
                    .setGroupId("glimpse-reprocess")
                    .setStartingOffsets(range.start())
                    .setBounded(range.stop())
                    .setDeserializer(new ImageEventDeserializer());
            kafka.properties().forEach(b::setProperty);
            b.setProperty("isolation.level", "read_committed").setProperty("commit.offsets.on.checkpoint", "false");
            SingleOutputStreamOperator<ImageEvent> events = env.fromSource(b.build(), WatermarkStrategy.noWatermarks(),
                    "kafka " + topic).uid("kafka-range-source");
            if (defaultPrompt == null) {
                return events;
            }
            return events.map(new DefaultPrompt(defaultPrompt)).returns(ImageEvent.class).name("default prompt").uid("default-prompt");
        }

        @Override
        public long count(ExistingIds existing, KafkaSettings kafka) {
            return range.size(topic, bootstrap, kafka.properties());
        }

        @Override
        public boolean totalIncludesSkipped() {
            return true;
        }

        @Override
        public List<String> allowedUris() {
            return List.of();
        }

        @Override
        public String toString() {
            return "kafka " + topic + "@" + bootstrap;
        }
    }

    /** The {@code --prompt} of records that bring none in a header (an envelope's own prompt still wins). */
    final class DefaultPrompt implements MapFunction<ImageEvent, ImageEvent> {
        private final String prompt;

        DefaultPrompt(String prompt) {
            this.prompt = prompt;
        }

        @Override
        public ImageEvent map(ImageEvent e) {
            if (e.headerPrompt == null) {
                e.headerPrompt = prompt;
            }
            return e;
        }
    }
}
