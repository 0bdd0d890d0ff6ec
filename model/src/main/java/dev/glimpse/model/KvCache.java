package dev.glimpse.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;

/** Keys and values of every decoder block, each {@code [B, H_kv, T, hd]}, grown one step at a time. */
public final class KvCache implements AutoCloseable {
    private final NDArray[] keys;
    private final NDArray[] values;

    public KvCache(int blocks) {
        this.keys = new NDArray[blocks];
        this.values = new NDArray[blocks];
    }

    /** Appends this step's keys and values of {@code block}; returns the whole history. */
    NDArray[] append(int block, NDArray k, NDArray v) {
        if (keys[block] == null) {
            keys[block] = k;
            values[block] = v;
        } else {
            NDArray oldK = keys[block];
            NDArray oldV = values[block];
            keys[block] = NDArrays.concat(new NDList(oldK, k), 2);
            values[block] = NDArrays.concat(new NDList(oldV, v), 2);
            oldK.close();
            oldV.close();
        }
        return new NDArray[] {keys[block], values[block]};
    }

    /** Keeps only the batch rows in {@code rows} (rows that are still generating). */
    void keepRows(NDArray rows) {
        for (int i = 0; i < keys.length; i++) {
            NDArray k = keys[i];
            NDArray v = values[i];
            keys[i] = k.get(rows);
            values[i] = v.get(rows);
            k.close();
            v.close();
        }
    }

    public long length() {
        return keys[0] == null ? 0 : keys[0].getShape().get(2);
    }

    @Override
    public void close() {
        for (int i = 0; i < keys.length; i++) {
            if (keys[i] != null) {
                keys[i].close();
                values[i].close();
            }
        }
    }
}
