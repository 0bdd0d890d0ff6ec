package dev.glimpse.cli;

import dev.glimpse.job.Engines;
import dev.glimpse.job.Installation;
import dev.glimpse.model.EngineDtype;
import dev.glimpse.model.Qwen2VlConfig;
import dev.glimpse.model.Qwen2VlModel;
import dev.glimpse.model.Qwen2VlVerifier;
import dev.glimpse.model.ReferenceVerifier;
import dev.glimpse.model.VisionLanguageModel;
import dev.glimpse.model.scenes.SceneGenerator;
import dev.glimpse.model.scenes.SceneWriter;
import dev.glimpse.model.training.Evaluator;
import dev.glimpse.model.training.ScenesModel;
import dev.glimpse.model.training.Trainer;
import dev.glimpse.model.training.TrainerOptions;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** The commands that work on the model alone, without Flink: scenes, train, eval, verify-reference. */
final class ModelCommands {
    private ModelCommands() {}

    @Command(name = "scenes", mixinStandardHelpOptions = true,
            description = "Write synthetic scenes (images + manifest.jsonl with id, file, caption).")
    public static final class Scenes implements Callable<Integer> {
        @Option(names = "--count", required = true) long count;
        @Option(names = "--seed", defaultValue = "1") long seed;
        @Option(names = "--out", required = true) Path out;

        @Override
        public Integer call() throws Exception {
            Path manifest = SceneWriter.write(new SceneGenerator(seed), count, out);
            System.out.println("wrote " + count + " scenes and " + manifest);
            return 0;
        }
    }

    @Command(name = "train", mixinStandardHelpOptions = true,
            description = "Train the built-in scenes model on scenes generated on the fly, from scratch or from a model folder.")
    public static final class Train implements Callable<Integer> {
        @Option(names = "--steps", defaultValue = "10000") int steps;
        @Option(names = "--batch-size", defaultValue = "32") int batchSize;
        @Option(names = "--lr", defaultValue = "2e-3") double lr;
        @Option(names = "--min-lr", defaultValue = "5e-5") double minLr;
        @Option(names = "--warmup", defaultValue = "300") int warmup;
        @Option(names = "--weight-decay", defaultValue = "0.01") double weightDecay;
        @Option(names = "--clip", defaultValue = "1.0") double clip;
        @Option(names = "--seed", defaultValue = "1") long seed;
        @Option(names = "--out", defaultValue = "runs/glimpse-scenes") Path out;
        @Option(names = "--resume", description = "Continue from the checkpoint in --out.") boolean resume;
        @Option(names = "--checkpoint-every", defaultValue = "250") int checkpointEvery;
        @Option(names = "--log-every", defaultValue = "50") int logEvery;
        @Option(names = "--data-threads", defaultValue = "1") int dataThreads;
        @Option(names = "--threads", defaultValue = "0", description = "PyTorch threads (0: all cores).") int threads;
        @Option(names = "--init-from", description = "Warm start: begin from this model folder's weights, "
                + "with a fresh optimizer and schedule.") Path initFrom;
        @Option(names = "--lm-blocks", defaultValue = "0", description = "Decoder blocks of a new model; with "
                + "--init-from, deepen the source's decoder to this many, new blocks starting as the identity "
                + "(0: the default, or the source's depth).") int lmBlocks;
        @Option(names = "--object-weights", split = ",", description = "Relative weights of scenes with 1, 2 "
                + "and 3 objects, e.g. 1,2,3 (default: uniform, as SCENES.md draws them).") double[] objectWeights;
        @Option(names = "--hard-share", defaultValue = "0", description = "Share of scenes (0 to 1) drawn from "
                + "the hardest corner of SCENES.md: 64-128 px canvases, mostly low-quality JPEG, mostly small "
                + "objects.") double hardShare;
        @Option(names = "--image-size", defaultValue = "0", description = "Input size in pixels of a new model; "
                + "with --init-from, resize the source's input to this, its position embeddings interpolated to the "
                + "new patch grid (0: the default, or the source's size).") int imageSize;
        @Option(names = "--vit-blocks", defaultValue = "0", description = "Vision-encoder blocks of a new model; "
                + "with --init-from, deepen the source's encoder to this many, new blocks starting as the identity "
                + "(0: the default, or the source's depth).") int vitBlocks;

        @Override
        public Integer call() throws Exception {
            Engines.configureThreads(threads);
            TrainerOptions opt = new TrainerOptions(steps, batchSize, lr, minLr, warmup, weightDecay, clip, seed,
                    out, resume, checkpointEvery, logEvery, dataThreads, initFrom, lmBlocks, objectWeights, hardShare,
                    imageSize, vitBlocks);
            Trainer.train(opt, ScenesModel.defaultConfig(), System.out);
            return 0;
        }
    }

