package dev.glimpse.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.glimpse.job.Installation;
import dev.glimpse.model.Captioner;
import dev.glimpse.model.EngineDtype;
import dev.glimpse.model.Idefics3ImageProcessor;
import dev.glimpse.model.Idefics3Settings;
import dev.glimpse.model.ImageDecodeException;
import dev.glimpse.model.ImageFormat;
import dev.glimpse.model.ImagePreprocessor;
import dev.glimpse.model.Qwen2VlConfig;
import dev.glimpse.model.Qwen2VlModel;
import dev.glimpse.model.VisionLanguageModel;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code glimpse caption PATH...}: captions image files or folders without Kafka or Flink. */
@Command(name = "caption", mixinStandardHelpOptions = true,
        description = "Caption image files or folders (recursively), one line per image.")
final class CaptionFiles implements Callable<Integer> {
    private static final ObjectMapper MAPPER = new ObjectMapper();

    @Parameters(arity = "1..*", paramLabel = "PATH") List<Path> paths;
    @Option(names = "--model", description = "Model folder (default: the built-in model).") Path model;
    @Option(names = "--json", description = "Print JSON lines with id, path, caption.") boolean json;
    @Option(names = "--batch-size", defaultValue = "16") int batchSize;
    @Option(names = "--prompt", description = "Prompt for every image (default: the model's).") String prompt;
    @Option(names = "--max-new-tokens", defaultValue = "0", description = "0: the model's lm_max_length.") int maxNewTokens;
    @Option(names = "--single-view", description = "Caption one unmoved view of each image instead of the "
            + "model's test-time views (view_shifts in its config.json).") boolean singleView;
    @Option(names = "--dtype", defaultValue = "float32", description = "float32, bfloat16, float16 or auto (BF16 "
            + "where the CPU or GPU has it): the type the model's matrices are held and multiplied in.") String dtype;
    @Option(names = "--no-image-splitting", description = "SmolVLM models: caption from the global image only "
            + "instead of its tiles plus the global image.") boolean noImageSplitting;
    @Option(names = "--max-image-tokens", defaultValue = "0", description = "Qwen2-VL models: the most image tokens "
            + "one image may cost (28 x 28 pixels each); 0: the folder's max_pixels.") int maxImageTokens;

    @Override
    public Integer call() throws IOException {
        if (batchSize < 1) {
            throw new IllegalArgumentException("--batch-size must be at least 1");
        }
        List<Path> files = new ArrayList<>();
        for (Path p : paths) {
            if (Files.isDirectory(p)) {
                try (Stream<Path> s = Files.walk(p)) {
                    s.filter(Files::isRegularFile).filter(CaptionFiles::isImage).sorted().forEach(files::add);
                }
            } else if (Files.isRegularFile(p)) {
                files.add(p);
            } else {
                throw new IllegalArgumentException("no such file or folder: " + p);
            }
        }
        if (model != null && Qwen2VlConfig.isQwen2Vl(model)) {
            return captionQwen2Vl(files);
        }
        int failures = 0;
        try (VisionLanguageModel m = VisionLanguageModel.load(model != null ? model : Installation.builtInModel(), null,
                EngineDtype.parse(dtype))) {
            Captioner captioner = new Captioner(m);
            ImagePreprocessor pre = new ImagePreprocessor(singleView ? m.config().singleView() : m.config());
            Idefics3Settings smol = m.config().idefics3;
            Idefics3ImageProcessor tiler = smol == null ? null
                    : new Idefics3ImageProcessor(noImageSplitting ? smol.withImageSplitting(false) : smol);
            int cap = maxNewTokens > 0 ? maxNewTokens : m.config().lmMaxLength;
            for (int first = 0; first < files.size(); first += batchSize) {
                List<Path> batch = new ArrayList<>();
                List<float[]> pixels = new ArrayList<>();
                List<Idefics3ImageProcessor.Tiles> tiles = new ArrayList<>();
                for (Path f : files.subList(first, Math.min(files.size(), first + batchSize))) {
                    try {
                        byte[] bytes = Files.readAllBytes(f);
                        if (tiler != null) {
                            tiles.add(tiler.process(ImagePreprocessor.decodeRgb(bytes, ImagePreprocessor.Limits.DEFAULT,
                                    m.config().decodeTargetSize())));
                        } else {
                            pixels.add(pre.preprocessViews(bytes, ImagePreprocessor.Limits.DEFAULT));
                        }
                        batch.add(f);
                    } catch (ImageDecodeException e) {
                        failures++;
                        System.err.println(f + "\t" + e.code() + ": " + e.getMessage());
                    }
                }
                if (batch.isEmpty()) {
                    continue;
                }
                int[] caps = new int[batch.size()];
                java.util.Arrays.fill(caps, cap);
                List<String> prompts = new ArrayList<>(Collections.nCopies(batch.size(), prompt));
                List<Captioner.Caption> captions = tiler != null ? captioner.captionTiles(tiles, prompts, caps)
                        : captioner.caption(pixels, pre.plan(), prompts, caps);
                for (int i = 0; i < batch.size(); i++) {
                    print(batch.get(i), captions.get(i).text());
                }
            }
        }
        return failures == 0 ? 0 : 1;
    }

    /** A Qwen2-VL folder: each batch's images at their own sizes in one batched forward. */
    private int captionQwen2Vl(List<Path> files) throws IOException {
        int failures = 0;
        try (Qwen2VlModel m = Qwen2VlModel.load(model, null, maxImageTokens, EngineDtype.parse(dtype))) {
            int cap = maxNewTokens > 0 ? maxNewTokens : Qwen2VlConfig.DEFAULT_MAX_NEW_TOKENS;
            int target = m.config().summary().decodeTargetSize();
            for (int first = 0; first < files.size(); first += batchSize) {
                List<Path> batch = new ArrayList<>();
                List<Qwen2VlModel.Prepared> rows = new ArrayList<>();
                for (Path f : files.subList(first, Math.min(files.size(), first + batchSize))) {
                    try {
                        rows.add(m.prepare(ImagePreprocessor.decodeRgb(Files.readAllBytes(f), ImagePreprocessor.Limits.DEFAULT,
                                target), prompt));
                        batch.add(f);
                    } catch (ImageDecodeException | IllegalArgumentException e) {
                        failures++;
                        System.err.println(f + "\t" + e.getMessage());
                    }
                }
                int[] caps = new int[batch.size()];
                java.util.Arrays.fill(caps, cap);
                List<String> captions = m.caption(rows, caps);
                for (int i = 0; i < batch.size(); i++) {
                    print(batch.get(i), captions.get(i));
                }
            }
        }
        return failures == 0 ? 0 : 1;
    }

    private void print(Path f, String caption) throws IOException {
        if (json) {
            ObjectNode n = MAPPER.createObjectNode();
            String name = f.getFileName().toString();
            n.put("id", name.contains(".") ? name.substring(0, name.lastIndexOf('.')) : name);
            n.put("path", f.toString());
            n.put("caption", caption);
            System.out.println(MAPPER.writeValueAsString(n));
        } else {
            System.out.println(f + "\t" + caption);
        }
    }

    /** Folder entries are captioned when their first bytes are an image signature, whatever the name. */
    private static boolean isImage(Path p) {
        try (var in = Files.newInputStream(p)) {
            return ImageFormat.detect(in.readNBytes(16)) != null;
        } catch (IOException e) {
            return false;
        }
    }
}
