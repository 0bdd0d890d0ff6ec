package dev.glimpse.model.training;

import dev.glimpse.model.Captioner;
import dev.glimpse.model.ImageDecodeException;
import dev.glimpse.model.ImageFormat;
import dev.glimpse.model.ImagePreprocessor;
import dev.glimpse.model.ViewPlan;
import dev.glimpse.model.VisionLanguageModel;
import dev.glimpse.model.scenes.CaptionParts;
import dev.glimpse.model.scenes.ObjectSize;
import dev.glimpse.model.scenes.Scene;
import dev.glimpse.model.scenes.SceneGenerator;
import dev.glimpse.model.scenes.SceneSample;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.twelvemonkeys.imageio.metadata.jpeg.JPEGQuality;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.function.IntFunction;
import javax.imageio.ImageIO;
import javax.imageio.stream.ImageInputStream;

/**
 * Renders fresh scenes, captions them, and scores exact match plus each attribute (count, shape,
 * colour, size, background, order), with the most frequent confusions.
 */
public final class Evaluator {
    public static final List<String> ATTRIBUTES = List.of("count", "shape", "colour", "size", "background", "order");
    private static final String BY_COUNT = "object count";
    private static final String BY_SMALL = "small objects";
    private static final String BY_SIDE = "image side";
    private static final String BY_FORMAT = "image format";
    /** The ways {@link Report#groups} splits the scenes, in print order. */
    public static final List<String> GROUPINGS = List.of(BY_COUNT, BY_SMALL, BY_SIDE, BY_FORMAT);

    /**
     * The scores of one evaluation. {@code order} counts only scenes whose objects were all named right.
     * {@code groups} holds exact match ({right, scenes}) by kind of scene and of image: for each
     * {@link #GROUPINGS grouping}, its groups in print order; every scene falls in one group of each.
     * Object count, small objects, a side below the model's input size and low JPEG quality are what
     * make a scene hard.
     */
    public record Report(int total, ViewPlan views, int redecoded, int exact, Map<String, int[]> attributes, Map<String, Map<String, int[]>> groups,
                         Map<String, Integer> confusions, List<String[]> wrong, List<String> captions, double seconds) {
        /** How the images were decoded: from how many views, and how many again from the shifted views. */
        public String viewsNote() {
            if (views.adaptive()) {
                return String.format("1 view, the %d shifted views for %d unsure images (%.1f %%)", views.rows() - 1,
                        redecoded, 100.0 * redecoded / total);
            }
            return views.rows() == 1 ? "1 view each" : views.rows() + " views each";
        }

        public double exactMatch() {
            return (double) exact / total;
        }

        public double accuracy(String attribute) {
            int[] c = attributes.get(attribute);
            return c[1] == 0 ? 1.0 : (double) c[0] / c[1];
        }

        public String table() {
            StringBuilder sb = new StringBuilder();
            sb.append(String.format("scenes      %d (%.1f images/s, %s)%n", total, total / seconds, viewsNote()));
            sb.append(String.format("exact match %.2f %% (%d/%d)%n", 100 * exactMatch(), exact, total));
            sb.append(String.format("%-11s %-9s %s%n", "attribute", "accuracy", "right/scored"));
            for (String a : ATTRIBUTES) {
                int[] c = attributes.get(a);
                sb.append(String.format("%-11s %6.2f %%  %d/%d%n", a, 100 * accuracy(a), c[0], c[1]));
            }
            groups.forEach((grouping, byGroup) -> {
                sb.append("exact match by ").append(grouping).append(":\n");
                byGroup.forEach((g, c) -> {
                    if (c[1] > 0) {
                        sb.append(String.format("  %-16s %6.2f %%  %d/%d%n", g, 100.0 * c[0] / c[1], c[0], c[1]));
                    }
                });
            });
            if (!confusions.isEmpty()) {
                sb.append("worst confusions (truth -> caption):\n");
                confusions.entrySet().stream()
                        .sorted(Map.Entry.<String, Integer>comparingByValue(Comparator.reverseOrder()))
                        .limit(10)
                        .forEach(e -> sb.append(String.format("  %4d  %s%n", e.getValue(), e.getKey())));
            }
            if (!wrong.isEmpty()) {
                sb.append("examples of wrong captions:\n");
                wrong.stream().limit(5).forEach(w -> sb.append("  truth:   ").append(w[0]).append('\n')
                        .append("  caption: ").append(w[1]).append('\n'));
            }
            return sb.toString();
        }
    }

