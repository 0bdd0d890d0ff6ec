package dev.glimpse.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.apache.logging.log4j.core.LoggerContext;
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

    @Test
    void shouldPrintLogLinesAndMessagesAboveTheBarNotThroughIt() throws Exception {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        PrintStream out = System.out;
        PrintStream err = System.err;
        // bin/glimpse's own logging configuration, on a terminal that is this test's stream.
        PrintStream terminal = new PrintStream(bytes, true, StandardCharsets.UTF_8);
        System.setOut(terminal);
        System.setErr(terminal);
        LoggerContext logging = new LoggerContext("progress-test", null, Path.of("..", "conf", "log4j2.xml").toUri());
        try {
            logging.start();
            try (Progress p = new Progress("reprocess", Progress.Mode.BAR, System.err, Duration.ZERO)) {
                p.update(3, 10, "0 dead letters");
                long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
                while (!bytes.toString(StandardCharsets.UTF_8).contains("3/10") && System.nanoTime() < deadline) {
                    Thread.sleep(20);
                }
                logging.getLogger("dev.glimpse.operators.BatchedCaptioner").info("captioning on the CPU");
                System.err.println("reprocess: cannot count the input (gone); total unknown");
                p.update(5, 10, "0 dead letters");
                Thread.sleep(700);
                p.println(System.out, "a row of the caller's own");
                System.err.println("and a message on System.err");
                Thread.sleep(700);
            }
        } finally {
            logging.stop();
            System.setOut(out);
            System.setErr(err);
        }
        List<String> screen = screen(bytes.toString(StandardCharsets.UTF_8));
        assertThat(screen).as("what the terminal shows").hasSize(5);
        assertThat(screen.get(0)).matches("\\d\\d:\\d\\d:\\d\\d\\.\\d{3} INFO  BatchedCaptioner - captioning on the CPU");
        assertThat(screen.get(1)).isEqualTo("reprocess: cannot count the input (gone); total unknown");
        assertThat(screen.get(2)).isEqualTo("a row of the caller's own");
        assertThat(screen.get(3)).isEqualTo("and a message on System.err");
        assertThat(screen.get(4)).as("the bar, once, last").contains("5/10 img").contains("0 dead letters");
        assertThat(System.err).as("System.err given back").isSameAs(err);
    }

    /**
     * The lines a terminal shows for {@code raw}: a carriage return goes back to the line's start, a
     * newline down to the next line's start, {@code ESC[nA} and {@code ESC[nB} n lines up and down,
     * {@code ESC[2K} erases the line, other escape sequences (colours) show nothing, a character
     * overwrites what is under the cursor.
     */
    private static List<String> screen(String raw) {
        List<StringBuilder> lines = new ArrayList<>(List.of(new StringBuilder()));
        int row = 0;
        int column = 0;
        for (int i = 0; i < raw.length(); i++) {
            char ch = raw.charAt(i);
            if (ch == '\u001b' && i + 1 < raw.length() && raw.charAt(i + 1) == '[') {
                int end = i + 2;
                while (!Character.isLetter(raw.charAt(end))) {
                    end++;
                }
                String arg = raw.substring(i + 2, end);
                int n = arg.isEmpty() ? 1 : Integer.parseInt(arg.replaceAll("[^0-9].*", ""));
                switch (raw.charAt(end)) {
                    case 'A' -> row = Math.max(0, row - n);
                    case 'B' -> row += n;
                    case 'K' -> lines.get(row).setLength(0);
                    default -> { }
                }
                i = end;
            } else if (ch == '\r') {
                column = 0;
            } else if (ch == '\n') {
                row++;
                column = 0;
            } else {
                StringBuilder line = lines.get(row);
                while (line.length() < column) {
                    line.append(' ');
                }
                if (column < line.length()) {
                    line.setCharAt(column, ch);
                } else {
                    line.append(ch);
                }
                column++;
            }
            while (lines.size() <= row) {
                lines.add(new StringBuilder());
            }
        }
        List<String> shown = new ArrayList<>();
        lines.forEach(l -> shown.add(l.toString().stripTrailing()));
        while (!shown.isEmpty() && shown.get(shown.size() - 1).isEmpty()) {
            shown.remove(shown.size() - 1);
        }
        return shown;
    }
}
