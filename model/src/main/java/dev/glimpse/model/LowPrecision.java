package dev.glimpse.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.engine.PtNDManager;
import ai.djl.pytorch.engine.PtSymbolBlock;
import ai.djl.pytorch.jni.IValue;
import ai.djl.pytorch.jni.IValueUtils;
import ai.djl.pytorch.jni.JniUtils;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

/**
 * Matrix products with BF16 or F16 weights, reached around DJL 0.36's native glue: its
 * {@code GetScalarTypeFromDType} ({@code djl_pytorch_utils.h}) maps DJL's data types 0-8 only and
 * ends in a bare {@code throw;} for any other, outside any {@code catch}, so {@code toType(BFLOAT16)}
 * or {@code create(buffer, shape, BFLOAT16)} calls {@code std::terminate} and the JVM ends without a
 * Java exception. Torch itself has the kernels (oneDNN's {@code avx512_core_bf16} here), so this
 * class passes BF16 and F16 tensors only to a TorchScript module whose methods cast and multiply
 * inside torch: a few lines of TorchScript, no weights, written as an archive here and loaded once
 * per process. DJL reports a BF16 tensor's type as {@link DataType#UNKNOWN}; shape operations
 * (reshape, transpose) work on it, anything that passes its type back to native code (softmax,
 * {@code zerosLike}, {@code toType}) would end the JVM, so the model never hands one to DJL's
 * arithmetic: every method here but {@link #cast} takes and returns F32 activations.
 */
public final class LowPrecision {
    /** torch's {@code ScalarType} codes (also {@link DecoderKernel}'s). */
    static final int TORCH_HALF = 5;
    static final int TORCH_FLOAT = 6;
    static final int TORCH_BFLOAT16 = 15;

    /** The methods, in the form {@code torch.jit.save} writes a module's code. */
    private static final List<String> CODE = List.of(
            "class LowPrecision(Module):",
            "  __parameters__ = []",
            "  __buffers__ = []",
            "  training : bool",
            "  def forward(self: __torch__.LowPrecision, x: Tensor, dtype: int) -> Tensor:",
            "    return torch.to(x, dtype)",
            "  def rounded(self: __torch__.LowPrecision, x: Tensor, dtype: int) -> Tensor:",
            "    return torch.to(torch.to(x, dtype), " + TORCH_FLOAT + ")",
            "  def linear(self: __torch__.LowPrecision, x: Tensor, w: Tensor) -> Tensor:",
            "    y = torch.linear(torch.to(x, ops.prim.dtype(w)), w)",
            "    return torch.to(y, " + TORCH_FLOAT + ")",
            "  def linear_bias(self: __torch__.LowPrecision, x: Tensor, w: Tensor, b: Tensor) -> Tensor:",
            "    t = ops.prim.dtype(w)",
            "    y = torch.linear(torch.to(x, t), w, torch.to(b, t))",
            "    return torch.to(y, " + TORCH_FLOAT + ")",
            "  def mlp_gelu(self: __torch__.LowPrecision, x: Tensor, w1: Tensor, b1: Tensor, w2: Tensor, b2: Tensor) -> Tensor:",
            "    t = ops.prim.dtype(w1)",
            "    h = torch.gelu(torch.linear(torch.to(x, t), w1, torch.to(b1, t)), approximate=\"tanh\")",
            "    return torch.to(torch.linear(h, w2, torch.to(b2, t)), " + TORCH_FLOAT + ")",
            "  def mlp_quick_gelu(self: __torch__.LowPrecision, x: Tensor, w1: Tensor, b1: Tensor, w2: Tensor, b2: Tensor) -> Tensor:",
            "    t = ops.prim.dtype(w1)",
            "    h = torch.linear(torch.to(x, t), w1, torch.to(b1, t))",
            "    h = torch.mul(h, torch.sigmoid(torch.mul(h, 1.702)))",
            "    return torch.to(torch.linear(h, w2, torch.to(b2, t)), " + TORCH_FLOAT + ")",
            "  def mlp_swiglu(self: __torch__.LowPrecision, x: Tensor, gate: Tensor, up: Tensor, down: Tensor) -> Tensor:",
            "    xt = torch.to(x, ops.prim.dtype(gate))",
            "    h = torch.mul(torch.silu(torch.linear(xt, gate)), torch.linear(xt, up))",
            "    return torch.to(torch.linear(h, down), " + TORCH_FLOAT + ")",
            "  def embedding(self: __torch__.LowPrecision, table: Tensor, ids: Tensor) -> Tensor:",
            "    return torch.to(torch.embedding(table, ids), " + TORCH_FLOAT + ")",
            // repeat: several queries a row run over the kv heads repeated for their query groups (torch's
            // CPU kernel with enable_gqa took 2.4 times as long here: 874 tokens, 9 heads over 3), as
            // DecoderKernel's prefill; one query a row keeps enable_gqa, which DecoderKernel's decode
            // attention reproduces.
            "  def attention(self: __torch__.LowPrecision, q: Tensor, k: Tensor, v: Tensor, scale: float, dtype: int,"
                    + " repeat: bool) -> Tensor:",
            "    return self.attention_masked(q, k, v, None, scale, dtype, repeat)",
            "  def attention_masked(self: __torch__.LowPrecision, q: Tensor, k: Tensor, v: Tensor, mask: Optional[Tensor], scale: float,"
                    + " dtype: int, repeat: bool) -> Tensor:",
            "    m = annotate(Optional[Tensor], None)",
            "    if mask is not None:",
            "      m = torch.to(mask, dtype)",
            "    g = torch.floordiv(torch.size(q, 1), torch.size(k, 1))",
            "    if repeat and torch.size(q, 2) > 1 and g > 1:",
            "      y = torch.scaled_dot_product_attention(torch.to(q, dtype), torch.repeat_interleave(torch.to(k, dtype), g, 1),"
                    + " torch.repeat_interleave(torch.to(v, dtype), g, 1), m, 0., False, scale=scale)",
            "    else:",
            "      y = torch.scaled_dot_product_attention(torch.to(q, dtype), torch.to(k, dtype), torch.to(v, dtype),"
                    + " m, 0., False, scale=scale, enable_gqa=True)",
            "    return torch.to(y, " + TORCH_FLOAT + ")",
            "");