    private static final ObjectMapper JSON = new ObjectMapper();

    private Evaluator() {}

    /** One image to caption and the caption it must get. */
    public record Example(String id, byte[] encoded, String truth) {}

    /** Evaluates on {@code count} fresh scenes of Glimpse's own generator with {@code seed}. */
    public static Report evaluate(VisionLanguageModel model, long seed, int count, int batchSize, boolean views) {
        return evaluate(model, seed, count, batchSize, views, false);
    }

    /**
     * As {@link #evaluate(VisionLanguageModel, long, int, int, boolean)}; {@code f16Patches}: each
     * image's patch embeddings rounded to F16 on their way to the transformer, as the streaming job
     * carries them from its CPU stages to the captioner.
     */
    public static Report evaluate(VisionLanguageModel model, long seed, int count, int batchSize, boolean views,
                                  boolean f16Patches) {
        SceneGenerator scenes = new SceneGenerator(seed);
        return evaluate(model, i -> {
            SceneSample s = scenes.sample(i);
            return new Example(s.id(), s.encoded(), s.caption());
        }, count, batchSize, views, f16Patches);
    }

    /**
     * Evaluates on the images a manifest lists, one JSON object per line with {@code file}
     * (relative to the manifest's folder) and {@code caption}, as {@code bin/glimpse scenes} and
     * scene renderers of other software write them.
     */
    public static Report evaluate(VisionLanguageModel model, Path manifest, int batchSize, boolean views)
            throws IOException {
        Path dir = manifest.toAbsolutePath().getParent();
        List<String[]> rows = new ArrayList<>();
        int line = 0;
        for (String text : Files.readAllLines(manifest)) {
            line++;
            if (text.isBlank()) {
                continue;
            }
            JsonNode row = JSON.readTree(text);
            if (!row.hasNonNull("file") || !row.hasNonNull("caption")) {
                throw new IllegalArgumentException(manifest + " line " + line + " has no \"file\" and \"caption\"");
            }
            String id = row.hasNonNull("id") ? row.get("id").asText() : row.get("file").asText();
            rows.add(new String[] {id, row.get("file").asText(), row.get("caption").asText()});
        }
        return evaluate(model, i -> {
            String[] r = rows.get(i);
            try {
                return new Example(r[0], Files.readAllBytes(dir.resolve(r[1])), r[2].strip());
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read " + dir.resolve(r[1]), e);
            }
        }, rows.size(), batchSize, views);
    }

    /**
     * Captions examples {@code 0 .. count-1} in batches and scores them; {@code views}: from the
     * model's test-time views ({@code view_shifts}), else from one unmoved view of each image.
     */
    public static Report evaluate(VisionLanguageModel model, IntFunction<Example> examples, int count, int batchSize,
                                  boolean views) {
        return evaluate(model, examples, count, batchSize, views, false);
    }

