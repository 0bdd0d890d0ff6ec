package dev.glimpse.model.training;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.glimpse.model.CaptionTokenizer;
import dev.glimpse.model.ImagePreprocessor;
import dev.glimpse.model.ModelConfig;
import dev.glimpse.model.VisionLanguageModel;
import dev.glimpse.model.scenes.SceneGenerator;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Trains the built-in model from scratch on scenes generated on the fly (DJL, PyTorch engine).
 * Deterministic for a seed: sample i of the run is scene (seed, i), whatever the thread count.
 * Checkpoints the model folder plus the optimizer's moments, so {@code resume} continues exactly.
 */
public final class Trainer {
    static final String OPTIMIZER_STATE = "optimizer.safetensors";
    static final String TRAINER_STATE = "trainer-state.json";
    private static final ObjectMapper JSON = new ObjectMapper();

    private Trainer() {}

    /** Trains; returns the mean loss of each logging window, in order. */
    public static List<Double> train(TrainerOptions opt, ModelConfig newModelConfig, PrintStream log)
            throws IOException, InterruptedException {
        Path out = opt.out();
        Files.createDirectories(out);
        boolean resuming = opt.resume() && Files.isRegularFile(out.resolve(TRAINER_STATE));
        if (opt.resume() && !resuming) {
            log.println("no checkpoint in " + out + " to resume from; starting fresh");
        }
        int startStep = 0;
        VisionLanguageModel model;
        if (resuming) {
            model = VisionLanguageModel.load(out);
            startStep = JSON.readTree(out.resolve(TRAINER_STATE).toFile()).get("step").asInt();
        } else if (opt.initFrom() != null) {
            ModelConfig from;
            try (VisionLanguageModel source = VisionLanguageModel.load(opt.initFrom())) {
                from = source.config();
                model = ScenesModel.grown(source, CaptionTokenizer.load(
                        opt.initFrom().resolve(VisionLanguageModel.TOKENIZER), source.config()), opt.lmBlocks(),
                        opt.vitBlocks(), opt.imageSize(), opt.seed());
            }
            log.printf("warm start from %s (%d decoder blocks, now %d; %d vision blocks, now %d; %d px input, now %d)%n",
                    opt.initFrom(), from.lmNBlocks, model.config().lmNBlocks, from.vitNBlocks, model.config().vitNBlocks,
                    from.vitImgSize, model.config().vitImgSize);
        } else {
            ModelConfig fresh = newModelConfig.copy();
            if (opt.lmBlocks() > 0) {
                fresh.lmNBlocks = opt.lmBlocks();
            }
            if (opt.vitBlocks() > 0) {
                fresh.vitNBlocks = opt.vitBlocks();
            }
            if (opt.imageSize() > 0) {
                fresh.vitImgSize = opt.imageSize();
            }
            ModelConfig cfg = fresh.validated("new model");
            ScenesModel.writeTokenizer(out.resolve(VisionLanguageModel.TOKENIZER));
            model = VisionLanguageModel.random(cfg, CaptionTokenizer.load(out.resolve(VisionLanguageModel.TOKENIZER), cfg),
                    opt.seed(), null);
        }
        List<Double> windows = new ArrayList<>();
        ExecutorService data = Executors.newFixedThreadPool(opt.dataThreads(), r -> {
            Thread t = new Thread(r, "scene-data");
            t.setDaemon(true);
            return t;
        });
        try (model) {
            ModelConfig cfg = model.config();
            NDManager manager = model.manager();
            for (NDArray p : model.weights().all().values()) {
                p.setRequiresGradient(true);
            }
            AdamW adam = new AdamW(model.weights().all(), manager);
            if (resuming) {
                adam.load(out.resolve(OPTIMIZER_STATE));
                log.printf("resumed from step %d in %s%n", startStep, out);
            }
            log.printf("training %s: %,d parameters, %d steps of %d scenes, lr %.2g, seed %d%n",
                    cfg.displayName(), model.weights().parameterCount(), opt.steps(), opt.batchSize(),
                    opt.learningRate(), opt.seed());

            SceneGenerator scenes = new SceneGenerator(opt.seed(), opt.countWeights(), opt.hardShare());
            ImagePreprocessor pre = new ImagePreprocessor(cfg);
            CaptionTokenizer tok = model.tokenizer();
            Deque<Future<TrainingBatch>> ahead = new ArrayDeque<>();
            int nextToQueue = startStep;
            long windowStart = System.nanoTime();
            double windowLoss = 0;
            int windowSteps = 0;
            for (int step = startStep; step < opt.steps(); step++) {
                while (nextToQueue < opt.steps() && ahead.size() < 2 * opt.dataThreads() + 1) {
                    long first = (long) nextToQueue * opt.batchSize();
                    ahead.add(data.submit(() -> TrainingBatch.build(scenes, first, opt.batchSize(), cfg, pre, tok)));
                    nextToQueue++;
                }
                TrainingBatch batch = take(ahead.poll());
                windowLoss += trainStep(model, adam, batch, step, opt);
                windowSteps++;
                boolean last = step + 1 == opt.steps();
                if ((step + 1) % opt.logEvery() == 0 || last) {
                    double seconds = (System.nanoTime() - windowStart) / 1e9;
                    double rate = windowSteps * opt.batchSize() / seconds;
                    double eta = (opt.steps() - step - 1) * opt.batchSize() / rate;
                    double mean = windowLoss / windowSteps;
                    windows.add(mean);
                    log.printf("step %6d/%d  loss %.4f  lr %.2e  %.1f samples/s  ETA %s%n",
                            step + 1, opt.steps(), mean, opt.learningRateAt(step), rate, duration(eta));
                    windowStart = System.nanoTime();
                    windowLoss = 0;
                    windowSteps = 0;
                }
                if ((step + 1) % opt.checkpointEvery() == 0 || last) {
                    checkpoint(model, adam, out, step + 1, opt);
                    log.printf("checkpoint at step %d written to %s%n", step + 1, out);
                }
            }
        } finally {
            data.shutdownNow();
        }
        return windows;
    }

