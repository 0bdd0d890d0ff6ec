package dev.glimpse.bench.jmh;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.Shape;
import dev.glimpse.model.CaptionGenerator;
import dev.glimpse.model.Captioner;
import dev.glimpse.model.DecodingBatch;
import dev.glimpse.model.ImageDecodeException;
import dev.glimpse.model.ImagePreprocessor;
import dev.glimpse.model.ModelConfig;
import dev.glimpse.model.RgbImage;
import dev.glimpse.model.VisionLanguageModel;
import java.awt.Color;
import java.awt.GradientPaint;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import javax.imageio.ImageIO;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The stages of one caption, each alone, with the model of {@code model} (default: the built-in
 * one; run from the repository root): decoding a 1920x1080 JPEG as the pipeline's decoder does and
 * in full, the patch embedder's work (views, resize, normalise, patch embedding), one forward of
 * the vision encoder and projector, and one decode step of a running batch.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 5, time = 1)
// -jvmArgsAppend on the command line replaces these: repeat them there.
@Fork(value = 1, jvmArgsAppend = {"-Dai.djl.offline=true", "-Dai.djl.pytorch.num_threads=2",
        "-Dai.djl.pytorch.num_interop_threads=1", "-Dlog4j2.configurationFile=conf/log4j2.xml"})
public class ModelStagesBenchmark {
    static final int WIDTH = 1920;
    static final int HEIGHT = 1080;

    @State(Scope.Benchmark)
    public static class Model {
        @Param("models/glimpse-scenes")
        public String model;

        VisionLanguageModel vlm;
        ModelConfig config;
        Captioner captioner;
        ImagePreprocessor preprocessor;
        byte[] jpeg;
        RgbImage decoded;
        NDArray onePatchEmbedding;

        @Setup
        public void load() throws IOException, ImageDecodeException {
            System.setProperty("ai.djl.offline", "true"); // DJL must never probe the network
            vlm = VisionLanguageModel.load(Path.of(model));
            config = vlm.config();
            captioner = new Captioner(vlm);
            preprocessor = new ImagePreprocessor(config);
            jpeg = photoLikeJpeg();
            decoded = ImagePreprocessor.decodeRgb(jpeg, ImagePreprocessor.Limits.DEFAULT, config.decodeTargetSize());
            int s = config.vitImgSize;
            float[] pixels = preprocessor.toPixels(decoded);
            onePatchEmbedding = vlm.patchEmbedding().embed(vlm.manager().create(pixels, new Shape(1, 3, s, s)));
        }

        @TearDown
        public void close() {
            vlm.close();
        }
    }

    /** A running batch of {@code rows} images in the middle of their captions. */
    @State(Scope.Benchmark)
    public static class Decoding {
        /** Caps far beyond a caption: the batch runs this many steps before it is refilled. */
        static final int CAP = 160;

        @Param({"1", "8"})
        public int rows;

        DecodingBatch<Integer> batch;
        Model m;
        long[] prompt;

        @Setup(Level.Trial)
        public void start(Model model) {
            m = model;
            ModelConfig c = m.config;
            prompt = m.vlm.tokenizer().encodePrompt(c.defaultPrompt);
            int columns = DecodingBatch.columnsFor(c, prompt.length, CAP);
            batch = new DecodingBatch<>(m.vlm, rows, columns, new CaptionGenerator.Options(true, false, false));
            fill();
            batch.step(); // the first token comes from the prefill: from here on each step is a decoder forward
        }

        /** Every row joins with the same image and prompt; no stop token, so each runs to its cap. */
        void fill() {
            List<Integer> tags = new ArrayList<>();
            for (int i = 0; i < rows; i++) {
                tags.add(i);
            }
            try (NDScope ignored = new NDScope()) {
                NDArray patches = m.onePatchEmbedding.repeat(0, rows); // [rows, N, D_vit]
                int[] caps = new int[rows];
                Arrays.fill(caps, CAP);
                batch.join(tags, patches, 1, Collections.nCopies(rows, prompt), caps);
            }
        }

        @TearDown
        public void close() {
            batch.close();
        }
    }

    @Benchmark
    public RgbImage decodeJpeg1080pAsThePipelineDoes(Model m) throws ImageDecodeException {
        // Subsampled while decoding to about 4x the model's input, as ImageDecoder asks.
        return ImagePreprocessor.decodeRgb(m.jpeg, ImagePreprocessor.Limits.DEFAULT, m.config.decodeTargetSize());
    }

    @Benchmark
    public RgbImage decodeJpeg1080pFull(Model m) throws ImageDecodeException {
        return ImagePreprocessor.decodeRgb(m.jpeg, ImagePreprocessor.Limits.DEFAULT, WIDTH);
    }

    /** PatchEmbedder's work on a decoded image: the model's views, resized and normalised, then patch-embedded. */
    @Benchmark
    public float[] preprocessAndPatchEmbed(Model m) {
        return m.captioner.patchEmbed(m.preprocessor.toViews(m.decoded));
    }

    /** Vision encoder and projector over one view's patch embeddings, read back as the image tokens. */
    @Benchmark
    public float[] visionForward(Model m) {
        try (NDScope ignored = new NDScope()) {
            return m.vlm.imageTokens(m.onePatchEmbedding).toFloatArray();
        }
    }

    /**
     * One step of every row: pick each row's token from the last logits, then one decoder forward
     * with the KV cache. One step in {@value Decoding#CAP} also refills the batch (a prefill).
     */
    @Benchmark
    public int decodeStep(Decoding d) {
        int finished = d.batch.step().size();
        if (d.batch.isEmpty()) {
            d.fill();
        }
        return finished;
    }

    /** A 1920x1080 JPEG (quality 0.75, ImageIO's default) with gradients, shapes and noise, like a photo. */
    static byte[] photoLikeJpeg() throws IOException {
        BufferedImage image = new BufferedImage(WIDTH, HEIGHT, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = image.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
        g.setPaint(new GradientPaint(0, 0, new Color(40, 90, 160), WIDTH, HEIGHT, new Color(230, 200, 120)));
        g.fillRect(0, 0, WIDTH, HEIGHT);
        Random rnd = new Random(42);
        for (int i = 0; i < 60; i++) {
            g.setColor(new Color(rnd.nextInt(256), rnd.nextInt(256), rnd.nextInt(256)));
            int w = 40 + rnd.nextInt(400);
            int h = 40 + rnd.nextInt(300);
            g.fillOval(rnd.nextInt(WIDTH), rnd.nextInt(HEIGHT), w, h);
        }
        g.dispose();
        for (int y = 0; y < HEIGHT; y++) {
            for (int x = 0; x < WIDTH; x++) {
                int rgb = image.getRGB(x, y);
                int n = rnd.nextInt(17) - 8; // sensor-like noise keeps the JPEG from compressing to nothing
                int r = Math.max(0, Math.min(255, ((rgb >> 16) & 255) + n));
                int gr = Math.max(0, Math.min(255, ((rgb >> 8) & 255) + n));
                int b = Math.max(0, Math.min(255, (rgb & 255) + n));
                image.setRGB(x, y, (r << 16) | (gr << 8) | b);
            }
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ImageIO.write(image, "jpg", out);
        return out.toByteArray();
    }
}
