package dev.glimpse.model.training;

import dev.glimpse.model.Captioner;
import dev.glimpse.model.ImageDecodeException;
import dev.glimpse.model.ImagePreprocessor;
import dev.glimpse.model.VisionLanguageModel;
import dev.glimpse.model.scenes.CaptionParts;
import dev.glimpse.model.scenes.SceneGenerator;
import dev.glimpse.model.scenes.SceneSample;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * Renders fresh scenes, captions them, and scores exact match plus each attribute (count, shape,
 * colour, size, background, order), with the most frequent confusions.
 */
public final class Evaluator {
    public static final List<String> ATTRIBUTES = List.of("count", "shape", "colour", "size", "background", "order");

    /** The scores of one evaluation. {@code order} counts only scenes whose objects were all named right. */
    public record Report(int total, int exact, Map<String, int[]> attributes, Map<String, Integer> confusions,
                         List<String[]> wrong, double seconds) {
        public double exactMatch() {
            return (double) exact / total;
        }

        public double accuracy(String attribute) {
            int[] c = attributes.get(attribute);
            return c[1] == 0 ? 1.0 : (double) c[0] / c[1];
        }

        public String table() {
            StringBuilder sb = new StringBuilder();
            sb.append(String.format("scenes      %d (%.1f images/s)%n", total, total / seconds));
            sb.append(String.format("exact match %.2f %% (%d/%d)%n", 100 * exactMatch(), exact, total));
            sb.append(String.format("%-11s %-9s %s%n", "attribute", "accuracy", "right/scored"));
            for (String a : ATTRIBUTES) {
                int[] c = attributes.get(a);
                sb.append(String.format("%-11s %6.2f %%  %d/%d%n", a, 100 * accuracy(a), c[0], c[1]));
            }
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

    private Evaluator() {}

    public static Report evaluate(VisionLanguageModel model, long seed, int count, int batchSize) {
        long start = System.nanoTime();
        Captioner captioner = new Captioner(model);
        ImagePreprocessor pre = new ImagePreprocessor(model.config());
        SceneGenerator scenes = new SceneGenerator(seed);
        Map<String, int[]> attributes = new LinkedHashMap<>();
        ATTRIBUTES.forEach(a -> attributes.put(a, new int[2]));
        Map<String, Integer> confusions = new TreeMap<>();
        List<String[]> wrong = new ArrayList<>();
        int exact = 0;
        for (int first = 0; first < count; first += batchSize) {
            int n = Math.min(batchSize, count - first);
            List<float[]> pixels = new ArrayList<>(n);
            List<String> truths = new ArrayList<>(n);
            for (int i = 0; i < n; i++) {
                SceneSample s = scenes.sample(first + i);
                try {
                    pixels.add(pre.preprocess(s.encoded(), ImagePreprocessor.Limits.DEFAULT));
                } catch (ImageDecodeException e) {
                    throw new IllegalStateException("generated scene " + s.id() + " does not decode", e);
                }
                truths.add(s.caption());
            }
            int[] caps = new int[n];
            Arrays.fill(caps, model.config().lmMaxLength);
            List<Captioner.Caption> captions = captioner.caption(pixels, new ArrayList<>(java.util.Collections.nCopies(n, null)), caps);
            for (int i = 0; i < n; i++) {
                String truth = truths.get(i);
                String got = captions.get(i).text().strip();
                if (truth.equals(got)) {
                    exact++;
                } else {
                    wrong.add(new String[] {truth, got});
                }
                score(CaptionParts.parse(truth).orElseThrow(), CaptionParts.parse(got), attributes, confusions);
            }
        }
        return new Report(count, exact, attributes, confusions, wrong, (System.nanoTime() - start) / 1e9);
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
