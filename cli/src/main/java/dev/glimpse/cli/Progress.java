package dev.glimpse.cli;

import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Locale;
import me.tongfei.progressbar.InteractiveConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;

/**
 * Progress of a long run (reprocess, and any command that counts images towards a total): on a
 * terminal a progress bar (me.tongfei:progressbar, redrawn in place, with done/total, rate and ETA);
 * elsewhere (a log, a pipe, CI) one plain line every few seconds and never a carriage return;
 * quiet, nothing. The caller reports the counts as often as it likes; this decides what to show.
 *
 * <p>While a bar is shown, {@link System#err} is replaced by a stream that prints each whole line where
 * the bar is and the bar again below it, so that log lines ({@code conf/log4j2.xml}'s console appender
 * follows {@code System.err}) and the commands' own messages stay readable. They used to be printed on
 * the line below the bar, which the bar's next redraw (one line up from the cursor) drew over, leaving
 * the old bar above.
 */
public final class Progress implements AutoCloseable {
    /** How progress is shown. */
    public enum Mode {
        BAR, LINES, QUIET;

        /** A bar when the JVM has a terminal (and it is not a dumb one), lines otherwise, nothing when quiet. */
        public static Mode detect(boolean quiet) {
            if (quiet) {
                return QUIET;
            }
            boolean terminal = System.console() != null && !"dumb".equals(System.getenv("TERM"));
            return terminal ? BAR : LINES;
        }
    }

    /** Up to the bar's line (the cursor waits on the line below it), back to its start, and the line erased. */
    private static final String ERASE_BAR = "\u001b[1A\r\u001b[2K";

    private final String task;
    private final Mode mode;
    private final PrintStream out;
    private final long lineIntervalMs;
    private ProgressBar bar;
    private BarLine barLine;
    private long lastLineAt = Long.MIN_VALUE;
    private long done;
    private long total = -1;
    /** The counts of the last line printed, so the closing line is not a repeat. */
    private long printedDone = -1;
    private long printedTotal = -1;
    /** When the first image was done, and how many were done by then: the rate leaves out the start-up. */
    private long firstDoneAt = -1;
    private long doneAtFirst;
    private String extra = "";
    /** {@link System#err} before the bar replaced it (a bar only). */
    private PrintStream errBeforeBar;
    private LinesAboveTheBar linesAboveTheBar;

    public Progress(String task, Mode mode, PrintStream out, Duration lineInterval) {
        this.task = task;
        this.mode = mode;
        this.out = out;
        this.lineIntervalMs = lineInterval.toMillis();
        if (mode == Mode.BAR) {
            barLine = new BarLine(out);
            bar = new ProgressBarBuilder().setTaskName(task).setInitialMax(-1).setUnit(" img", 1).showSpeed()
                    .setUpdateIntervalMillis(500).setConsumer(barLine).build();
            errBeforeBar = System.err;
            linesAboveTheBar = new LinesAboveTheBar();
            System.setErr(new PrintStream(linesAboveTheBar, true, StandardCharsets.UTF_8));
        }
    }

    /**
     * The bar's consumer: the library's, which prints the bar with a newline the first time and then
     * redraws it one line up from the cursor, noting whether the bar is on the screen yet.
     */
    private static final class BarLine extends InteractiveConsoleProgressBarConsumer {
        private final PrintStream terminal;
        private boolean drawn;

        BarLine(PrintStream terminal) {
            super(terminal);
            this.terminal = terminal;
        }

        @Override
        public void accept(String rendered) {
            synchronized (terminal) {
                super.accept(rendered);
                drawn = true;
            }
        }
    }

    /** What is written to {@link System#err} while the bar is shown: printed above the bar, a whole line at a time. */
    private final class LinesAboveTheBar extends OutputStream {
        private final ByteArrayOutputStream line = new ByteArrayOutputStream();

        @Override
        public void write(int b) {
            synchronized (Progress.this) {
                line.write(b);
                if (b == '\n') {
                    printAboveTheBar(out, line.toByteArray());
                    line.reset();
                }
            }
        }

        @Override
        public void write(byte[] b, int off, int len) {
            synchronized (Progress.this) {
                for (int i = off; i < off + len; i++) {
                    write(b[i]);
                }
            }
        }