    @Command(name = "eval", mixinStandardHelpOptions = true,
            description = "Caption N fresh scenes and print exact match, per-attribute accuracy and the worst confusions.")
    public static final class Eval implements Callable<Integer> {
        @Option(names = "--model", description = "Model folder (default: the built-in model).") Path model;
        @Option(names = "--count", defaultValue = "2000") int count;
        @Option(names = "--seed", defaultValue = "424242") long seed;
        @Option(names = "--batch-size", defaultValue = "64") int batchSize;
        @Option(names = "--manifest", description = "Score the images of this manifest.jsonl (file, caption per "
                + "line; e.g. scenes drawn by other software) instead of fresh scenes.") Path manifest;
        @Option(names = "--single-view", description = "Caption one unmoved view of each image instead of the "
                + "model's test-time views (view_shifts in its config.json).") boolean singleView;
        @Option(names = "--dtype", defaultValue = "float32", split = ",", description = "float32, bfloat16, float16 "
                + "or auto; several (float32,bfloat16): each scores the same scenes, then how many captions of each "
                + "equal the first's.") List<String> dtypes;
        @Option(names = "--patch-transport", defaultValue = "float32", split = ",", description = "float32 (exact) or "
                + "float16 (the patch embeddings rounded as the streaming job carries them to the captioner); both "
                + "(float32,float16): each dtype with each, compared with the first run.") List<String> transports;

        @Override
        public Integer call() throws IOException {
            Path dir = model != null ? model : Installation.builtInModel();
            Evaluator.Report first = null;
            String firstLabel = null;
            for (String d : dtypes) {
                try (VisionLanguageModel m = VisionLanguageModel.load(dir, null, EngineDtype.parse(d))) {
                    for (String transport : transports) {
                        String label = m.dtype().label() + ", patches " + transport;
                        if (dtypes.size() * transports.size() > 1) {
                            System.out.println(label + ":");
                        }
                        Evaluator.Report r = score(m, transport);
                        System.out.print(r.table());
                        if (first == null) {
                            first = r;
                            firstLabel = label;
                        } else {
                            printAgreement(r, label, first, firstLabel);
                        }
                    }
                }
            }
            return 0;
        }

        private Evaluator.Report score(VisionLanguageModel m, String transport) throws IOException {
            boolean f16 = switch (transport) {
                case "float32" -> false;
                case "float16" -> true;
                default -> throw new IllegalArgumentException("--patch-transport takes float32 or float16; got " + transport);
            };
            if (manifest == null) {
                return Evaluator.evaluate(m, seed, count, batchSize, !singleView, f16);
            }
            if (f16) {
                throw new IllegalArgumentException("--patch-transport float16 scores fresh scenes, not a --manifest");
            }
            return Evaluator.evaluate(m, manifest, batchSize, !singleView);
        }

        private static void printAgreement(Evaluator.Report r, String label, Evaluator.Report first, String firstLabel) {
            int same = 0;
            for (int i = 0; i < r.total(); i++) {
                same += r.captions().get(i).equals(first.captions().get(i)) ? 1 : 0;
            }
            System.out.printf(Locale.ROOT, "%s against %s: %d of %d captions identical (%.2f %%); exact match "
                            + "%.2f %% against %.2f %% (%+.2f points)%n", label, firstLabel, same, r.total(),
                    100.0 * same / r.total(), 100 * r.exactMatch(), 100 * first.exactMatch(),
                    100 * (r.exactMatch() - first.exactMatch()));
        }
    }

    @Command(name = "verify-reference", mixinStandardHelpOptions = true,
            description = "Compare every stage of a model with reference outputs of its original implementation.")
    public static final class VerifyReference implements Callable<Integer> {
        @Option(names = "--model", required = true) Path model;
        @Option(names = "--expected", required = true) Path expected;

        @Override
        public Integer call() throws Exception {
            List<ReferenceVerifier.Stage> stages;
            if (Qwen2VlConfig.isQwen2Vl(model)) {
                try (Qwen2VlModel m = Qwen2VlModel.load(model)) {
                    stages = Qwen2VlVerifier.verify(m, expected);
                }
            } else {
                try (VisionLanguageModel m = VisionLanguageModel.load(model)) {
                    stages = ReferenceVerifier.verify(m, expected);
                }
            }
            System.out.print(ReferenceVerifier.table(stages));
            boolean ok = !stages.isEmpty() && stages.stream().allMatch(ReferenceVerifier.Stage::pass);
            System.out.println(ok ? "all stages match (float tolerance " + ReferenceVerifier.TOLERANCE + ")"
                    : "MISMATCH");
            return ok ? 0 : 1;
        }
    }
}
