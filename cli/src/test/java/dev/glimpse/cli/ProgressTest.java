package dev.glimpse.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class ProgressTest {
    @Test
    void shouldPrintPlainLinesWithoutCarriageReturnsOffATerminal() throws Exception {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (Progress p = new Progress("reprocess", Progress.Mode.LINES, new PrintStream(bytes, true, StandardCharsets.UTF_8),
                Duration.ZERO)) {
            p.update(0, -1, "");
            p.update(1, 10, "0 dead letters");
            Thread.sleep(1100);
            p.update(3, 10, "1 dead letters");
        }
        String out = bytes.toString(StandardCharsets.UTF_8);
        assertThat(out).doesNotContain("\r");
        assertThat(out.split("\n")).hasSize(3);
        assertThat(out.split("\n")[0]).startsWith("reprocess: 0/? images");
        assertThat(out.split("\n")[1]).startsWith("reprocess: 1/10 images (10.0 %), 0 dead letters");
        assertThat(out.split("\n")[2]).startsWith("reprocess: 3/10 images (30.0 %)").contains("images/s").contains("ETA")
                .endsWith(", 1 dead letters");
    }

    @Test
    void shouldPrintAtMostOneLinePerInterval() {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        Progress p = new Progress("reprocess", Progress.Mode.LINES, new PrintStream(bytes, true, StandardCharsets.UTF_8),
                Duration.ofHours(1));
        for (int i = 0; i < 100; i++) {
            p.update(i, 100, "");
        }
        assertThat(bytes.toString(StandardCharsets.UTF_8).split("\n")).hasSize(1);
        p.close();
        String[] lines = bytes.toString(StandardCharsets.UTF_8).split("\n");
        assertThat(lines).as("the last counts, once").hasSize(2);
        assertThat(lines[1]).startsWith("reprocess: 99/100 images");
        bytes.reset();
        Progress q = new Progress("reprocess", Progress.Mode.LINES, new PrintStream(bytes, true, StandardCharsets.UTF_8),
                Duration.ZERO);
        q.update(7, 7, "");
        q.close();
        assertThat(bytes.toString(StandardCharsets.UTF_8).split("\n")).as("no repeat of a line just printed").hasSize(1);
    }

    @Test
    void shouldPrintNothingWhenQuiet() {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (Progress p = new Progress("reprocess", Progress.Mode.QUIET, new PrintStream(bytes, true, StandardCharsets.UTF_8),
                Duration.ZERO)) {
            p.update(5, 10, "");
        }
        assertThat(bytes.size()).isZero();
    }

    @Test
    void shouldDrawABarInPlaceOnATerminal() throws Exception {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (Progress p = new Progress("reprocess", Progress.Mode.BAR, new PrintStream(bytes, true, StandardCharsets.UTF_8),
                Duration.ZERO)) {
            p.update(40, 80, "0 dead letters");
            Thread.sleep(700);
        }
        String out = bytes.toString(StandardCharsets.UTF_8);
        assertThat(out).contains("\r").contains("40/80").contains("0 dead letters");
    }

    @Test
    void shouldSetTheNoteApartFromTheBarsRate() throws Exception {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (Progress p = new Progress("reprocess", Progress.Mode.BAR, new PrintStream(bytes, true, StandardCharsets.UTF_8),
                Duration.ZERO)) {
            p.update(0, -1, "0 dead letters");
            Thread.sleep(700);
        }
        String out = bytes.toString(StandardCharsets.UTF_8);
        assertThat(out).contains("img/s, 0 dead letters").doesNotContain("img/s0");
    }
}