        /** A message cut short (no newline at its end) is printed when the bar goes. */
        void printRest() {
            if (line.size() > 0) {
                write('\n');
            }
        }
    }

    /**
     * Prints whole lines on {@code stream} where the bar is, and the bar again below them. The library
     * redraws the bar one line above the cursor: a line printed at the cursor would be drawn over.
     */
    private synchronized void printAboveTheBar(PrintStream stream, byte[] lines) {
        // The bar's thread writes to the same terminal: erase it and print the lines in one go.
        synchronized (out) {
            if (barLine.drawn) {
                out.print(ERASE_BAR);
                out.flush();
            }
            stream.write(lines, 0, lines.length);
            stream.flush();
            if (barLine.drawn) {
                out.println(); // the bar's new line, the cursor below it
                out.flush();
            }
        }
        bar.refresh();
    }

    /** {@code total}: -1 while unknown; {@code extra}: a short note after the numbers (e.g. dead letters). */
    public synchronized void update(long done, long total, String extra) {
        if (firstDoneAt < 0 && done > 0) {
            firstDoneAt = System.nanoTime();
            doneAtFirst = done;
        }
        this.done = done;
        this.total = total;
        this.extra = extra == null ? "" : extra;
        switch (mode) {
            case BAR -> {
                if (total >= 0 && bar.getMax() != total) {
                    bar.maxHint(total);
                }
                bar.stepTo(done);
                // The bar writes its note right after the rate: without a separator it read "? img/s0 dead letters".
                bar.setExtraMessage(this.extra.isEmpty() ? "" : ", " + this.extra);
            }
            case LINES -> {
                long now = System.nanoTime() / 1_000_000;
                if (lastLineAt == Long.MIN_VALUE || now - lastLineAt >= lineIntervalMs) {
                    lastLineAt = now;
                    printLine();
                }
            }
            case QUIET -> { }
        }
    }

    /**
     * Prints a line of the caller's own output (a table row, say) without garbling the bar: on a
     * terminal it takes the bar's place and the bar is drawn again below it.
     */
    public synchronized void println(PrintStream stream, String line) {
        if (bar != null && stream != System.err) { // System.err prints above the bar by itself
            printAboveTheBar(stream, (line + System.lineSeparator()).getBytes(StandardCharsets.UTF_8));
        } else {
            stream.println(line);
            stream.flush();
        }
    }

    /** {@code task: 1234/5000 images (24.7 %), 38.2 images/s, ETA 1m39s, note}; the rate since the first image done. */
    synchronized String line() {
        double seconds = firstDoneAt < 0 ? 0 : (System.nanoTime() - firstDoneAt) / 1e9;
        double rate = seconds < 1 ? 0 : (done - doneAtFirst) / seconds;
        StringBuilder b = new StringBuilder(task).append(": ").append(done).append('/')
                .append(total >= 0 ? String.valueOf(total) : "?").append(" images");
        if (total > 0) {
            b.append(String.format(Locale.ROOT, " (%.1f %%)", 100.0 * done / total));
        }
        // No rate until a second has passed since the first image: "0.0 images/s" beside finished work misleads.
        if (rate > 0) {
            b.append(String.format(Locale.ROOT, ", %.1f images/s", rate));
        }
        if (total >= 0 && rate > 0 && done <= total) {
            b.append(", ETA ").append(duration((long) ((total - done) / rate)));
        }
        if (!extra.isEmpty()) {
            b.append(", ").append(extra);
        }
        return b.toString();
    }

    private void printLine() {
        printedDone = done;
        printedTotal = total;
        out.println(line());
    }

    static String duration(long seconds) {
        if (seconds >= 3600) {
            return String.format(Locale.ROOT, "%dh%02dm", seconds / 3600, seconds % 3600 / 60);
        }
        return seconds >= 60 ? String.format(Locale.ROOT, "%dm%02ds", seconds / 60, seconds % 60) : seconds + "s";
    }

    /** Ends the display; a line-mode run prints its last line so the log ends on the final counts. */
    @Override
    public synchronized void close() {
        if (bar != null) {
            System.setErr(errBeforeBar);
            linesAboveTheBar.printRest();
            bar.close();
        } else if (mode == Mode.LINES && (done != printedDone || total != printedTotal)) {
            printLine();
        }
    }
}