    private static volatile PtSymbolBlock module;

    private LowPrecision() {}

    /** {@code x} (F32) as {@code dtype} ({@link EngineDtype#BFLOAT16} or {@link EngineDtype#FLOAT16}), on {@code x}'s manager. */
    public static NDArray cast(NDArray x, EngineDtype dtype) {
        return run("forward", x.getManager(), IValue.from(pt(x)), IValue.from(torchType(dtype)));
    }

    /** {@code x} (F32) rounded to {@code dtype}'s nearest values ({@link EngineDtype#BFLOAT16} or {@link EngineDtype#FLOAT16}), held F32. */
    static NDArray rounded(NDArray x, EngineDtype dtype) {
        return run("rounded", x.getManager(), IValue.from(pt(x)), IValue.from(torchType(dtype)));
    }

    /** {@code x @ w^T + b} for F32 {@code x} and a BF16 or F16 {@code w} (and {@code b}, any float type; may be null): F32. */
    public static NDArray linear(NDArray x, NDArray w, NDArray b) {
        if (b == null) {
            return run("linear", x.getManager(), IValue.from(pt(x)), IValue.from(pt(w)));
        }
        return run("linear_bias", x.getManager(), IValue.from(pt(x)), IValue.from(pt(w)), IValue.from(pt(b)));
    }

    /**
     * SigLIP's MLP {@code fc2(gelu_tanh(fc1(x)))} with BF16 or F16 weights, in one call: the hidden
     * activations ({@code 4x} the width) stay in that type, as in the original models run in it; F32 out.
     */
    public static NDArray mlpGelu(NDArray x, NDArray w1, NDArray b1, NDArray w2, NDArray b2) {
        return run("mlp_gelu", x.getManager(), IValue.from(pt(x)), IValue.from(pt(w1)), IValue.from(pt(b1)),
                IValue.from(pt(w2)), IValue.from(pt(b2)));
    }

