package dev.glimpse.cli.gallery;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GalleryPageTest {
    @TempDir
    Path work;

    @Test
    void shouldWriteOneSelfContainedPageWithEveryOutcomeEscaped() throws Exception {
        GalleryFixture f = GalleryFixture.write(work, 12);
        Path out = work.resolve("page.html");
        GalleryPage.Summary s = GalleryPage.write(GallerySource.readJsonLines(f.jsonl), f.images, "jsonl:" + f.jsonl, 100, out);
        String html = Files.readString(out, StandardCharsets.UTF_8);

        assertThat(s.captions()).isEqualTo(13);
        assertThat(s.deadLetters()).isEqualTo(f.deadLetters);
        assertThat(s.withImage()).as("every scene found by its id, the markup id by none").isEqualTo(12);
        assertThat(count(html, "<figure")).isEqualTo(13);
        assertThat(count(html, "<tr><td")).isEqualTo(f.deadLetters);
        assertThat(html).contains("<dt>captioned</dt><dd>13</dd>", "<dt>dead letters</dt><dd>3</dd>",
                "<dt>images</dt><dd>16</dd>", "model glimpse-scenes", f.captions.get(0));
        // Nothing from the input is markup: the page's only script and image tags are its own.
        assertThat(count(html, "<script")).isEqualTo(1);
        assertThat(count(html, "<img ")).isEqualTo(12);
        assertThat(html).doesNotContain("<script>document", "<b>not</b>", "onerror=\"")
                .contains("&lt;script&gt;document.title=&#39;pwned&#39;&lt;/script&gt; a caption with markup &amp; &quot;quotes&quot;")
                .contains("&lt;b&gt;not&lt;/b&gt;");
        // Self-contained: a policy that forbids loading anything, images only as data URIs.
        assertThat(html).contains("default-src 'none'; img-src data:").doesNotContain("http://", "https://", "src=\"/");
        Matcher src = Pattern.compile("<img src=\"([^\"]*)\"").matcher(html);
        while (src.find()) {
            assertThat(src.group(1)).startsWith("data:image/jpeg;base64,");
            BufferedImage thumb = ImageIO.read(new ByteArrayInputStream(
                    Base64.getDecoder().decode(src.group(1).substring("data:image/jpeg;base64,".length()))));
            assertThat(Math.max(thumb.getWidth(), thumb.getHeight())).isLessThanOrEqualTo(Thumbnails.MAX_SIDE);
        }
        assertThat(s.bytes()).as("small: scaled JPEG thumbnails").isLessThan(13 * 16 * 1024);
        assertThat(html).contains("<p id=\"none\" class=\"empty\" hidden>");
    }

    @Test
    void shouldComputeThroughputFromTimestampsAndCompletion() {
        Outcome a = new Outcome("a", "x", 1, 1, "m", null, 1, null, null, null, 10_000, 500);
        Outcome b = new Outcome("b", "y", 1, 1, "m", null, 1, null, null, null, 12_000, 2_000);
        assertThat(GalleryPage.throughput(List.of(a, b))).isEqualTo("0.5/s <small>over 4.0 s</small>");
        Outcome noTime = new Outcome("c", "z", 1, 1, "m", null, 1, null, null, null, -1, -1);
        assertThat(GalleryPage.throughput(List.of(noTime))).isEqualTo("n/a");
    }

    @Test
    void shouldFindImagesByPathNameOrStemButNeverOutsideTheFolder() throws Exception {
        GalleryFixture f = GalleryFixture.write(work, 2);
        Thumbnails t = new Thumbnails(f.images);
        Path scene1 = t.find("scene-1").orElseThrow();
        assertThat(scene1.getParent()).isEqualTo(f.images);
        assertThat(t.find(scene1.getFileName().toString())).contains(scene1);
        assertThat(t.find("file:///elsewhere/scene-1")).contains(scene1);
        assertThat(t.find("../outcomes.jsonl")).isEmpty();
        assertThat(t.find(f.jsonl.toString())).isEmpty();
        assertThat(t.find("missing")).isEmpty();
        assertThat(t.dataUri("scene-0")).hasValueSatisfying(u -> assertThat(u).startsWith("data:image/jpeg;base64,"));
    }

    @Test
    void shouldOrderIdsWithNumbersByValue() {
        assertThat(List.of("scene-10", "scene-2", "b", "scene-1", "a-7-3.jpg", "a-7-13.jpg").stream()
                .sorted(GalleryPage::naturalOrder).toList())
                .containsExactly("a-7-3.jpg", "a-7-13.jpg", "b", "scene-1", "scene-2", "scene-10");
    }

    @Test
    void shouldEscapeEveryMarkupCharacter() {
        assertThat(Html.escape("<a href='x' title=\"y\">&`</a>\u0007")).isEqualTo(
                "&lt;a href=&#39;x&#39; title=&quot;y&quot;&gt;&amp;&#96;&lt;/a&gt;&#xFFFD;");
        assertThat(Html.escape(null)).isEmpty();
    }

    @Test
    void shouldRefuseAnUnknownSource() {
        assertThatThrownBy(() -> GallerySource.parse("captions.jsonl")).hasMessageContaining("jsonl:FILE, parquet:DIR/ or kafka:");
        assertThatThrownBy(() -> GallerySource.parse("kafka:captions")).hasMessageContaining("--from");
        assertThat(GallerySource.parse("kafka:captions,captions-dlq@localhost:9092").topics())
                .containsExactly("captions", "captions-dlq");
    }

    private static int count(String s, String needle) {
        int n = 0;
        for (int i = s.indexOf(needle); i >= 0; i = s.indexOf(needle, i + 1)) {
            n++;
        }
        return n;
    }
}
