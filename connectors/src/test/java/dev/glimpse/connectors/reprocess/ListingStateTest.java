package dev.glimpse.connectors.reprocess;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

class ListingStateTest {
    private static final ImageSplit GIVEN_BACK = new ImageSplit("7",
            List.of(new ListedImage("a/b.jpg", "{\"id\":\"a/b.jpg\"}".getBytes(StandardCharsets.UTF_8), true, "s3://b/p/a/b.jpg", -1, 42)), 1);

    @Test
    void shouldKeepTheCursorsOrderBesideIt() throws Exception {
        ListingState state = new ListingState("2026/img-0000123.jpg", Listing.KEY_ORDER, List.of(GIVEN_BACK), 12);

        byte[] bytes = ListingState.SERIALIZER.serialize(state);
        ListingState back = ListingState.SERIALIZER.deserialize(ListingState.SERIALIZER.getVersion(), bytes);

        assertThat(ListingState.SERIALIZER.getVersion()).isEqualTo(2);
        assertThat(back.cursor()).isEqualTo("2026/img-0000123.jpg");
        assertThat(back.order()).isEqualTo(Listing.KEY_ORDER);
        assertThat(back.nextSplit()).isEqualTo(12);
        assertThat(back.givenBack()).hasSize(1);
        assertThat(back.givenBack().get(0).images().get(0).sourceUri()).isEqualTo("s3://b/p/a/b.jpg");
    }

    @Test
    void shouldReadAVersionOneCheckpointAsACursorInNameOrder() throws Exception {
        // Version 1's layout, as its serializer wrote it: cursor, next split, splits given back.
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (DataOutputStream out = new DataOutputStream(bytes)) {
            ImageSplitSerializer.writeNullable(out, "a/b.jpg");
            out.writeLong(8);
            out.writeInt(1);
            ImageSplitSerializer.write(out, GIVEN_BACK);
        }

        ListingState back = ListingState.SERIALIZER.deserialize(1, bytes.toByteArray());

        assertThat(back.cursor()).isEqualTo("a/b.jpg");
        assertThat(back.order()).isEqualTo(Listing.NAME_ORDER);
        assertThat(back.nextSplit()).isEqualTo(8);
        assertThat(back.givenBack()).extracting(ImageSplit::splitId).containsExactly("7");
    }

    @Test
    void shouldRefuseAVersionItDoesNotKnow() {
        assertThatThrownBy(() -> ListingState.SERIALIZER.deserialize(3, new byte[0])).isInstanceOf(IOException.class)
                .hasMessageContaining("version 3");
    }

    @Test
    void shouldRefuseToContinueAKeyOrderCursorWithAFolderWalk() {
        FileTreeListing listing = new FileTreeListing(java.net.URI.create("file:///nowhere"), FileTreeListing.IMAGE_EXTENSIONS);

        assertThatThrownBy(() -> listing.resume("a.jpg", Listing.KEY_ORDER)).isInstanceOf(IOException.class)
                .hasMessageContaining("key order");
    }
}