    private static Report evaluate(VisionLanguageModel model, IntFunction<Example> examples, int count, int batchSize,
                                   boolean views, boolean f16Patches) {
        long start = System.nanoTime();
        Captioner captioner = new Captioner(model);
        ImagePreprocessor pre = new ImagePreprocessor(views ? model.config() : model.config().singleView());
        Map<String, int[]> attributes = new LinkedHashMap<>();
        ATTRIBUTES.forEach(a -> attributes.put(a, new int[2]));
        Map<String, Integer> confusions = new TreeMap<>();
        int size = pre.size();
        // Each grouping's groups laid out once in print order; an image format other than
        // JPEG and PNG gets its group when it first appears.
        Map<String, Map<String, int[]>> groups = new LinkedHashMap<>();
        GROUPINGS.forEach(g -> groups.put(g, new LinkedHashMap<>()));
        for (int n = 1; n <= Scene.MAX_OBJECTS; n++) {
            groups.get(BY_COUNT).put(countGroup(n), new int[2]);
        }
        for (int n = 0; n <= Scene.MAX_OBJECTS; n++) {
            groups.get(BY_SMALL).put(smallGroup(n), new int[2]);
        }
        for (int side : new int[] {1, size, 2 * size}) {
            groups.get(BY_SIDE).put(sideGroup(side, size), new int[2]);
        }
        groups.get(BY_FORMAT).put(formatGroup(ImageFormat.PNG), new int[2]);
        for (float q : new float[] {0.8f, 0.65f, 0f, -1f}) {
            groups.get(BY_FORMAT).put(jpegGroup(q), new int[2]);
        }
        List<String[]> wrong = new ArrayList<>();
        List<String> all = new ArrayList<>(count);
        int exact = 0;
        int redecoded = 0;
        for (int first = 0; first < count; first += batchSize) {
            int n = Math.min(batchSize, count - first);
            List<float[]> pixels = new ArrayList<>(n);
            List<String> truths = new ArrayList<>(n);
            List<String> sides = new ArrayList<>(n);
            List<String> formats = new ArrayList<>(n);
            for (int i = 0; i < n; i++) {
                Example e = examples.apply(first + i);
                if (CaptionParts.parse(e.truth()).isEmpty()) {
                    throw new IllegalArgumentException(e.id() + ": \"" + e.truth() + "\" is not a scenes caption");
                }
                try {
                    BufferedImage image = ImagePreprocessor.decode(e.encoded(), ImagePreprocessor.Limits.DEFAULT, size);
                    pixels.add(pre.toViews(ImagePreprocessor.toRgb(image)));
                    // Decoding subsamples only images of 8 input sizes or more, which stay in the top group.
                    sides.add(sideGroup(Math.min(image.getWidth(), image.getHeight()), size));
                    formats.add(formatGroup(e.encoded()));
                } catch (ImageDecodeException ex) {
                    throw new IllegalStateException("scene " + e.id() + " does not decode: " + ex.getMessage(), ex);
                }
                truths.add(e.truth());
            }
            int[] caps = new int[n];
            Arrays.fill(caps, model.config().lmMaxLength);
            List<String> prompts = new ArrayList<>(Collections.nCopies(n, null));
            List<Captioner.Caption> captions = f16Patches ? captioner.captionThroughF16(pixels, pre.plan(), prompts, caps)
                    : captioner.caption(pixels, pre.plan(), prompts, caps);
            for (int i = 0; i < n; i++) {
                String truth = truths.get(i);
                String got = captions.get(i).text().strip();
                all.add(got);
                boolean right = truth.equals(got);
                if (captions.get(i).views() > 1 && pre.plan().adaptive()) {
                    redecoded++;
                }
                if (right) {
                    exact++;
                } else {
                    wrong.add(new String[] {truth, got});
                }
                CaptionParts parts = CaptionParts.parse(truth).orElseThrow();
                int small = (int) parts.sizes().stream().filter(ObjectSize.SMALL.word()::equals).count();
                countIn(groups, BY_COUNT, countGroup(parts.count()), right);
                countIn(groups, BY_SMALL, smallGroup(small), right);
                countIn(groups, BY_SIDE, sides.get(i), right);
                countIn(groups, BY_FORMAT, formats.get(i), right);
                score(parts, CaptionParts.parse(got), attributes, confusions);
            }
        }
        return new Report(count, pre.plan(), redecoded, exact, attributes, groups, confusions, wrong, all,
                (System.nanoTime() - start) / 1e9);
    }

    /** Adds one scene, right or not, to {@code group} of {@code grouping}. */
    private static void countIn(Map<String, Map<String, int[]>> groups, String grouping, String group, boolean right) {
        int[] c = groups.get(grouping).computeIfAbsent(group, key -> new int[2]);
        c[1]++;
        if (right) {
            c[0]++;
        }
    }

