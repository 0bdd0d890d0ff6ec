package dev.glimpse.bench;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.jni.JniUtils;
import dev.glimpse.model.EngineDtype;
import dev.glimpse.model.LowPrecision;
import dev.glimpse.model.CaptionFlops;
import java.util.Locale;

/**
 * What this machine can do at best through the same engine, device and threads as the model, measured
 * in the benchmark's own process: the rate of one large F32 matrix product, and the memory bandwidth
 * of an in-place add over tensors far larger than any cache. A model's figures divided by these are
 * its fraction of the floor.
 *
 * @param device       where it ran (the model's device)
 * @param threads      PyTorch's intra-op threads at the time
 * @param matmulGflops best of several {@code [n, n] x [n, n]} F32 products, {@code 2n³} FLOPs each
 * @param bandwidthGbs best of several {@code a += b} over two F32 tensors, 3 × their size moved
 *                     each time (read a, read b, write a), in GB/s (10⁹ bytes)
 * @param dtype        the type the model's matrices are held in: its products run at {@link #modelGflops}
 *                     and a decode step reads its weights at that type's size
 * @param lowMatmulGflops for a BF16 or F16 model, best of several {@code [n, n] x [n, n]^T} products
 *                     with one operand held in that type and the other cast to it from F32, the
 *                     product back to F32: the model's own products ({@link LowPrecision#linear}); NaN for F32
 */
public record MachineFloor(String device, int threads, int matmulSize, double matmulGflops, long addBytes,
        double bandwidthGbs, int repeats, EngineDtype dtype, double lowMatmulGflops) {

    public MachineFloor(String device, int threads, int matmulSize, double matmulGflops, long addBytes,
            double bandwidthGbs, int repeats) {
        this(device, threads, matmulSize, matmulGflops, addBytes, bandwidthGbs, repeats, EngineDtype.FLOAT32, Double.NaN);
    }

    public static final int MATMUL_SIZE = 2048;
    /** 32 Mi floats, 128 MiB per tensor: several times any last-level cache here. */
    public static final long ADD_ELEMENTS = 32L << 20;

    /** Measures on {@code parent}'s device (the model's), freeing everything it made. */
    public static MachineFloor measure(NDManager parent) {
        return measure(parent, EngineDtype.FLOAT32);
    }

    /** As {@link #measure(NDManager)}, for a model whose matrices are held in {@code dtype} (a concrete type). */
    public static MachineFloor measure(NDManager parent, EngineDtype dtype) {
        return measure(parent, MATMUL_SIZE, ADD_ELEMENTS, 4, dtype);
    }

    static MachineFloor measure(NDManager parent, int n, long addElements, int repeats, EngineDtype dtype) {
        try (NDManager m = parent.newSubManager()) {
            NDArray a = m.randomUniform(-1, 1, new Shape(n, n));
            NDArray b = m.randomUniform(-1, 1, new Shape(n, n));
            double gflops = 2.0 * n * n * n / bestNanos(repeats, () -> a.matMul(b));
            double lowGflops = Double.NaN;
            if (dtype != EngineDtype.FLOAT32) {
                NDArray low = LowPrecision.cast(b, dtype);
                lowGflops = 2.0 * n * n * n / bestNanos(repeats, () -> LowPrecision.linear(a, low, null));
            }

            NDArray x = m.zeros(new Shape(addElements));
            NDArray y = m.ones(new Shape(addElements));
            long bestAdd = Long.MAX_VALUE;
            for (int r = 0; r <= repeats; r++) {
                long t0 = System.nanoTime();
                x.addi(y);
                synchronize(x);
                long t = System.nanoTime() - t0;
                if (r > 0) {
                    bestAdd = Math.min(bestAdd, t);
                }
            }
            long bytes = addElements * Float.BYTES;
            return new MachineFloor(parent.getDevice().toString(), JniUtils.getNumThreads(), n, gflops, bytes,
                    3.0 * bytes / bestAdd, repeats, dtype, lowGflops);
        }
    }

    /** The best time of {@code repeats} runs of {@code product}, after a warm-up. */
    private static long bestNanos(int repeats, java.util.function.Supplier<NDArray> product) {
        long best = Long.MAX_VALUE;
        for (int r = 0; r <= repeats; r++) {
            long t0 = System.nanoTime();
            try (NDArray p = product.get()) {
                synchronize(p);
            }
            long t = System.nanoTime() - t0;
            if (r > 0) {
                best = Math.min(best, t);
            }
        }
        return best;
    }

    /** The rate of the model's own products: F32's, or the low-precision type's. */
    public double modelGflops() {
        return dtype == EngineDtype.FLOAT32 ? matmulGflops : lowMatmulGflops;
    }

    /** The bytes of decoder weights a decode step reads, at the model's type's size. */
    public double decodeWeightBytes(CaptionFlops f) {
        return dtype == EngineDtype.FLOAT32 ? f.decodeWeightBytes() : f.decodeWeightBytes() / 2.0;
    }

    /** Reading one element back waits for the device to finish (a no-op wait on the CPU). */
    private static void synchronize(NDArray x) {
        x.get(0).toFloatArray();
    }

    /** The time in ms a device at this floor needs for {@code flops} of compute-bound work in the model's type. */
    public double computeMs(double flops) {
        return flops / modelGflops() / 1e6;
    }

    /** The time in ms to read {@code bytes} at this floor's bandwidth. */
    public double memoryMs(double bytes) {
        return bytes / bandwidthGbs / 1e6;
    }

    /**
     * The least time in ms a batch of {@code rows} captions (one image or tile set each) could take here:
     * vision and prefill at the matmul rate; each decode step at the slower of its FLOPs at that rate
     * and its bytes (the decoder's weights once, each row's keys and values) at the bandwidth.
     */
    public double captionFloorMs(CaptionFlops f, int rows, int imagesPerRow, int prefillLength, int newTokens) {
        double ms = computeMs((double) rows * (imagesPerRow * f.vision() + f.prefill(prefillLength)));
        for (int t = 1; t < newTokens; t++) {
            ms += decodeStepMs(f, rows, prefillLength + t);
        }
        return ms;
    }

    /**
     * The least time in ms a decode step of {@code rows} rows attending {@code keys} keys could take
     * here: the slower of its FLOPs at the matmul rate and its bytes (the decoder's weights once, each
     * row's keys and values) at the bandwidth.
     */
    public double decodeStepMs(CaptionFlops f, int rows, int keys) {
        return Math.max(computeMs((double) rows * f.decodeStep(keys)),
                memoryMs(decodeWeightBytes(f) + (double) rows * f.kvBytes(keys)));
    }

    @Override
    public String toString() {
        return String.format(Locale.ROOT, "floor measured in this run on %s, %d intra-op thread%s: "
                        + "matmul %dx%d F32 %.1f GFLOP/s; memory %.1f GB/s (in-place add of two %d MiB F32 tensors, "
                        + "3 x %d MiB moved); best of %d each",
                device, threads, threads == 1 ? "" : "s", matmulSize, matmulSize, matmulGflops, bandwidthGbs, addBytes >> 20, addBytes >> 20, repeats)
                + (dtype == EngineDtype.FLOAT32 ? "" : String.format(Locale.ROOT, "; matmul %dx%d %s %.1f GFLOP/s"
                        + " (one operand held in %s, the other cast from F32, the product back to F32: the model's"
                        + " products), x%.2f F32's", matmulSize, matmulSize, dtype == EngineDtype.BFLOAT16 ? "BF16" : "F16",
                        lowMatmulGflops, dtype.label(), lowMatmulGflops / matmulGflops));
    }
}