    /**
     * Qwen2-VL's vision MLP {@code fc2(quick_gelu(fc1(x)))} ({@code quick_gelu(h) = h * sigmoid(1.702 h)})
     * with BF16 or F16 weights, in one call: the hidden activations stay in that type; F32 out.
     */
    public static NDArray mlpQuickGelu(NDArray x, NDArray w1, NDArray b1, NDArray w2, NDArray b2) {
        return run("mlp_quick_gelu", x.getManager(), IValue.from(pt(x)), IValue.from(pt(w1)), IValue.from(pt(b1)),
                IValue.from(pt(w2)), IValue.from(pt(b2)));
    }

    /** The decoder's SwiGLU MLP {@code down(silu(gate(x)) * up(x))} with BF16 or F16 weights, in one call; F32 out. */
    public static NDArray mlpSwiGlu(NDArray x, NDArray gate, NDArray up, NDArray down) {
        return run("mlp_swiglu", x.getManager(), IValue.from(pt(x)), IValue.from(pt(gate)), IValue.from(pt(up)),
                IValue.from(pt(down)));
    }

    /** Rows of a BF16 or F16 {@code table} picked by {@code ids}, as F32: {@code [..] -> [.., D]}. */
    public static NDArray embedding(NDArray ids, NDArray table) {
        return run("embedding", ids.getManager(), IValue.from(pt(table)), IValue.from(pt(ids)));
    }

    /**
     * {@code softmax(q k^T * scale + mask) v} over F32 {@code q [B, H, T, hd]}, {@code k, v [B, H_kv, T_kv, hd]}
     * ({@code H_kv} dividing {@code H}: each kv head serves a group of query heads) and
     * {@code mask} ({@code [B or 1, 1, T, T_kv]}, added; may be null), computed in {@code dtype} by
     * torch's fused attention, one call in place of six: F32 {@code [B, H, T, hd]}.
     */
    public static NDArray attention(NDArray q, NDArray k, NDArray v, NDArray mask, double scale, EngineDtype dtype) {
        return attention(q, k, v, mask, scale, dtype, false);
    }

    /**
     * As {@link #attention}, but several queries a row attend over the kv heads repeated for their
     * query groups, as {@link DecoderKernel}'s prefill does (torch's CPU kernel is 2.4 times as fast
     * so here), or in BF16 one head at a time from {@link DecoderKernel#BY_HEAD_MIN_TOKENS} tokens on a
     * CPU, as it does too; one query a row as {@link #attention}. {@link TextDecoder}'s op-by-op path, so that it
     * computes what the kernel does.
     */
    static NDArray attentionRepeatingKv(NDArray q, NDArray k, NDArray v, NDArray mask, double scale, EngineDtype dtype) {
        if (DecoderKernel.attendsByHead(dtype, q.getShape().get(2), q)) {
            return DecoderKernel.attentionByHead(q, k, v, mask, scale, true);
        }
        return attention(q, k, v, mask, scale, dtype, true);
    }

    private static NDArray attention(NDArray q, NDArray k, NDArray v, NDArray mask, double scale, EngineDtype dtype,
                                     boolean repeat) {
        if (mask == null) {
            return run("attention", q.getManager(), IValue.from(pt(q)), IValue.from(pt(k)), IValue.from(pt(v)),
                    IValue.from(scale), IValue.from(torchType(dtype)), IValue.from(repeat));
        }
        return run("attention_masked", q.getManager(), IValue.from(pt(q)), IValue.from(pt(k)), IValue.from(pt(v)),
                IValue.from(pt(mask)), IValue.from(scale), IValue.from(torchType(dtype)), IValue.from(repeat));
    }

    /** The type {@code a} is held in: BF16 (which DJL reads as UNKNOWN), F16 or F32. */
    public static EngineDtype typeOf(NDArray a) {
        DataType t = a.getDataType();
        if (t == DataType.FLOAT16) {
            return EngineDtype.FLOAT16;
        }
        return t == DataType.UNKNOWN || t == DataType.BFLOAT16 ? EngineDtype.BFLOAT16 : EngineDtype.FLOAT32;
    }

    /** Whether {@code a} is held in a type DJL cannot compute with here (BF16 reads as UNKNOWN) or in F16. */
    public static boolean isLow(NDArray a) {
        DataType t = a.getDataType();
        return t == DataType.UNKNOWN || t == DataType.FLOAT16 || t == DataType.BFLOAT16;
    }

