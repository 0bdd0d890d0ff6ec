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
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * {@link ReferenceVerifier} for a Qwen2-VL reference folder: the preprocessing and the prompt are
 * computed from the folder's {@code image_*.png} and {@code prompt.txt} and compared with
 * {@code pixel_values}, {@code image_grid_thw} and {@code input_ids}; every model stage is computed
 * from the stored {@code pixel_values}, {@code image_grid_thw} and {@code input_ids}, so each stage
 * is judged on its own. Stages the file lacks are skipped; the ones the issue names are required.
 */
public final class Qwen2VlVerifier {
    private static final List<String> REQUIRED = List.of("pixel_values", "image_grid_thw", "input_ids",
            "vision_patch_embed", "vision_out", "inputs_embeds", "position_ids", "prefill_logits", "greedy_ids",
            "greedy_step_logits");

    private Qwen2VlVerifier() {}

    public static List<Stage> verify(Qwen2VlModel model, Path expectedFile) throws IOException {
        Qwen2VlConfig cfg = model.config();
        Path dir = expectedFile.toAbsolutePath().getParent();
        String prompt = Files.readString(dir.resolve("prompt.txt"));
        List<Path> images = Idefics3Verifier.imageFiles(dir);
        int inPrompt = prompt.split(Pattern.quote(Qwen2VlConfig.IMAGE_PAD), -1).length - 1;
        if (images.size() < inPrompt) {
            throw new IllegalArgumentException(dir + ": prompt.txt has " + inPrompt + " images, the folder "
                    + images.size() + " image_*.png");
        }
        List<Stage> stages = new ArrayList<>();
        try (NDManager m = model.manager().newSubManager(); NDScope ignored = new NDScope()) {
            Map<String, NDArray> expected = Safetensors.read(m, expectedFile);
            for (String name : REQUIRED) {
                ReferenceVerifier.require(expected, name);
            }

            List<RgbImage> rgb = new ArrayList<>();
            for (Path image : images) {
                rgb.add(rgb(image, cfg));
            }
            Qwen2VlModel.Prepared fromFiles = new Qwen2VlModel.Prepared(
                    rgb.subList(0, inPrompt).stream().map(model.processor()::process).toList(), new long[0]);
            ReferenceVerifier.compare(stages, expected, "pixel_values", pixels(m, cfg, fromFiles.images()));
            exact(stages, expected, "image_grid_thw", grids(m, fromFiles.grids()));
            int[] tokens = fromFiles.images().stream().mapToInt(p -> p.mergedTokens(cfg.mergeSize())).toArray();
            long[] ids = model.encode(Qwen2VlPrompt.expand(prompt, tokens));
            exact(stages, expected, "input_ids", m.create(ids, new Shape(1, ids.length)));

            // The model's stages from the stored inputs.
            NDArray pixels = expected.get("pixel_values");
            int[][] grids = intRows(expected.get("image_grid_thw"));
            long[] storedIds = expected.get("input_ids").toLongArray();
            Qwen2VlVision.Output vision = model.vision().forward(pixels, grids, true);
            ReferenceVerifier.compare(stages, expected, "vision_patch_embed", vision.patchEmbed());
            NDList angles = new NDList();
            List<long[]> rotaryIds = new ArrayList<>();
            for (int[] g : grids) {
                angles.add(model.vision().rotaryAngles(m, g));
                rotaryIds.addAll(Arrays.asList(Qwen2VlVision.positionIds(g, cfg.mergeSize())));
            }
            exact(stages, expected, "vision_rotary_pos_ids", m.create(rotaryIds.stream().flatMapToLong(Arrays::stream)
                    .toArray(), new Shape(rotaryIds.size(), 2)));
            ReferenceVerifier.compare(stages, expected, "vision_rotary_freqs", NDArrays.concat(angles, 0));
            ReferenceVerifier.compare(stages, expected, "vision_block_outputs", NDArrays.stack(new NDList(vision.blockOutputs())));
            ReferenceVerifier.compare(stages, expected, "vision_out", vision.merged());

            List<Qwen2VlModel.Prepared> stored = List.of(new Qwen2VlModel.Prepared(patches(pixels, grids, cfg), storedIds));
            NDArray embeds = model.inputsEmbeds(m, stored, vision.merged()); // [1, L, D]
            ReferenceVerifier.compare(stages, expected, "inputs_embeds", embeds);
            MRopePositions positions = MRopePositions.of(storedIds, grids, cfg.imageTokenId(), cfg.mergeSize());
            int length = storedIds.length;
            exact(stages, expected, "position_ids", m.create(flatten(positions.ids()), new Shape(3, 1, length)));
            exact(stages, expected, "rope_deltas", m.create(new long[] {positions.delta()}, new Shape(1, 1)));
            NDArray[] cosSin = model.decoder().rotary(m, new long[][][] {positions.ids()});
            ReferenceVerifier.compare(stages, expected, "mrope_cos", cosSin[0].squeeze(1));
            ReferenceVerifier.compare(stages, expected, "mrope_sin", cosSin[1].squeeze(1));
            List<NDArray> hiddenStates = new ArrayList<>();
            NDArray hidden = model.decoder().forward(embeds, cosSin, TextDecoder.causalMask(m, length), null, hiddenStates);
            ReferenceVerifier.compare(stages, expected, "text_hidden_states", NDArrays.concat(new NDList(hiddenStates), 0));
            ReferenceVerifier.compare(stages, expected, "prefill_logits", model.decoder().logits(hidden));

            NDArray greedy = expected.get("greedy_ids");
            int steps = Math.toIntExact(greedy.getShape().get(1));
            Qwen2VlModel.Result result = model.generate(stored, new int[] {steps}, true).get(0);
            long[] got = Arrays.copyOf(result.tokens(), steps);
            if (result.tokens().length < steps) {
                Arrays.fill(got, result.tokens().length, steps, -1);
            }
            exact(stages, expected, "greedy_ids", m.create(got, greedy.getShape()));
            NDList stepLogits = new NDList();
            result.stepLogits().forEach(l -> stepLogits.add(m.create(l).expandDims(0)));
            ReferenceVerifier.compare(stages, expected, "greedy_step_logits", NDArrays.concat(stepLogits, 0));
            NDArray decodePositions = expected.get("decode_position_ids");
            if (decodePositions != null) {
                int n = Math.toIntExact(decodePositions.getShape().get(2));
                long[] decode = new long[3 * n];
                for (int s = 0; s < 3; s++) {
                    for (int k = 0; k < n; k++) {
                        decode[s * n + k] = positions.next() + k;
                    }
                }
                exact(stages, expected, "decode_position_ids", m.create(decode, new Shape(3, 1, n)));
            }

            for (int i = 0; i < rgb.size(); i++) {
                String prefix = "image" + i + ".";
                RgbImage image = rgb.get(i);
                exact(stages, expected, prefix + "rgb", bytes(m, image));
                exact(stages, expected, prefix + "resized", bytes(m, model.processor().resized(image)));
                Qwen2VlImageProcessor.Patches alone = model.processor().process(image);
                exact(stages, expected, prefix + "image_grid_thw",
                        grids(m, new int[][] {{alone.gridT(), alone.gridH(), alone.gridW()}}));
            }
        }
        return stages;
    }

