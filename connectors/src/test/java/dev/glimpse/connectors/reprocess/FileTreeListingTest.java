package dev.glimpse.connectors.reprocess;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FileTreeListingTest {
    @Test
    void shouldWalkImagesInNameOrderDepthFirstSkippingHiddenAndOtherExtensions(@TempDir Path root) throws Exception {
        touch(root, "b.jpg", "a/2.PNG", "a/1.png", "a/sub/x.webp", "c.txt", ".hidden.jpg", "_SUCCESS", ".part/y.jpg",
                "with space #1.jpg", "d/e/f/deep.jpeg");
        FileTreeListing listing = new FileTreeListing(root.toUri(), FileTreeListing.IMAGE_EXTENSIONS, 2);

        assertThat(ids(listing, null, 3)).containsExactly("a/1.png", "a/2.PNG", "a/sub/x.webp", "b.jpg", "d/e/f/deep.jpeg",
                "with space #1.jpg");
        assertThat(ids(new FileTreeListing(root.toUri(), Set.of(), 2), null, 100)).contains("c.txt").doesNotContain(".hidden.jpg");
    }

    @Test
    void shouldContinueAfterItsCursorWithoutRepeatingOrMissingAnImage(@TempDir Path root) throws Exception {
        List<String> names = new ArrayList<>();
        for (int i = 0; i < 57; i++) {
            names.add(String.format("d%d/img-%03d.png", i % 4, i));
        }
        touch(root, names.toArray(String[]::new));
        FileTreeListing listing = new FileTreeListing(root.toUri(), FileTreeListing.IMAGE_EXTENSIONS, 5);
        List<String> all = ids(listing, null, 1000);
        assertThat(all).hasSize(57).isSorted();

        List<String> resumed = new ArrayList<>();
        String cursor = null;
        for (int step = 0; step < 100; step++) {
            // A fresh walk from each cursor, as a restored enumerator makes.
            try (Listing.Walk walk = listing.open(cursor)) {
                List<ListedImage> batch = walk.next(4);
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
    void shouldNameEachImageByAnEnvelopeWithItsFileUri(@TempDir Path root) throws Exception {
        touch(root, "sub/a b.jpg");
        ListedImage image;
        try (Listing.Walk walk = new FileTreeListing(root.toUri(), FileTreeListing.IMAGE_EXTENSIONS).open(null)) {
            image = walk.next(10).get(0);
        }
        assertThat(image.id()).isEqualTo("sub/a b.jpg");
        assertThat(image.sourceUri()).endsWith("/sub/a%20b.jpg");
        assertThat(Path.of(java.net.URI.create(image.sourceUri()))).isEqualTo(root.resolve("sub/a b.jpg"));
        assertThat(new String(image.value())).contains("\"uri\":\"" + image.sourceUri() + "\"").contains("\"id\":\"sub/a b.jpg\"");
    }

    private static List<String> ids(FileTreeListing listing, String cursor, int batch) throws Exception {
        List<String> out = new ArrayList<>();
        try (Listing.Walk walk = listing.open(cursor)) {
            for (List<ListedImage> b = walk.next(batch); !b.isEmpty(); b = walk.next(batch)) {
                b.forEach(i -> out.add(i.id()));
            }
        }
        return out;
    }

    private static void touch(Path root, String... names) throws Exception {
        for (String n : names) {
            Path p = root.resolve(n);
            Files.createDirectories(p.getParent());
            Files.write(p, new byte[] {1});
        }
    }

    @Test
    void shouldListEachFolderOfAFlinkFileSystemOnlyWhenTheWalkReachesIt(@TempDir Path root) throws Exception {
        List<String> names = new ArrayList<>();
        for (String dir : List.of("a", "b", "c/d")) {
            for (int i = 0; i < 30; i++) {
                names.add(String.format("%s/img-%02d.png", dir, i));
            }
        }
        touch(root, names.toArray(String[]::new));
        CountingFileSystemFactory.LISTINGS.clear();
        String base = root.toRealPath().toString();
        FileTreeListing listing = new FileTreeListing(URI.create(CountingFileSystemFactory.SCHEME + "://" + base),
                FileTreeListing.IMAGE_EXTENSIONS, 10);

        List<String> seen = new ArrayList<>();
        try (Listing.Walk walk = listing.open(null)) {
            walk.next(6).forEach(i -> seen.add(i.id()));
            assertThat(listed()).as("a few images need the root and the first folder only")
                    .containsOnlyKeys(base, base + "/a");
            while (seen.size() < 30) {
                walk.next(6).forEach(i -> seen.add(i.id()));
            }
            assertThat(listed()).as("b is not listed before the walk reaches it").doesNotContainKey(base + "/b");
            for (List<ListedImage> batch = walk.next(8); !batch.isEmpty(); batch = walk.next(8)) {
                batch.forEach(i -> seen.add(i.id()));
            }
        }
        assertThat(seen.subList(0, 30)).isEqualTo(names.subList(0, 30));
        assertThat(seen).containsExactlyInAnyOrderElementsOf(names).doesNotHaveDuplicates();
        // Windows of 10 names: a folder of 30 images is read in three passes, the root's 3 entries in one.
        assertThat(listed()).containsOnly(Map.entry(base, 1), Map.entry(base + "/a", 3), Map.entry(base + "/b", 3),
                Map.entry(base + "/c", 1), Map.entry(base + "/c/d", 3));
        assertThat(seen.get(0)).isEqualTo("a/img-00.png");
    }

    private static Map<String, Integer> listed() {
        Map<String, Integer> out = new java.util.TreeMap<>();
        CountingFileSystemFactory.LISTINGS.forEach((k, v) -> out.put(k.endsWith("/") ? k.substring(0, k.length() - 1) : k, v.get()));
        return out;
    }
}
