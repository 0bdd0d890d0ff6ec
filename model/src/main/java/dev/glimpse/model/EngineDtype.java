package dev.glimpse.model;

import ai.djl.Device;
import ai.djl.engine.Engine;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * The type a model's matrices are held and multiplied in ({@code engine.dtype}, {@code --dtype}).
 * Norms, softmax, residuals, the KV cache and the logits stay F32 whatever the choice, as in the
 * original models' mixed-precision inference; parity checks and {@code verify-reference} use F32.
 */
public enum EngineDtype {
    FLOAT32, BFLOAT16, FLOAT16,
    /** BF16 on a CPU with AVX-512 BF16 or AMX instructions and on a GPU, else F32. */
    AUTO;

    /**
     * The system property a JVM's shared models fall back on when the job does not say
     * ({@code engine.dtype} unset): {@code -Dglimpse.engine.dtype=...}, e.g. in a TaskManager's java options.
     */
    public static final String PROPERTY = "glimpse.engine.dtype";
    private static final Pattern BF16_FLAGS = Pattern.compile("\\b(avx512_bf16|amx_bf16)\\b");

    /** {@code float32}, {@code bfloat16}, {@code float16} or {@code auto}, as the configuration writes them. */
    public static EngineDtype parse(String s) {
        for (EngineDtype d : values()) {
            if (d.label().equals(s.trim().toLowerCase(Locale.ROOT))) {
                return d;
            }
        }
        throw new IllegalArgumentException("dtype must be float32, bfloat16, float16 or auto; got '" + s + "'");
    }

    /** This JVM's {@link #PROPERTY}, else {@link #FLOAT32}: the type of a model whose job names none. */
    public static EngineDtype configured() {
        return parse(System.getProperty(PROPERTY, "float32"));
    }

    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** The concrete type on {@code device} (null: the engine's default): {@link #AUTO} decided, the others as they are. */
    public EngineDtype resolve(Device device) {
        if (this != AUTO) {
            return this;
        }
        Device d = device != null ? device : Engine.getInstance().defaultDevice();
        if (d.isGpu()) {
            return BFLOAT16;
        }
        return cpuHasBf16() ? BFLOAT16 : FLOAT32;
    }

    /**
     * The type a model held in {@code held} is cast to when asked for {@code requested} on {@code
     * device}; null when it is held so already. A model cast to BF16 or F16 stays so: asking it for
     * another type is refused (load it again).
     */
    public static EngineDtype castTarget(EngineDtype held, EngineDtype requested, Device device) {
        EngineDtype concrete = requested.resolve(device);
        if (concrete == held) {
            return null;
        }
        if (held != FLOAT32) {
            throw new IllegalStateException("the model is held in " + held.label() + " already; load it again for "
                    + concrete.label());
        }
        return concrete;
    }

    /** Whether this machine's CPU multiplies BF16 natively (Linux: its flags in {@code /proc/cpuinfo}). */
    public static boolean cpuHasBf16() {
        Path cpuinfo = Path.of("/proc/cpuinfo");
        try {
            return Files.isReadable(cpuinfo) && Files.readAllLines(cpuinfo).stream()
                    .filter(l -> l.startsWith("flags"))
                    .anyMatch(l -> BF16_FLAGS.matcher(l).find());
        } catch (IOException e) {
            return false;
        }
    }
}