    private static String countGroup(int objects) {
        return objects + (objects == 1 ? " object" : " objects");
    }

    private static String smallGroup(int small) {
        return small + " " + ObjectSize.SMALL.word();
    }

    /** Below the model's input size the image is scaled up; from twice that, down by 2x or more. */
    private static String sideGroup(int side, int inputSize) {
        if (side < inputSize) {
            return "side < " + inputSize;
        }
        return side < 2 * inputSize ? "side " + inputSize + "-" + (2 * inputSize - 1) : "side >= " + 2 * inputSize;
    }

    private static String formatGroup(ImageFormat format) {
        return format == null ? "unknown" : format.name().toLowerCase(Locale.ROOT);
    }

    /** The format, and for a JPEG its quality as estimated from its quantisation tables. */
    private static String formatGroup(byte[] encoded) {
        ImageFormat format = ImageFormat.detect(encoded);
        if (format != ImageFormat.JPEG) {
            return formatGroup(format);
        }
        try (ImageInputStream in = ImageIO.createImageInputStream(new ByteArrayInputStream(encoded))) {
            return jpegGroup(JPEGQuality.getJPEGQuality(in));
        } catch (IOException e) {
            return jpegGroup(-1);
        }
    }

    private static String jpegGroup(float quality) {
        if (quality < 0) {
            return "jpeg q unknown";
        }
        return quality >= 0.8f ? "jpeg q >= 80" : quality >= 0.65f ? "jpeg q 65-79" : "jpeg q < 65";
    }

    private static void score(CaptionParts truth, Optional<CaptionParts> parsed, Map<String, int[]> attributes,
                              Map<String, Integer> confusions) {
        for (String a : List.of("count", "shape", "colour", "size", "background")) {
            attributes.get(a)[1]++;
        }
        if (parsed.isEmpty()) {
            confusions.merge("unparseable caption", 1, Integer::sum);
            return;
        }
        CaptionParts got = parsed.get();
        boolean sameCount = truth.count() == got.count();
        tally(attributes, "count", sameCount, confusions, "count " + truth.count() + " -> " + got.count());
        tally(attributes, "background", truth.background().equals(got.background()), confusions,
                "background " + truth.background() + " -> " + got.background());
        if (!sameCount) {
            return;
        }
        listTally(attributes, "shape", truth.shapes(), got.shapes(), confusions);
        listTally(attributes, "colour", truth.colours(), got.colours(), confusions);
        listTally(attributes, "size", truth.sizes(), got.sizes(), confusions);
        List<String> want = objects(truth);
        List<String> have = objects(got);
        if (want.stream().sorted().toList().equals(have.stream().sorted().toList())) {
            attributes.get("order")[1]++;
            tally(attributes, "order", want.equals(have), confusions, "order of objects");
        }
    }

    private static List<String> objects(CaptionParts p) {
        List<String> out = new ArrayList<>();
        for (int i = 0; i < p.count(); i++) {
            out.add(p.sizes().get(i) + " " + p.colours().get(i) + " " + p.shapes().get(i));
        }
        return out;
    }

    private static void listTally(Map<String, int[]> attributes, String name, List<String> truth, List<String> got,
                                  Map<String, Integer> confusions) {
        boolean ok = truth.equals(got);
        if (ok) {
            attributes.get(name)[0]++;
        }
        for (int i = 0; i < truth.size(); i++) {
            if (!truth.get(i).equals(got.get(i))) {
                confusions.merge(name + " " + truth.get(i) + " -> " + got.get(i), 1, Integer::sum);
            }
        }
    }

    private static void tally(Map<String, int[]> attributes, String name, boolean ok, Map<String, Integer> confusions,
                              String confusion) {
        if (ok) {
            attributes.get(name)[0]++;
        } else {
            confusions.merge(confusion, 1, Integer::sum);
        }
    }
}
