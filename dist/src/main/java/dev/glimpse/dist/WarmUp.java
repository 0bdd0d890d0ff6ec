package dev.glimpse.dist;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.util.Platform;
import dev.glimpse.model.Qwen2VlConfig;
import dev.glimpse.model.Qwen2VlModel;
import dev.glimpse.model.VisionLanguageModel;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;

/**
 * Run once while an image is built, with the cluster's {@code lib/} on the class path: loads the
 * PyTorch engine and the tokenizers library (so DJL extracts its natives into the image, not into a
 * TaskManager's home at first use), runs one tensor operation through the JNI, checks that the
 * ImageIO plug-ins and DJL's dependencies are present and, with {@code --model DIR}, loads a model.
 * Any failure exits non-zero so the image build stops.
 *
 * <pre>
 * java -cp '/opt/flink/lib/*:glimpse-dist.jar[:glimpse-job-cluster.jar]' dev.glimpse.dist.WarmUp
 *      [--model DIR] [--write-libtorch-path FILE] [--extract-jni FLAVOR DIR] [--skip-engine]
 * </pre>
 *
 * {@code --extract-jni cu128 DIR} copies DJL's JNI library for that PyTorch flavor out of the
 * pytorch-jni jar into DIR under the name DJL looks for next to libtorch ({@code
 * <djl-version>-libdjl_torch.so}): how a CUDA libtorch obtained elsewhere is completed.
 * {@code --skip-engine} leaves PyTorch unloaded (a CUDA build of libtorch may need the NVIDIA driver,
 * which an image build does not have); everything else is still checked.
 */
public final class WarmUp {
    private static final PrintStream OUT = System.out;

    private WarmUp() {}

