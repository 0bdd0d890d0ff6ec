package dev.glimpse.connectors.reprocess;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class ExistingIdsTest {
    @Test
    void shouldContainExactlyTheIdsAdded() {
        ExistingIds.Builder b = new ExistingIds.Builder();
        for (int i = 0; i < 50_000; i += 2) {
            b.add("img-" + i);
        }
        b.add("img-0");
        ExistingIds ids = b.build();
        assertThat(ids.size()).isEqualTo(25_000);
        for (int i = 0; i < 50_000; i++) {
            assertThat(ids.contains("img-" + i)).as("img-" + i).isEqualTo(i % 2 == 0);
        }
    }

    @Test
    void shouldReadTheTopLevelIdOfCompleteJsonLinesOnly() throws Exception {
        String lines = "{\"metadata\":{\"id\":\"inner\"},\"id\":\"a\",\"caption\":\"x\"}\n"
                + "{\"id\":\"b\",\"error\":{\"code\":\"EMPTY_PAYLOAD\"}}\n"
                + "not json\n"
                + "{\"id\":\"cut\",\"capt";
        ExistingIds.Builder b = new ExistingIds.Builder();
        b.addJsonLines(new ByteArrayInputStream(lines.getBytes(StandardCharsets.UTF_8)));
        ExistingIds ids = b.build();
        assertThat(ids.size()).isEqualTo(2);
        assertThat(ids.contains("a")).isTrue();
        assertThat(ids.contains("b")).isTrue();
        assertThat(ids.contains("inner")).isFalse();
        assertThat(ids.contains("cut")).isFalse();
    }
}
