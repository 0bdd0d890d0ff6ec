package dev.glimpse.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.glimpse.connectors.reprocess.FileTreeListing;
import dev.glimpse.connectors.reprocess.ImageSplit;
import dev.glimpse.connectors.reprocess.ListedImage;
import dev.glimpse.connectors.reprocess.Listing;
import dev.glimpse.connectors.reprocess.ListingSource;
import dev.glimpse.connectors.reprocess.ListingState;
import dev.glimpse.connectors.reprocess.S3PrefixListing;
import dev.glimpse.job.GlimpseConfig;
import dev.glimpse.s3.S3MockServer;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.flink.api.connector.source.SplitEnumerator;
import org.apache.flink.api.connector.source.SplitsAssignment;
import org.apache.flink.api.connector.source.mocks.MockSplitEnumeratorContext;
import org.apache.flink.core.fs.FileSystem;
import org.apache.flink.core.io.SimpleVersionedSerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * {@link S3PrefixListing} against a real S3 server on loopback (S3Mock): a prefix of 2,500 objects
 * (three pages of S3's listing) and a small one whose key order and name order differ, beside Flink's
 * own S3 file system walked by {@link FileTreeListing}; and the source's enumerator, checkpointed and
 * restored, driven by Flink's {@code MockSplitEnumeratorContext}.
 */
class S3PrefixListingITCase {
    static final String BUCKET = "listing";
    static final int BIG = 2_500;
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    static Path work;
    static S3MockServer s3;

    @BeforeAll
    static void startS3() throws Exception {
        s3 = S3MockServer.start(work.resolve("s3mock"), Duration.ofMinutes(5), BUCKET);
        List<String> keys = new ArrayList<>();
        for (int i = 0; i < BIG; i++) {
            keys.add(String.format("big/img-%05d.jpg", i));
        }
        keys.addAll(List.of("mixed/a.jpg", "mixed/a/b.jpg", "mixed/a-c.png", "mixed/with space #1.jpg", "mixed/.hidden.jpg",
                "mixed/_temporary/0/part.jpg", "mixed/notes.txt", "mixed/sub/", "mixedup/outside.jpg"));
        try (S3Client client = s3.client()) {
            S3MockServer.putAll(client, BUCKET, keys, new byte[] {1}, 8);
        }
        FlinkFileSystems.initialize(GlimpseConfig.load(null, s3.options()));
    }

    @AfterAll
    static void stopS3() throws Exception {
        FileSystem.initialize(new org.apache.flink.configuration.Configuration(), null);
        if (s3 != null) {
            s3.close();
        }
    }

    private static S3PrefixListing listing(String prefix) {
        return new S3PrefixListing(URI.create("s3://" + BUCKET + "/" + prefix), FileTreeListing.IMAGE_EXTENSIONS, s3.options());
    }

    /** The envelope of each image by id, in the walk's order. */
    private static Map<String, String> uris(Listing.Walk walk) throws Exception {
        Map<String, String> uris = new LinkedHashMap<>();
        for (List<ListedImage> batch = walk.next(8); !batch.isEmpty(); batch = walk.next(8)) {
            for (ListedImage image : batch) {
                assertThat(uris.put(image.id(), JSON.readTree(image.value()).path("uri").asText())).as("listed once: %s", image.id()).isNull();
            }
        }
        return uris;
    }

    @Test
    void shouldListTheImagesUnderThePrefixInKeyOrderAsFlinksFileSystemSeesThem() throws Exception {
        Map<String, String> byKeys;
        try (Listing.Walk walk = listing("mixed").open(null)) {
            byKeys = uris(walk);
            assertThat(walk.order()).isEqualTo(Listing.KEY_ORDER);
        }
        Map<String, String> byTree;
        try (Listing.Walk walk = new FileTreeListing(URI.create("s3://" + BUCKET + "/mixed"), FileTreeListing.IMAGE_EXTENSIONS).open(null)) {
            byTree = uris(walk);
        }

        assertThat(byKeys.keySet()).containsExactly("a-c.png", "a.jpg", "a/b.jpg", "with space #1.jpg");
        assertThat(byTree.keySet()).as("name order, depth first").containsExactly("a/b.jpg", "a-c.png", "a.jpg", "with space #1.jpg");
        assertThat(byKeys).as("the same images by the same URIs").isEqualTo(byTree);
        assertThat(byKeys.get("with space #1.jpg")).isEqualTo("s3://" + BUCKET + "/mixed/with%20space%20%231.jpg");
    }

    @Test
    void shouldPageThroughALargePrefixAndContinueFromEachCursorWithoutRepeatingOrMissingAnImage() throws Exception {
        S3PrefixListing listing = listing("big/");
        List<String> all;
        try (Listing.Walk walk = listing.open(null)) {
            all = new ArrayList<>(uris(walk).keySet());
        }
        assertThat(all).hasSize(BIG).isSorted().startsWith("img-00000.jpg").endsWith(String.format("img-%05d.jpg", BIG - 1));

        List<String> resumed = new ArrayList<>();
        String cursor = null;
        while (true) {
            // A fresh walk from each cursor, as a restored enumerator makes: S3 lists from the key after it.
            try (Listing.Walk walk = listing.resume(cursor, Listing.KEY_ORDER)) {
                List<ListedImage> batch = walk.next(300);
                if (batch.isEmpty()) {
                    break;
                }
                batch.forEach(i -> resumed.add(i.id()));
                cursor = walk.cursor();
            }
        }
        assertThat(resumed).isEqualTo(all);
    }

    @Test
    void shouldContinueAVersionOneCursorInNameOrder() throws Exception {
        S3PrefixListing listing = listing("mixed");
        String cursor;
        try (Listing.Walk walk = new FileTreeListing(URI.create("s3://" + BUCKET + "/mixed"), FileTreeListing.IMAGE_EXTENSIONS).open(null)) {
            assertThat(walk.next(1)).extracting(ListedImage::id).containsExactly("a/b.jpg");
            cursor = walk.cursor();
        }

        try (Listing.Walk walk = listing.resume(cursor, Listing.NAME_ORDER)) {
            assertThat(walk.order()).isEqualTo(Listing.NAME_ORDER);
            assertThat(uris(walk).keySet()).containsExactly("a-c.png", "a.jpg", "with space #1.jpg");
        }
        try (Listing.Walk walk = listing.resume(cursor, Listing.KEY_ORDER)) {
            assertThat(uris(walk).keySet()).as("the same cursor as a start-after key would skip two images")
                    .containsExactly("with space #1.jpg");
        }
    }

    @Test
    void shouldCheckpointTheLastKeyHandedOutAndContinueAfterItWhenRestored() throws Exception {
        ListingSource source = new ListingSource(listing("big"), null);
        SimpleVersionedSerializer<ListingState> serializer = source.getEnumeratorCheckpointSerializer();
        List<String> ids = new ArrayList<>();
        byte[] checkpoint;
        try (MockSplitEnumeratorContext<ImageSplit> context = new MockSplitEnumeratorContext<>(2);
             SplitEnumerator<ImageSplit, ListingState> enumerator = source.createEnumerator(context)) {
            enumerator.start();
            for (int i = 0; i < 3; i++) {
                enumerator.handleSplitRequest(i % 2, "localhost");
            }
            ids.addAll(assigned(context));
            ListingState state = enumerator.snapshotState(1);
            assertThat(state.cursor()).isEqualTo(ids.get(ids.size() - 1)).isEqualTo("img-00023.jpg");
            assertThat(state.order()).isEqualTo(Listing.KEY_ORDER);
            checkpoint = serializer.serialize(state);
        }

        try (MockSplitEnumeratorContext<ImageSplit> context = new MockSplitEnumeratorContext<>(2);
             SplitEnumerator<ImageSplit, ListingState> enumerator = source.restoreEnumerator(context,
                     serializer.deserialize(serializer.getVersion(), checkpoint))) {
            enumerator.start();
            while (!context.hasNoMoreSplits(0)) {
                enumerator.handleSplitRequest(0, "localhost");
            }
            ids.addAll(assigned(context));
        }
        List<String> all = new ArrayList<>();
        for (int i = 0; i < BIG; i++) {
            all.add(String.format("img-%05d.jpg", i));
        }
        assertThat(ids).as("every image once, in key order, across the restore").isEqualTo(all);
    }

    private static List<String> assigned(MockSplitEnumeratorContext<ImageSplit> context) {
        List<String> ids = new ArrayList<>();
        for (SplitsAssignment<ImageSplit> a : context.getSplitsAssignmentSequence()) {
            a.assignment().values().forEach(splits -> splits.forEach(split -> split.images().forEach(i -> ids.add(i.id()))));
        }
        return ids;
    }
}