    public static void main(String[] args) {
        Path model = null;
        Path libtorchPathFile = null;
        String jniFlavor = null;
        Path jniDir = null;
        boolean skipEngine = false;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--model" -> model = Path.of(value(args, ++i));
                case "--write-libtorch-path" -> libtorchPathFile = Path.of(value(args, ++i));
                case "--extract-jni" -> {
                    jniFlavor = value(args, ++i);
                    jniDir = Path.of(value(args, ++i));
                }
                case "--skip-engine" -> skipEngine = true;
                default -> {
                    System.err.println("usage: WarmUp [--model DIR] [--write-libtorch-path FILE] [--extract-jni FLAVOR DIR]"
                            + " [--skip-engine]");
                    System.exit(2);
                }
            }
        }
        if (skipEngine && (model != null || libtorchPathFile != null)) {
            System.err.println("--skip-engine cannot be combined with --model or --write-libtorch-path");
            System.exit(2);
        }
        try {
            if (jniFlavor != null) {
                extractJni(jniFlavor, jniDir);
            }
            run(model, libtorchPathFile, skipEngine);
            OUT.println("warm-up OK");
        } catch (Throwable t) {
            System.err.println("warm-up FAILED: " + t);
            t.printStackTrace();
            System.exit(1);
        }
    }

    private static String value(String[] args, int i) {
        if (i >= args.length) {
            System.err.println("missing value after " + args[i - 1]);
            System.exit(2);
        }
        return args[i];
    }

    /** Copies jnilib/<classifier>/<flavor>/libdjl_torch.so of the pytorch-jni jar into {@code dir}. */
    static void extractJni(String flavor, Path dir) throws Exception {
        Platform platform = Platform.detectPlatform("pytorch");
        String resource = "jnilib/" + platform.getClassifier() + "/" + flavor + "/" + System.mapLibraryName("djl_torch");
        Path target = dir.resolve(platform.getApiVersion() + "-" + System.mapLibraryName("djl_torch"));
        try (InputStream in = WarmUp.class.getClassLoader().getResourceAsStream(resource)) {
            if (in == null) {
                throw new IllegalStateException("no " + resource + " on the class path: the pytorch-jni jar has no JNI"
                        + " library for flavor " + flavor + " (list it with: unzip -l pytorch-jni-*.jar)");
            }
            Files.createDirectories(dir);
            Files.copy(in, target, StandardCopyOption.REPLACE_EXISTING);
        }
        OUT.println("extracted " + resource + " to " + target);
    }

    static void run(Path model, Path libtorchPathFile, boolean skipEngine) throws Exception {
        OUT.println("DJL_OFFLINE=" + System.getenv("DJL_OFFLINE") + " ai.djl.offline=" + System.getProperty("ai.djl.offline")
                + " DJL_CACHE_DIR=" + System.getenv("DJL_CACHE_DIR")
                + " PYTORCH_LIBRARY_PATH=" + System.getenv("PYTORCH_LIBRARY_PATH")
                + " PYTORCH_FLAVOR=" + System.getenv("PYTORCH_FLAVOR"));

        // 1. PyTorch: finds (or extracts, or with DJL_OFFLINE=false downloads) libtorch and the JNI library.
        if (skipEngine) {
            OUT.println("PyTorch engine not loaded (--skip-engine)");
        } else {
            loadEngine(libtorchPathFile);
        }

        // 2. Tokenizers: its static initialiser extracts and loads libtokenizers.so.
        ai.djl.huggingface.tokenizers.jni.LibUtils.checkStatus();
        OUT.println("tokenizers native library loaded");

        // 3. DJL's Java dependencies: gson and jna come with lib/, commons-compress with flink-dist.
        requireClass("com.google.gson.Gson", "gson (DJL API)");
        requireClass("com.sun.jna.Native", "jna (DJL CUDA detection)");
        if (!hasClass("org.apache.commons.compress.archivers.ArchiveInputStream")) {
            // Only DJL's archive utilities need it (model zoo downloads), which an offline cluster never runs.
            OUT.println("note: commons-compress is not on the class path (only DJL's archive utilities use it)");
        }

        // 4. ImageIO plug-ins: TwelveMonkeys registers a WebP reader and its own JPEG reader.
        if (!ImageIO.getImageReadersByFormatName("webp").hasNext()) {
            throw new IllegalStateException("no WebP ImageIO reader: the TwelveMonkeys jars are missing from lib/");
        }
        List<String> jpeg = new ArrayList<>();
        for (Iterator<ImageReader> it = ImageIO.getImageReadersByFormatName("jpeg"); it.hasNext(); ) {
            jpeg.add(it.next().getClass().getName());
        }
        if (jpeg.stream().noneMatch(n -> n.startsWith("com.twelvemonkeys."))) {
            throw new IllegalStateException("no TwelveMonkeys JPEG reader (CMYK/YCCK JPEGs would fail): " + jpeg);
        }
        OUT.println("ImageIO readers OK (webp, jpeg: " + jpeg + ")");

        // 5. The model, when asked: config, safetensors and tokenizer load with this lib/.
        if (model != null) {
            long start = System.nanoTime();
            if (Qwen2VlConfig.isQwen2Vl(model)) {
                try (Qwen2VlModel m = Qwen2VlModel.load(model)) {
                    OUT.println("model " + model + " loaded in " + (System.nanoTime() - start) / 1_000_000 + " ms: "
                            + m.config().modelName() + " (Qwen2-VL)");
                }
            } else {
                try (VisionLanguageModel m = VisionLanguageModel.load(model)) {
                    OUT.println("model " + model + " loaded in " + (System.nanoTime() - start) / 1_000_000 + " ms: "
                            + m.config().displayName());
                }
            }
        }
    }

    private static void loadEngine(Path libtorchPathFile) throws Exception {
        Engine engine = Engine.getEngine("PyTorch");
        String libtorch = ai.djl.pytorch.jni.LibUtils.getLibtorchPath();
        OUT.println("engine " + engine.getEngineName() + " " + engine.getVersion() + " from " + libtorch
                + ", CUDA capability " + engine.hasCapability("CUDA") + ", GPUs visible now " + engine.getGpuCount());
        try (NDManager m = engine.newBaseManager()) {
            float sum = m.ones(new Shape(2, 3)).sum().getFloat();
            if (sum != 6f) {
                throw new IllegalStateException("PyTorch computed " + sum + " for the sum of six ones");
            }
        }
        if (libtorchPathFile != null) {
            Files.writeString(libtorchPathFile, libtorch, StandardCharsets.UTF_8);
        }
    }

    private static boolean hasClass(String name) {
        try {
            Class.forName(name, false, WarmUp.class.getClassLoader());
            return true;
        } catch (ClassNotFoundException | LinkageError e) {
            return false;
        }
    }

    private static void requireClass(String name, String what) {
        if (!hasClass(name)) {
            throw new IllegalStateException(what + " missing: class " + name + " not on the class path");
        }
    }
}
