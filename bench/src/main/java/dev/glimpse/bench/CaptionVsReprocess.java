package dev.glimpse.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.glimpse.cli.Subcommand;
import dev.glimpse.job.GlimpseOptions;
import dev.glimpse.model.scenes.SceneGenerator;
import dev.glimpse.model.scenes.SceneSample;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Issue 16's speed point, back to back in one invocation: {@code caption} over N scenes, then {@code
 * reprocess} of the same folder to {@code jsonl:FILE} at the same batch size, then both again in the
 * reverse order, so that a load drifting during the bench weighs on both alike. Each run is a child
 * JVM with this JVM's flags (heap, PyTorch threads) and class path: what {@code bin/glimpse caption}
 * and {@code bin/glimpse reprocess} run. Its wall time runs from the child's start to its exit; the
 * time to the first captions (the JVM, for reprocess the local Flink cluster and the job's start,
 * the model's load and first batch) is reported apart, with the rate after it; for reprocess also
 * the time before its job was submitted (the JVM's start and the graph's building).
 */
final class CaptionVsReprocess {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern CAPTIONS = Pattern.compile("(?m)^captions\\s+(\\d+)$");
    private static final Pattern WALL = Pattern.compile("(?m)^wall time\\s+([0-9.]+) s$");
    private static final Pattern FIRST = Pattern.compile("(?m)^first outcome\\s+([0-9.]+) s\\s+\\((\\d+) by then\\)$");

    private final Path work;
    private final int images;
    private final int batchSize;
    private final Path model;
    private final Path profiles;

    /** {@code profiles}: where each child writes a JFR recording (null: none). */
    CaptionVsReprocess(Path work, int images, int batchSize, Path model, Path profiles) {
        this.work = work;
        this.images = images;
        this.batchSize = batchSize;
        this.model = model;
        this.profiles = profiles;
    }

    /** One child's run: its images, wall time, and when its first captions (how many) came out. */
    /** {@code meanBatch}: the size of the batch an image was captioned in, averaged over the images. */
    record Run(String command, int images, double wallSeconds, Double beforeJobSeconds, double firstSeconds, int firstImages,
               double meanBatch) {
        double rate() {
            return images / wallSeconds;
        }

        double rateAfterFirst() {
            return (images - firstImages) / (wallSeconds - firstSeconds);
        }
    }

    BenchReport run() throws Exception {
        Path scenes = scenes();
        List<Run> runs = new ArrayList<>();
        String[] order = {"caption", "reprocess", "reprocess", "caption"};
        for (int i = 0; i < order.length; i++) {
            Run r = order[i].equals("caption") ? caption(scenes, i) : reprocess(scenes, i);
            System.err.printf(Locale.ROOT, "%s: %d images in %.1f s%n", r.command(), r.images(), r.wallSeconds());
            runs.add(r);
        }
        BenchReport report = new BenchReport("caption vs reprocess to jsonl:FILE, " + images + " scenes, batch " + batchSize,
                "run", "command", "images", "wall s", "images/s", "before the job s", "first captions s", "images/s after them",
                "mean batch");
        for (int i = 0; i < runs.size(); i++) {
            Run r = runs.get(i);
            report.add(i + 1, r.command(), r.images(), r.wallSeconds(), r.rate(), r.beforeJobSeconds(), r.firstSeconds(),
                    r.rateAfterFirst(), r.meanBatch());
        }
        report.format("wall s", "%.1f").format("images/s", "%.2f").format("before the job s", "%.1f").format("first captions s", "%.1f")
                .format("images/s after them", "%.2f").format("mean batch", "%.1f");
        double[] c = totals(runs, "caption");
        double[] p = totals(runs, "reprocess");
        report.note(String.format(Locale.ROOT, "reprocess / caption, images/s of both runs each: %.2f end to end, "
                + "%.2f after the first captions", p[0] / c[0], p[1] / c[1]));
        report.note("load average at the end: " + Files.readString(Path.of("/proc/loadavg")).trim());
        return report;
    }

    /** Images/s over all runs of a command: end to end, and after the first captions. */
    private static double[] totals(List<Run> runs, String command) {
        double images = 0;
        double wall = 0;
        double after = 0;
        double afterImages = 0;
        for (Run r : runs) {
            if (r.command().equals(command)) {
                images += r.images();
                wall += r.wallSeconds();
                afterImages += r.images() - r.firstImages();
                after += r.wallSeconds() - r.firstSeconds();
            }
        }
        return new double[] {images / wall, afterImages / after};
    }

    private Path scenes() throws IOException {
        Path dir = work.resolve("scenes-" + images);
        if (!Files.isDirectory(dir)) {
            Path tmp = Files.createDirectories(work.resolve("scenes-" + images + ".tmp"));
            SceneGenerator gen = new SceneGenerator(16);
            for (int i = 0; i < images; i++) {
                SceneSample s = gen.sample(i);
                Files.write(tmp.resolve(s.fileName()), s.encoded());
            }
            Files.move(tmp, dir);
        }
        return dir;
    }

    /** {@code caption --json}: one line per caption on stdout, printed batch by batch. */
    private Run caption(Path scenes, int index) throws Exception {
        List<String> args = new ArrayList<>(List.of("caption", "--json", "--batch-size", String.valueOf(batchSize)));
        if (model != null) {
            args.addAll(List.of("--model", model.toString()));
        }
        args.add(scenes.toString());
        Process p = start(args, index, "caption");
        long start = System.nanoTime();
        double first = -1;
        int firstLines = 0;
        int lines = 0;
        try (BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            for (String line = out.readLine(); line != null; line = out.readLine()) {
                double t = (System.nanoTime() - start) / 1e9;
                lines++;
                if (first < 0) {
                    first = t;
                }
                // The first batch's lines come out together.
                if (t - first < 0.05) {
                    firstLines = lines;
                }
            }
        }
        int rc = p.waitFor();
        double wall = (System.nanoTime() - start) / 1e9;
        if (rc != 0 || lines != images) {
            throw new IllegalStateException("caption exited " + rc + " with " + lines + " captions of " + images
                    + "; see " + log(index, "caption"));
        }
        // caption fills every batch but the last.
        int last = lines % batchSize == 0 ? batchSize : lines % batchSize;
        double meanBatch = ((double) (lines - last) * batchSize + (double) last * last) / lines;
        return new Run("caption", lines, wall, null, first, firstLines, meanBatch);
    }

    /**
     * {@code reprocess --quiet} to a fresh {@code jsonl:FILE}; its summary says when its first outcomes
     * came (from the job's submission, which comes after the JVM's and the local cluster's start).
     */
    private Run reprocess(Path scenes, int index) throws Exception {
        Path out = Files.createDirectories(work.resolve("run-" + index)).resolve("captions.jsonl");
        List<String> args = new ArrayList<>(List.of("reprocess", "--quiet", "--from", scenes.toString(), "--to",
                "jsonl:" + out, "--set", GlimpseOptions.MAX_BATCH_SIZE.key() + "=" + batchSize));
        if (model != null) {
            args.addAll(List.of("--model", model.toString()));
        }
        Process p = start(args, index, "reprocess");
        long start = System.nanoTime();
        String summary = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        int rc = p.waitFor();
        double wall = (System.nanoTime() - start) / 1e9;
        Matcher captions = CAPTIONS.matcher(summary);
        Matcher jobWall = WALL.matcher(summary);
        Matcher first = FIRST.matcher(summary);
        if (rc != 0 || !captions.find() || Integer.parseInt(captions.group(1)) != images || !jobWall.find() || !first.find()) {
            throw new IllegalStateException("reprocess exited " + rc + ", summary:\n" + summary + "see " + log(index, "reprocess"));
        }
        double beforeSubmission = wall - Double.parseDouble(jobWall.group(1));
        double batchSum = 0;
        for (String line : Files.readAllLines(out)) {
            batchSum += JSON.readTree(line).path("timings_ms").path("batch_size").asInt();
        }
        return new Run("reprocess", images, wall, beforeSubmission, beforeSubmission + Double.parseDouble(first.group(1)),
                Integer.parseInt(first.group(2)), batchSum / images);
    }

    /** A child JVM with this one's flags and class path; its standard error (logs) goes to a file. */
    private Process start(List<String> args, int index, String command) throws IOException {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        for (String flag : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
            if (!flag.startsWith("-XX:StartFlightRecording") && !flag.startsWith("-agentlib")) {
                cmd.add(flag);
            }
        }
        if (profiles != null) {
            Files.createDirectories(profiles);
            // JFR announces itself on standard output, where caption's lines are counted.
            cmd.add("-Xlog:jfr+startup=error");
            cmd.add("-XX:StartFlightRecording=settings=profile,filename="
                    + profiles.resolve((index + 1) + "-" + command + ".jfr").toAbsolutePath());
        }
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), Subcommand.mainClass()));
        cmd.addAll(args);
        return new ProcessBuilder(cmd).redirectError(log(index, command).toFile()).start();
    }

    private Path log(int index, String command) {
        return work.resolve((index + 1) + "-" + command + ".log");
    }
}