    private static long torchType(EngineDtype dtype) {
        switch (dtype) {
            case BFLOAT16:
                return TORCH_BFLOAT16;
            case FLOAT16:
                return TORCH_HALF;
            default:
                throw new IllegalArgumentException("no low-precision type for " + dtype);
        }
    }

    private static PtNDArray pt(NDArray a) {
        return (PtNDArray) a;
    }

    private static NDArray run(String method, NDManager manager, IValue... inputs) {
        return run(module(), method, manager, inputs);
    }

    /**
     * {@code module.method(inputs)}, whose one tensor result is attached to {@code manager}; the
     * inputs are closed (the tensors they wrap are not).
     */
    static NDArray run(PtSymbolBlock module, String method, NDManager manager, IValue... inputs) {
        IValue out = null;
        try {
            out = IValueUtils.runMethod(module, method, inputs);
            return out.toTensor((PtNDManager) manager);
        } finally {
            if (out != null) {
                out.close();
            }
            for (IValue in : inputs) {
                in.close();
            }
        }
    }

    private static PtSymbolBlock module() {
        PtSymbolBlock m = module;
        if (m == null) {
            synchronized (LowPrecision.class) {
                m = module;
                if (m == null) {
                    m = load("LowPrecision", CODE);
                    module = m;
                }
            }
        }
        return m;
    }

    /**
     * The TorchScript module of class {@code className} whose code is {@code code} (the lines of its
     * {@code __torch__.py}), loaded from an {@link #archive}. It lives as long as the process: it
     * holds no tensors, only code.
     */
    static PtSymbolBlock load(String className, List<String> code) {
        PtNDManager manager = (PtNDManager) NDManager.newBaseManager();
        try {
            return JniUtils.loadModule(manager, new ByteArrayInputStream(archive(className, code)), false, false);
        } catch (IOException e) {
            manager.close();
            throw new UncheckedIOException(e);
        }
    }

    /**
     * The TorchScript archive of a module without weights: its {@code code}, its pickled instance (an
     * object of class {@code __torch__.<className>} whose one attribute is {@code training = False}), no constants,
     * file format version 10, the newest torch 2.7 reads: an older version makes torch read the code
     * against older operator schemas (version 3 knows no {@code gelu(approximate=)}).
     */
    static byte[] archive(String className, List<String> code) {
        ByteArrayOutputStream pickle = new ByteArrayOutputStream();
        pickle.writeBytes(new byte[] {(byte) 0x80, 2}); // PROTO 2
        pickle.writeBytes(("c__torch__\n" + className + "\n").getBytes(StandardCharsets.US_ASCII)); // GLOBAL
        pickle.writeBytes(new byte[] {')', (byte) 0x81, '}', '('}); // EMPTY_TUPLE NEWOBJ EMPTY_DICT MARK
        pickle.writeBytes(new byte[] {'X', 8, 0, 0, 0}); // BINUNICODE of 8 bytes
        pickle.writeBytes("training".getBytes(StandardCharsets.US_ASCII));
        pickle.writeBytes(new byte[] {(byte) 0x89, 'u', 'b', '.'}); // NEWFALSE SETITEMS BUILD STOP
        ByteArrayOutputStream zip = new ByteArrayOutputStream();
        try (ZipOutputStream z = new ZipOutputStream(zip)) {
            String folder = className.toLowerCase(java.util.Locale.ROOT) + "/";
            store(z, folder + "data.pkl", pickle.toByteArray());
            store(z, folder + "code/__torch__.py", String.join("\n", code).getBytes(StandardCharsets.UTF_8));
            store(z, folder + "constants.pkl", new byte[] {(byte) 0x80, 2, ')', '.'}); // an empty tuple
            store(z, folder + "version", "10\n".getBytes(StandardCharsets.US_ASCII));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return zip.toByteArray();
    }

    /** Stored, not deflated, as {@code torch.jit.save} writes its archives. */
    private static void store(ZipOutputStream z, String name, byte[] data) throws IOException {
        ZipEntry e = new ZipEntry(name);
        e.setMethod(ZipEntry.STORED);
        e.setSize(data.length);
        CRC32 crc = new CRC32();
        crc.update(data);
        e.setCrc(crc.getValue());
        z.putNextEntry(e);
        z.write(data);
        z.closeEntry();
    }
}