    private static NDArray pixels(NDManager m, Qwen2VlConfig cfg, List<Qwen2VlImageProcessor.Patches> images) {
        int count = images.stream().mapToInt(Qwen2VlImageProcessor.Patches::count).sum();
        float[] all = new float[count * cfg.patchValues()];
        int at = 0;
        for (Qwen2VlImageProcessor.Patches p : images) {
            System.arraycopy(p.values(), 0, all, at, p.values().length);
            at += p.values().length;
        }
        return m.create(all, new Shape(count, cfg.patchValues()));
    }

    /** The stored pixel values cut back into each image's patches. */
    private static List<Qwen2VlImageProcessor.Patches> patches(NDArray pixels, int[][] grids, Qwen2VlConfig cfg) {
        float[] all = pixels.toType(DataType.FLOAT32, false).toFloatArray();
        List<Qwen2VlImageProcessor.Patches> out = new ArrayList<>();
        int at = 0;
        for (int[] g : grids) {
            int n = g[0] * g[1] * g[2] * cfg.patchValues();
            out.add(new Qwen2VlImageProcessor.Patches(Arrays.copyOfRange(all, at, at + n), g[0], g[1], g[2]));
            at += n;
        }
        return out;
    }

    private static NDArray grids(NDManager m, int[][] grids) {
        long[] flat = Arrays.stream(grids).flatMapToInt(Arrays::stream).asLongStream().toArray();
        return m.create(flat, new Shape(grids.length, 3));
    }

    private static int[][] intRows(NDArray a) {
        long[] flat = a.toType(DataType.INT64, false).toLongArray();
        int cols = Math.toIntExact(a.getShape().get(1));
        int[][] out = new int[flat.length / cols][cols];
        for (int i = 0; i < flat.length; i++) {
            out[i / cols][i % cols] = Math.toIntExact(flat[i]);
        }
        return out;
    }

    private static long[] flatten(long[][] rows) {
        return Arrays.stream(rows).flatMapToLong(Arrays::stream).toArray();
    }

    private static NDArray bytes(NDManager m, RgbImage image) {
        long[] v = new long[image.rgb().length];
        for (int i = 0; i < v.length; i++) {
            v[i] = image.rgb()[i] & 0xFF;
        }
        return m.create(v, new Shape(image.height(), image.width(), 3));
    }

    private static void exact(List<Stage> stages, Map<String, NDArray> expected, String name, NDArray actual) {
        NDArray want = expected.get(name);
        if (want == null) {
            return;
        }
        boolean sameShape = want.getShape().equals(actual.getShape());
        boolean same = sameShape && Arrays.equals(want.toType(DataType.INT64, false).toLongArray(),
                actual.toType(DataType.INT64, false).toLongArray());
        stages.add(Stage.exact(name, sameShape ? want.getShape().toString()
                : "expected " + want.getShape() + " got " + actual.getShape(), same));
    }

    static RgbImage rgb(Path file, Qwen2VlConfig cfg) throws IOException {
        try {
            return ImagePreprocessor.decodeRgb(Files.readAllBytes(file), ImagePreprocessor.Limits.DEFAULT,
                    decodeTarget(cfg));
        } catch (ImageDecodeException e) {
            throw new IOException("cannot decode " + file + ": " + e.getMessage(), e);
        }
    }

    /** The side an image is decoded for: about the side of a max_pixels square (huge images are subsampled past 4x it). */
    static int decodeTarget(Qwen2VlConfig cfg) {
        return (int) Math.ceil(Math.sqrt(cfg.maxPixels()));
    }
}
