package dev.glimpse.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.IValue;
import java.util.Arrays;

/**
 * Keys and values of every decoder block, each {@code [R, H_kv, T, hd]}, allocated once at their
 * final size: a forward writes its keys in place into row slots and columns chosen beforehand
 * ({@link #prefill} or {@link #decode}), instead of concatenating a new history every token. Each
 * row is one sequence's slot with its own timeline; the caller masks the columns a row has not
 * filled.
 */
public final class KvCache implements AutoCloseable {
    private final NDArray[] keys;
    private final NDArray[] values;
    private final int rows;
    private final int columns;
    private NDIndex write;
    private NDIndex read;
    private Step step;
    /** The keys and the values as TorchScript lists, made once for {@link DecoderKernel}. */
    private IValue keyList;
    private IValue valueList;

    /**
     * Where the next forward writes and reads, as {@link DecoderKernel} takes it: {@code columns}
     * null for a prefill into {@code slots} (int64); else a decode whose row r writes at
     * ({@code slots[r]}, {@code columns[r]}) and which reads the first {@code used} rows' first
     * {@code width} columns.
     */
    record Step(NDArray slots, NDArray columns, int used, int width) {}

    /** Zeroed keys and values for {@code rows} slots of {@code columns} positions, on {@code manager}. */
    public KvCache(NDManager manager, ModelConfig cfg, int rows, int columns) {
        this.rows = rows;
        this.columns = columns;
        this.keys = new NDArray[cfg.lmNBlocks];
        this.values = new NDArray[cfg.lmNBlocks];
        Shape shape = new Shape(rows, cfg.lmNKvHeads, columns, cfg.lmHeadDim());
        for (int i = 0; i < keys.length; i++) {
            keys[i] = manager.zeros(shape);
            values[i] = manager.zeros(shape);
        }
    }

    /**
     * The next forward is a prefill of {@code t} tokens for the rows {@code slots} ({@code [r]},
     * int64): its keys go to columns {@code [0, t)} of those slots, and it attends to them alone.
     */
    void prefill(NDArray slots, int t) {
        write = new NDIndex("{}, :, :{}", slots, t);
        read = null;
        step = new Step(slots, null, 0, 0);
    }

    /**
     * The next forward decodes one token for each of the first {@code used} slots: row r's key goes
     * to column {@code columnOfRow[r]} ({@code [used]}, int64), and attention spans the first
     * {@code width} columns of those slots (the caller masks what a row has not filled).
     */
    void decode(NDArray usedRows, NDArray columnOfRow, int used, int width) {
        write = new NDIndex("{}, :, {}", usedRows, columnOfRow);
        read = new NDIndex(":{}, :, :{}", used, width);
        step = new Step(usedRows, columnOfRow, used, width);
    }

    /**
     * Stores this forward's keys and values {@code [r, H_kv, t, hd]} of {@code block} where the
     * last {@link #prefill}/{@link #decode} said; returns what attention reads. The returned views
     * belong to the manager of {@code k}, so they are freed with the step's temporaries.
     */
    NDArray[] attend(int block, NDArray k, NDArray v) {
        if (read == null) {
            keys[block].set(write, k);
            values[block].set(write, v);
            return new NDArray[] {k, v};
        }
        keys[block].set(write, k.squeeze(2));
        values[block].set(write, v.squeeze(2));
        NDArray kAll = keys[block].get(read); // [used, H_kv, width, hd]
        NDArray vAll = values[block].get(read);
        kAll.attach(k.getManager());
        vAll.attach(k.getManager());
        return new NDArray[] {kAll, vAll};
    }

    Step step() {
        return step;
    }

    IValue keyList() {
        if (keyList == null) {
            keyList = listOf(keys);
        }
        return keyList;
    }

    IValue valueList() {
        if (valueList == null) {
            valueList = listOf(values);
        }
        return valueList;
    }

    private static IValue listOf(NDArray[] blocks) {
        return IValue.listFrom(Arrays.stream(blocks).map(a -> (PtNDArray) a).toArray(PtNDArray[]::new));
    }

    public int rows() {
        return rows;
    }

    public int columns() {
        return columns;
    }

    /** Bytes held by the keys and values. */
    public long bytes() {
        long perArray = keys[0].getShape().size() * Float.BYTES;
        return 2L * keys.length * perArray;
    }

    @Override
    public void close() {
        if (keyList != null) {
            keyList.close();
        }
        if (valueList != null) {
            valueList.close();
        }
        for (int i = 0; i < keys.length; i++) {
            keys[i].close();
            values[i].close();
        }
    }
}
