package dev.glimpse.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code reprocess --gallery PAGE --prometheus-port PORT}: the run's page, thumbnails from its folder. */
class ReprocessGalleryITCase {
    @Test
    void shouldWriteTheGalleryOfTheRunWithThumbnailsFromTheSourceFolder(@TempDir Path work) throws Exception {
        Path in = work.resolve("in");
        Map<String, String> truth = ReprocessRuns.scenes(in, 105, 0, 6);
        ReprocessRuns.scenes(in.resolve("sub"), 106, 0, 2).forEach((f, c) -> truth.put("sub/" + f, c));
        Files.write(in.resolve("empty.jpg"), new byte[0]);
        Path page = work.resolve("report/page.html");

        ReprocessRuns.Result r = ReprocessRuns.reprocess("--from", in.toString(), "--to", "jsonl:" + work.resolve("out.jsonl"),
                "--gallery", page.toString(), "--prometheus-port", String.valueOf(LocalCluster.freePort()));

        assertThat(r.exitCode()).as(r.stdout()).isZero();
        assertThat(r.stdout()).contains("gallery       " + page).contains("8 captions, 1 dead letters");
        String html = Files.readString(page, StandardCharsets.UTF_8);
        assertThat(html.split("<figure ", -1)).hasSize(8 + 1);
        assertThat(html.split("<img src=\"data:image/jpeg;base64,", -1)).as("every image found in the folder").hasSize(8 + 1);
        assertThat(html).contains(">sub/" + truth.keySet().stream().filter(k -> k.startsWith("sub/")).findFirst().orElseThrow()
                .substring(4) + "<").contains("EMPTY_PAYLOAD").contains("<dt>images</dt><dd>9</dd>");
        long right = truth.values().stream().filter(html::contains).count();
        assertThat(right).as("captions of the built-in model on the page").isGreaterThanOrEqualTo(7);
    }
}
