package dev.glimpse.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Greedy Qwen2-VL decoding of rows that join and leave one running batch (continuous batching).
 * {@link #join} runs the vision tower and the prefill of new rows, whose images and prompts may all
 * differ in size: each row is left-padded to the longest and its pad keys masked, its M-RoPE
 * positions its own. Their keys are then appended to the running cache, the shorter side left-padded
 * with masked columns. {@link #step} picks every row's next token and runs one decoder forward; a row
 * that stops (a stop token or its cap) leaves the cache at once, and columns no row reads any more
 * are dropped. A row's caption therefore never depends on its batch-mates or on when it joined.
 *
 * @param <T> what the caller attaches to a row, returned with its result
 */
public final class Qwen2VlDecodingBatch<T> implements AutoCloseable {
    /** A row's outcome with the caller's tag. */
    public record Done<T>(T tag, Qwen2VlModel.Result result) {}

    private static final class Row<T> {
        final T tag;
        final int cap;
        final List<Long> tokens = new ArrayList<>();
        final List<float[]> logits = new ArrayList<>();
        double confidence = 1.0;
        /** The M-RoPE position of the row's next token (all three streams). */
        long nextPosition;
        /** Leading cache columns the row must not attend to (its padding). */
        long masked;

        Row(T tag, int cap) {
            this.tag = tag;
            this.cap = cap;
        }
    }

    private final Qwen2VlModel model;
    private final Qwen2VlConfig cfg;
    private final boolean keepLogits;
    private final boolean stopAtStopTokens;
    private final NDManager manager;
    /** Rows in cache order. */
    private final List<Row<T>> rows = new ArrayList<>();
    private final List<Done<T>> finishedAtJoin = new ArrayList<>();
    private Qwen2VlDecoder.Cache cache;
    /** {@code [rows, V]}: each row's latest logits, from which {@link #step} picks. */
    private NDArray logits;

    public Qwen2VlDecodingBatch(Qwen2VlModel model, boolean keepLogits) {
        this(model, keepLogits, true);
    }

    /** {@code stopAtStopTokens} false: every row decodes to its cap (benchmarks). */
    public Qwen2VlDecodingBatch(Qwen2VlModel model, boolean keepLogits, boolean stopAtStopTokens) {
        this.model = model;
        this.cfg = model.config();
        this.keepLogits = keepLogits;
        this.stopAtStopTokens = stopAtStopTokens;
        this.manager = model.manager().newSubManager();
    }

    /** Rows decoding now. */
    public int size() {
        return rows.size();
    }

    /** True when nothing decodes and no result waits for {@link #step}. */
    public boolean isEmpty() {
        return rows.isEmpty() && finishedAtJoin.isEmpty();
    }

    /** Cache columns per row now (the longest row's positions, padding included). */
    public long columns() {
        return cache == null ? 0 : cache.length();
    }

    /** Adds rows and runs their vision tower and prefill now; their first token is picked by the next {@link #step}. */
    public void join(List<T> tags, List<Qwen2VlModel.Prepared> prepared, int[] caps) {
        if (tags.size() != prepared.size() || caps.length != tags.size()) {
            throw new IllegalArgumentException(tags.size() + " tags, " + prepared.size() + " rows, " + caps.length + " caps");
        }
        List<Qwen2VlModel.Prepared> joining = new ArrayList<>();
        List<Row<T>> joined = new ArrayList<>();
        for (int i = 0; i < tags.size(); i++) {
            if (caps[i] <= 0) {
                finishedAtJoin.add(new Done<>(tags.get(i), new Qwen2VlModel.Result(new long[0], 1.0, List.of())));
            } else {
                joining.add(prepared.get(i));
                joined.add(new Row<>(tags.get(i), caps[i]));
            }
        }
        if (joining.isEmpty()) {
            return;
        }
        int b = joining.size();
        int longest = joining.stream().mapToInt(r -> r.ids().length).max().orElse(0);
        List<MRopePositions> own = new ArrayList<>();
        for (int r = 0; r < b; r++) {
            Qwen2VlModel.Prepared p = joining.get(r);
            MRopePositions positions = MRopePositions.of(p.ids(), p.grids(), cfg.imageTokenId(), cfg.mergeSize());
            own.add(positions);
            joined.get(r).nextPosition = positions.next();
            joined.get(r).masked = longest - p.ids().length;
        }
        Qwen2VlDecoder.Cache fresh = new Qwen2VlDecoder.Cache(cfg.layers(), manager);
        NDArray freshLogits;
        try (NDScope prefill = new NDScope()) {
            NDArray embeds = model.inputsEmbeds(manager, joining, model.imageTokens(manager, joining)); // [b, L, D]
            float[] mask = new float[b * longest * longest];
            for (int r = 0; r < b; r++) {
                long pad = joined.get(r).masked;
                for (int q = 0; q < longest; q++) {
                    for (int k = 0; k < longest; k++) {
                        if (k > q || k < pad) {
                            mask[(r * longest + q) * longest + k] = TextDecoder.MASKED;
                        }
                    }
                }
            }
            Qwen2VlDecoder decoder = model.decoder();
            NDArray hidden = decoder.forward(embeds, decoder.rotary(manager, model.positions(joining, own)),
                    manager.create(mask, new Shape(b, 1, longest, longest)), fresh, null); // [b, L, D]
            freshLogits = decoder.logits(hidden.get(new NDIndex(":, -1, :"))); // [b, V]
            NDScope.unregister(freshLogits);
        }
        if (cache == null) {
            cache = fresh;
            logits = freshLogits;
        } else {
            long[] padded = cache.appendRows(fresh);
            rows.forEach(r -> r.masked += padded[0]);
            joined.forEach(r -> r.masked += padded[1]);
            NDArray both = NDArrays.concat(new NDList(logits, freshLogits), 0);
            logits.close();
            freshLogits.close();
            logits = both;
        }
        rows.addAll(joined);
    }

    /**
     * Picks every row's next token, retires the rows that finished, and runs one decoder forward for
     * the others. Returns the rows finished since the last call (those finished at {@link #join} first).
     */
    public List<Done<T>> step() {
        List<Done<T>> done = new ArrayList<>(finishedAtJoin);
        finishedAtJoin.clear();
        if (rows.isEmpty()) {
            return done;
        }
        long[] chosen = logits.argMax(-1).toLongArray();
        float[] best;
        try (NDScope pick = new NDScope()) {
            best = logits.logSoftmax(-1).max(new int[] {-1}).toFloatArray(); // log-probability of each pick
        }
        float[] all = keepLogits ? logits.toFloatArray() : null;
        List<Integer> still = new ArrayList<>();
        for (int i = 0; i < rows.size(); i++) {
            Row<T> r = rows.get(i);
            if (all != null) {
                r.logits.add(Arrays.copyOfRange(all, i * cfg.vocabSize(), (i + 1) * cfg.vocabSize()));
            }
            r.confidence = Math.min(r.confidence, Math.exp(best[i]));
            boolean stop = stopAtStopTokens && isStop(chosen[i]);
            if (!stop) {
                r.tokens.add(chosen[i]);
            }
            if (stop || r.tokens.size() >= r.cap) {
                done.add(new Done<>(r.tag, new Qwen2VlModel.Result(r.tokens.stream().mapToLong(Long::longValue).toArray(),
                        r.confidence, r.logits)));
            } else {
                still.add(i);
            }
        }
        logits.close();
        logits = null;
        if (still.isEmpty()) {
            rows.clear();
            cache.close();
            cache = null;
            return done;
        }
        List<Row<T>> kept = new ArrayList<>();
        still.forEach(i -> kept.add(rows.get(i)));
        try (NDScope step = new NDScope()) {
            if (kept.size() < rows.size()) {
                cache.keepRows(manager.create(still.stream().mapToLong(Integer::longValue).toArray()));
            }
            long unread = kept.stream().mapToLong(r -> r.masked).min().orElse(0);
            cache.dropLeadingColumns(unread);
            kept.forEach(r -> r.masked -= unread);
            int n = kept.size();
            long width = cache.length() + 1;
            long[] ids = new long[n];
            long[][][] positions = new long[n][3][1];
            float[] mask = new float[Math.toIntExact(n * width)];
            for (int j = 0; j < n; j++) {
                Row<T> r = kept.get(j);
                ids[j] = chosen[still.get(j)];
                for (int s = 0; s < 3; s++) {
                    positions[j][s] = new long[] {r.nextPosition};
                }
                r.nextPosition++;
                Arrays.fill(mask, Math.toIntExact(j * width), Math.toIntExact(j * width + r.masked), TextDecoder.MASKED);
            }
            Qwen2VlDecoder decoder = model.decoder();
            NDArray hidden = decoder.forward(decoder.embed(manager.create(ids, new Shape(n, 1))),
                    decoder.rotary(manager, positions), manager.create(mask, new Shape(n, 1, 1, width)), cache, null);
            logits = decoder.logits(hidden.squeeze(1)); // [n, V]
            NDScope.unregister(logits);
        }
        rows.clear();
        rows.addAll(kept);
        return done;
    }

    private boolean isStop(long token) {
        for (long s : cfg.stopTokenIds()) {
            if (s == token) {
                return true;
            }
        }
        return false;
    }

    @Override
    public void close() {
        manager.close();
    }
}