    private static TrainingBatch take(Future<TrainingBatch> f) throws InterruptedException {
        try {
            return f.get();
        } catch (ExecutionException e) {
            throw new IllegalStateException("scene generation failed: " + e.getCause(), e.getCause());
        }
    }

    /** Forward, cross-entropy on the caption positions, backward, one AdamW update; returns the loss. */
    private static double trainStep(VisionLanguageModel model, AdamW adam, TrainingBatch b, int step, TrainerOptions opt) {
        ModelConfig cfg = model.config();
        int s = cfg.vitImgSize;
        NDManager m = model.manager();
        double loss;
        try (NDScope ignored = new NDScope()) {
            try (GradientCollector collector = Engine.getInstance().newGradientCollector()) {
                NDArray pixels = m.create(b.pixels(), new Shape(b.size(), 3, s, s));
                NDArray ids = m.create(b.ids(), new Shape(b.size(), b.length()));
                NDArray targets = m.create(b.targets(), new Shape(b.size(), b.length(), 1));
                NDArray weights = m.create(b.weights(), new Shape(b.size(), b.length()));
                NDArray logits = model.textLogits(pixels, ids); // [B, T, V]
                NDArray picked = logits.logSoftmax(2).gather(targets, 2).reshape(b.size(), b.length()); // [B, T]
                NDArray lossArray = picked.mul(weights).sum().neg().div(weights.sum());
                collector.backward(lossArray);
                loss = lossArray.getFloat();
            }
            adam.step(step + 1, opt.learningRateAt(step), opt.weightDecay(), opt.clipNorm());
        }
        return loss;
    }

    private static void checkpoint(VisionLanguageModel model, AdamW adam, Path out, int step, TrainerOptions opt)
            throws IOException {
        // Write beside, then move into place, so a kill mid-write leaves the previous checkpoint whole.
        Path tmp = Files.createDirectories(out.resolve(".checkpoint-tmp"));
        model.save(tmp);
        adam.save(tmp.resolve(OPTIMIZER_STATE));
        ObjectNode state = JSON.createObjectNode();
        state.put("step", step);
        state.put("seed", opt.seed());
        state.put("batch_size", opt.batchSize());
        state.put("samples_seen", (long) step * opt.batchSize());
        state.put("steps_planned", opt.steps());
        JSON.writerWithDefaultPrettyPrinter().writeValue(tmp.resolve(TRAINER_STATE).toFile(), state);
        for (String f : new String[] {VisionLanguageModel.CONFIG, VisionLanguageModel.WEIGHTS,
                VisionLanguageModel.TOKENIZER, OPTIMIZER_STATE, TRAINER_STATE}) {
            Files.move(tmp.resolve(f), out.resolve(f), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        }
        Files.delete(tmp);
    }

    static String duration(double seconds) {
        long s = Math.round(seconds);
        return s >= 3600 ? String.format("%dh%02dm", s / 3600, (s % 3600) / 60)
                : String.format("%dm%02ds", s / 60, s % 60);
    }
}
