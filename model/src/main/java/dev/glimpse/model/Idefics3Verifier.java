package dev.glimpse.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.glimpse.model.ReferenceVerifier.Stage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * {@link ReferenceVerifier} for an Idefics3 (SmolVLM) reference folder: the preprocessing and the
 * prompt are computed from the folder's {@code prompt.txt} (the chat template's output) and its
 * {@code image_*.png} (the prompt's images first, in number order), and compared with
 * {@code pixel_values}, {@code pixel_attention_mask}, {@code rows}, {@code cols} and
 * {@code input_ids}; the model stages are computed from the stored {@code pixel_values} and
 * {@code input_ids}, so each stage is judged on its own. An image with {@code image<i>.*} tensors is
 * also preprocessed alone and compared.
 */
final class Idefics3Verifier {
    private static final Pattern IMAGE_FILE = Pattern.compile("image_(\\d+)\\.png");

    private Idefics3Verifier() {}

    static List<Stage> verify(VisionLanguageModel model, Path expectedFile) throws IOException {
        ModelConfig cfg = model.config();
        Path dir = expectedFile.toAbsolutePath().getParent();
        String prompt = Files.readString(dir.resolve("prompt.txt"));
        List<Path> images = imageFiles(dir);
        int inPrompt = prompt.split(Pattern.quote(Idefics3Prompt.IMAGE), -1).length - 1;
        if (images.size() < inPrompt) {
            throw new IllegalArgumentException(dir + ": prompt.txt has " + inPrompt + " images, the folder "
                    + images.size() + " image_*.png");
        }
        Idefics3ImageProcessor processor = new Idefics3ImageProcessor(cfg.idefics3);
        List<Stage> stages = new ArrayList<>();
        try (NDManager m = model.manager().newSubManager(); NDScope ignored = new NDScope()) {
            Map<String, NDArray> expected = Safetensors.read(m, expectedFile);

            List<Idefics3ImageProcessor.Tiles> tiles = new ArrayList<>();
            for (Path image : images.subList(0, inPrompt)) {
                tiles.add(processor.process(rgb(image, cfg)));
            }
            preprocessing(stages, expected, "", tiles, processor, m);
            int[][] grids = tiles.stream().map(t -> new int[] {t.rows(), t.cols()}).toArray(int[][]::new);
            long[] ids = model.tokenizer().encodeAsProcessor(new Idefics3Prompt(cfg.idefics3).expand(prompt, grids));
            exact(stages, expected, "input_ids", m.create(ids, new Shape(1, ids.length)));

            NDArray pixels = ReferenceVerifier.require(expected, "pixel_values").toType(DataType.FLOAT32, false);
            NDArray storedIds = ReferenceVerifier.require(expected, "input_ids").toType(DataType.INT64, false);
            int batch = Math.toIntExact(pixels.getShape().get(0));
            int s = cfg.vitImgSize;
            int[] tileCounts = realTiles(pixels);
            NDArray real = realTilesOf(pixels, tileCounts, m); // [sum(tiles), 3, S, S]
            NDArray patches = model.patchEmbedding().embed(real); // [sum(tiles), N, D_vit]
            NDArray visionOut = model.visionEncoder().forward(patches);
            ReferenceVerifier.compare(stages, expected, "vision_out", visionOut);
            NDArray connectorOut = model.projector().forward(visionOut); // [sum(tiles), I, D_lm]
            ReferenceVerifier.compare(stages, expected, "connector_out", connectorOut);

            List<long[]> prompts = rows(storedIds);
            CaptionGenerator generator = new CaptionGenerator(model);
            NDArray embeds = generator.mergePrompts(connectorOut, tileCounts, prompts).embeddings(); // [B, L, D_lm]
            ReferenceVerifier.compare(stages, expected, "inputs_embeds", embeds);
            int t = Math.toIntExact(embeds.getShape().get(1));
            long[][] positions = new long[batch][t];
            for (long[] row : positions) {
                for (int j = 0; j < t; j++) {
                    row[j] = j;
                }
            }
            TextDecoder decoder = model.decoder();
            NDArray logits = decoder.logits(decoder.forward(embeds, positions, TextDecoder.causalMask(m, t), null));
            ReferenceVerifier.compare(stages, expected, "prefill_logits", logits);

            NDArray greedy = expected.get("greedy_ids");
            if (greedy != null) {
                int steps = Math.toIntExact(greedy.getShape().get(1));
                int[] caps = new int[batch];
                Arrays.fill(caps, steps);
                List<CaptionGenerator.Result> results = generator.generateMerged(patches, tileCounts, prompts, caps,
                        new CaptionGenerator.Options(true, false, true));
                long[] got = new long[batch * steps];
                List<float[]> stepLogits = new ArrayList<>();
                for (int r = 0; r < batch; r++) {
                    long[] tokens = results.get(r).tokens();
                    System.arraycopy(tokens, 0, got, r * steps, Math.min(steps, tokens.length));
                    stepLogits.addAll(results.get(r).stepLogits());
                }
                exact(stages, expected, "greedy_ids", m.create(got, greedy.getShape()));
                if (expected.containsKey("greedy_step_logits") && !stepLogits.isEmpty()) {
                    NDList rowsOfLogits = new NDList();
                    stepLogits.forEach(l -> rowsOfLogits.add(m.create(l).expandDims(0)));
                    ReferenceVerifier.compare(stages, expected, "greedy_step_logits", NDArrays.concat(rowsOfLogits, 0));
                }
            }

            for (int i = 0; i < images.size(); i++) {
                String prefix = "image" + i + ".";
                if (expected.containsKey(prefix + "pixel_values")) {
                    preprocessing(stages, expected, prefix, List.of(processor.process(rgb(images.get(i), cfg))),
                            processor, m);
                }
            }
            if (s != processor.tileSize()) {
                throw new IllegalStateException("tile size " + processor.tileSize() + " differs from image size " + s);
            }
        }
        return stages;
    }

    /** The processor's outputs for one batch row of {@code tiles} (several images: concatenated in order). */
    private static void preprocessing(List<Stage> stages, Map<String, NDArray> expected, String prefix,
                                      List<Idefics3ImageProcessor.Tiles> tiles, Idefics3ImageProcessor processor,
                                      NDManager m) {
        int s = processor.tileSize();
        int count = tiles.stream().mapToInt(Idefics3ImageProcessor.Tiles::count).sum();
        float[] pixels = new float[count * 3 * s * s];
        int at = 0;
        for (Idefics3ImageProcessor.Tiles t : tiles) {
            System.arraycopy(t.pixels(), 0, pixels, at, t.pixels().length);
            at += t.pixels().length;
        }
        ReferenceVerifier.compare(stages, expected, prefix + "pixel_values", m.create(pixels, new Shape(1, count, 3, s, s)));
        exact(stages, expected, prefix + "pixel_attention_mask",
                m.create(processor.pixelAttentionMask(new int[] {count}), new Shape(1, count, s, s)));
        exact(stages, expected, prefix + "rows",
                m.create(tiles.stream().mapToLong(Idefics3ImageProcessor.Tiles::rows).toArray(), new Shape(1, tiles.size())));
        exact(stages, expected, prefix + "cols",
                m.create(tiles.stream().mapToLong(Idefics3ImageProcessor.Tiles::cols).toArray(), new Shape(1, tiles.size())));
    }

    private static void exact(List<Stage> stages, Map<String, NDArray> expected, String name, NDArray actual) {
        NDArray want = expected.get(name);
        if (want == null) {
            return;
        }
        boolean same = want.getShape().equals(actual.getShape())
                && Arrays.equals(want.toType(DataType.INT64, false).toLongArray(), actual.toType(DataType.INT64, false).toLongArray());
        String shape = want.getShape().equals(actual.getShape()) ? want.getShape().toString()
                : "expected " + want.getShape() + " got " + actual.getShape();
        stages.add(Stage.exact(name, shape, same));
    }

    /** Tiles per batch row that are not padding (all zero), as transformers' {@code real_images_inds} finds them. */
    private static int[] realTiles(NDArray pixels) {
        int batch = Math.toIntExact(pixels.getShape().get(0));
        int perRow = Math.toIntExact(pixels.getShape().get(1));
        boolean[] nonZero = pixels.reshape(batch, perRow, -1).abs().max(new int[] {2}).gt(0).toBooleanArray();
        int[] counts = new int[batch];
        for (int r = 0; r < batch; r++) {
            for (int t = 0; t < perRow; t++) {
                counts[r] += nonZero[r * perRow + t] ? 1 : 0;
            }
        }
        return counts;
    }

    /** The real tiles of every row, in order: {@code [sum(tiles), 3, S, S]} (padding tiles come last in a row). */
    private static NDArray realTilesOf(NDArray pixels, int[] counts, NDManager m) {
        int perRow = Math.toIntExact(pixels.getShape().get(1));
        long[] keep = new long[Arrays.stream(counts).sum()];
        int k = 0;
        for (int r = 0; r < counts.length; r++) {
            for (int t = 0; t < counts[r]; t++) {
                keep[k++] = (long) r * perRow + t;
            }
        }
        Shape tile = pixels.getShape().slice(2);
        return pixels.reshape(new Shape(-1).addAll(tile)).get(m.create(keep));
    }

    private static List<long[]> rows(NDArray ids) {
        int batch = Math.toIntExact(ids.getShape().get(0));
        int len = Math.toIntExact(ids.getShape().get(1));
        long[] flat = ids.toLongArray();
        List<long[]> out = new ArrayList<>();
        for (int r = 0; r < batch; r++) {
            out.add(Arrays.copyOfRange(flat, r * len, (r + 1) * len));
        }
        return out;
    }

    private static RgbImage rgb(Path file, ModelConfig cfg) throws IOException {
        try {
            return ImagePreprocessor.decodeRgb(Files.readAllBytes(file), ImagePreprocessor.Limits.DEFAULT,
                    cfg.idefics3.longestEdge());
        } catch (ImageDecodeException e) {
            throw new IOException("cannot decode " + file + ": " + e.getMessage(), e);
        }
    }

    /** The folder's {@code image_<n>.png} in number order. */
    static List<Path> imageFiles(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(p -> IMAGE_FILE.matcher(p.getFileName().toString()).matches())
                    .sorted(Comparator.comparingInt(p -> number(p.getFileName().toString())))
                    .toList();
        }
    }

    private static int number(String name) {
        Matcher mt = IMAGE_FILE.matcher(name);
        return mt.matches() ? Integer.parseInt(mt.group(1)) : Integer.MAX_VALUE;
    }
}
