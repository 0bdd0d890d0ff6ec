package dev.glimpse.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Greedy decoding of images that join and leave one running batch (continuous batching). Each
 * image holds one row slot per view in a {@link KvCache} allocated once; {@link #join} runs the
 * prefill of new images ([image tokens ; left-padded prompt]) and writes their keys into free
 * slots, and {@link #step} picks every image's next token and runs one decoder forward over the
 * slots in use. An image that finishes (stop token or its own {@code max_new_tokens}) frees its
 * slots at once, so the next {@link #join} can fill them while the others keep decoding.
 *
 * <p>A row attends only to its own slot's filled columns (the rest masked), its positions are its
 * own, and its views' scores are averaged only with each other: a caption never depends on its
 * batch-mates or on when it joined. Each step's temporaries live in a child manager closed at the
 * end of the step; the persistent state (cache, masks, positions, logits) is written in place.
 * Per step the host sends nothing to the device unless the batch changed, and reads back one small
 * array (each image's token and its log-probability).
 *
 * @param <T> what the caller attaches to an image, returned with its result
 */
public final class DecodingBatch<T> implements AutoCloseable {
    /** The most bytes of attention scores one prefill forward makes per block; larger joins run in groups of images. */
    static final long PREFILL_SCORE_BYTES = 128L << 20;

    /** An image's outcome with the caller's tag. */
    public record Done<T>(T tag, CaptionGenerator.Result result) {}

    /** Decode steps, tokens and host transfers (arrays sent to or read from the device), summed over every call. */
    public record Counts(long steps, long tokens, long hostTransfers) {}

    private final VisionLanguageModel model;
    private final ModelConfig cfg;
    private final CaptionGenerator.Options opt;
    private final NDManager manager;
    private final int rowCapacity;
    private final int columnCapacity;
    private final long prefillScoreBytes;
    private final KvCache cache;
    /** {@code [R, 1, 1, T]}: 0 where a row may attend, {@link TextDecoder#MASKED} elsewhere. */
    private final NDArray keyMask;
    /** {@code [R]} int64: the column where each row's next token goes. */
    private final NDArray columnOfRow;
    /** {@code [R]} float32: the rotary position of each row's next token. */
    private final NDArray positionOfRow;
    /** {@code [R]}: 1 for rows of a decoding image, 0 for free slots (in int64 and float32). */
    private final NDArray activeLong;
    private final NDArray activeFloat;
    /** {@code [R, V]}: each row's latest logits. */
    private final NDArray logits;

    private final Sequence<T>[] slotOwner;
    private final List<Sequence<T>> decoding = new ArrayList<>();
    private final List<Done<T>> finishedAtJoin = new ArrayList<>();
    /** Device arrays that describe the batch's layout, rebuilt only when an image joins or leaves. */
    private Layout layout;
    private boolean layoutStale;
    private long steps;
    private long tokens;
    private long hostTransfers;

    private static final class Sequence<T> {
        final T tag;
        final int[] slots;
        final int cap;
        final List<Long> tokens = new ArrayList<>();
        final List<float[]> stepLogits = new ArrayList<>();
        double confidence = 1.0;
        /** The column of the next token and its rotary position, mirrored from the device. */
        int column;
        long position;

        Sequence(T tag, int[] slots, int cap) {
            this.tag = tag;
            this.slots = slots;
            this.cap = cap;
        }
    }

    /** The device-side description of which rows belong to which decoding image. */
    private static final class Layout implements AutoCloseable {
        final NDManager manager;
        final int usedRows;
        /** {@code [usedRows]}: 0 .. usedRows - 1. */
        final NDArray rows;
        /** {@code [usedRows]}: the index in {@code decoding} of each row's image (free slots: 0). */
        final NDArray imageOfRow;
        /** Single-view batches: {@code [images]}, each image's slot; else null. */
        final NDArray slotOfImage;
        /** Multi-view batches: {@code [images, usedRows]} averaging each image's views; else null. */
        final NDArray viewMean;

        Layout(NDManager manager, int usedRows, NDArray rows, NDArray imageOfRow, NDArray slotOfImage,
               NDArray viewMean) {
            this.manager = manager;
            this.usedRows = usedRows;
            this.rows = rows;
            this.imageOfRow = imageOfRow;
            this.slotOfImage = slotOfImage;
            this.viewMean = viewMean;
        }

        NDArray[] arrays() {
            return slotOfImage != null ? new NDArray[] {rows, imageOfRow, slotOfImage}
                    : new NDArray[] {rows, imageOfRow, viewMean};
        }

        @Override
        public void close() {
            manager.close();
        }
    }

    /**
     * @param rowCapacity row slots (images times their views) the batch can hold at once
     * @param columnCapacity positions per slot: image tokens + the longest prompt + the largest cap
     */
    public DecodingBatch(VisionLanguageModel model, int rowCapacity, int columnCapacity, CaptionGenerator.Options opt) {
        this(model, rowCapacity, columnCapacity, opt, PREFILL_SCORE_BYTES);
    }

    /** As the public constructor, with a prefill forward's score bytes per block bounded by {@code prefillScoreBytes}. */
    @SuppressWarnings("unchecked")
    DecodingBatch(VisionLanguageModel model, int rowCapacity, int columnCapacity, CaptionGenerator.Options opt,
                  long prefillScoreBytes) {
        if (rowCapacity < 1 || columnCapacity < 1) {
            throw new IllegalArgumentException("a decoding batch needs at least one row and one column, got "
                    + rowCapacity + " x " + columnCapacity);
        }
        this.model = model;
        this.cfg = model.config();
        this.opt = opt;
        this.rowCapacity = rowCapacity;
        this.columnCapacity = columnCapacity;
        this.prefillScoreBytes = prefillScoreBytes;
        this.manager = model.manager().newSubManager();
        this.cache = new KvCache(manager, cfg, rowCapacity, columnCapacity);
        this.keyMask = manager.full(new Shape(rowCapacity, 1, 1, columnCapacity), TextDecoder.MASKED);
        this.columnOfRow = manager.zeros(new Shape(rowCapacity), DataType.INT64);
        this.positionOfRow = manager.zeros(new Shape(rowCapacity), DataType.FLOAT32);
        this.activeLong = manager.zeros(new Shape(rowCapacity), DataType.INT64);
        this.activeFloat = manager.zeros(new Shape(rowCapacity), DataType.FLOAT32);
        this.logits = manager.zeros(new Shape(rowCapacity, cfg.lmVocabSize));
        this.slotOwner = new Sequence[rowCapacity];
    }

    /** Positions one slot needs for a prompt of {@code promptLength} tokens and a cap of {@code maxNewTokens}. */
    public static int columnsFor(ModelConfig cfg, int promptLength, int maxNewTokens) {
        return cfg.imageTokens() + promptLength + maxNewTokens;
    }

    /** Free row slots. */
    public int freeRows() {
        int free = 0;
        for (Sequence<T> s : slotOwner) {
            if (s == null) {
                free++;
            }
        }
        return free;
    }

    /** Images decoding now (joined and not yet finished). */
    public int decodingImages() {
        return decoding.size();
    }

    /** True when nothing is decoding and no result is waiting to be returned by {@link #step}. */
    public boolean isEmpty() {
        return decoding.isEmpty() && finishedAtJoin.isEmpty();
    }

    public long cacheBytes() {
        return cache.bytes();
    }

    public Counts counts() {
        return new Counts(steps, tokens, hostTransfers);
    }

    /** Whether images with these prompts and caps, {@code views} rows each, fit into the free slots now. */
    public boolean fits(int images, int views, int longestPrompt, int largestCap) {
        return images * views <= freeRows() && columnsFor(cfg, longestPrompt, largestCap) <= columnCapacity;
    }

    public int rowCapacity() {
        return rowCapacity;
    }

    /**
     * Adds images to the batch and runs their prefill ([image tokens ; left-padded prompt]) now;
     * their first token is picked by the next {@link #step}. Images with a cap of 0 finish at once.
     *
     * @param patchEmbeddings {@code [n·views, N, D_vit]}, {@code views} consecutive rows per image;
     *     read during this call only
     */
    public void join(List<T> tags, NDArray patchEmbeddings, int views, List<long[]> prompts, int[] maxNewTokens) {
        check(tags, patchEmbeddings, views, maxNewTokens);
        if (prompts.size() != tags.size()) {
            throw new IllegalArgumentException(tags.size() + " tags, " + prompts.size() + " prompts");
        }
        List<Integer> joining = joining(tags, maxNewTokens);
        if (joining.isEmpty()) {
            return;
        }
        int promptLen = joining.stream().mapToInt(i -> prompts.get(i).length).max().orElse(0);
        int rows = joining.size() * views;
        long[] ids = new long[rows * promptLen];
        int[] pad = new int[joining.size()];
        for (int j = 0; j < joining.size(); j++) {
            long[] p = prompts.get(joining.get(j));
            pad[j] = promptLen - p.length;
            for (int v = 0; v < views; v++) {
                for (int t = 0; t < promptLen; t++) {
                    ids[(j * views + v) * promptLen + t] = t < pad[j] ? cfg.lmPadTokenId : p[t - pad[j]];
                }
            }
        }
        try (NDManager step = manager.newSubManager()) {
            // Borrowed for the step, so that what is computed from them is the step's and freed with it.
            step.tempAttachAll(patchEmbeddings);
            NDArray patches = rowsOfImages(step, patchEmbeddings, joining, views, tags.size());
            NDArray seq = model.imageTokensInChunks(patches); // [r, I, D_lm]
            if (promptLen > 0) {
                seq = NDArrays.concat(new NDList(seq,
                        model.decoder().embed(upload(step, ids).reshape(rows, promptLen))), 1); // [r, I + L, D_lm]
            }
            prefill(step, joining, tags, seq, cfg.imageTokens(), pad, views, maxNewTokens);
        }
    }

    /**
     * As {@link #join} from prefill embeddings already made ({@code [n·views, P, D_lm]}), in which
     * image i's padding is the {@code pad[i]} positions from {@code img} on.
     */
    public void joinPrefilled(List<T> tags, NDArray seq, int img, int[] pad, int views, int[] maxNewTokens) {
        check(tags, seq, views, maxNewTokens);
        List<Integer> joining = joining(tags, maxNewTokens);
        if (joining.isEmpty()) {
            return;
        }
        int[] joiningPad = joining.stream().mapToInt(i -> pad[i]).toArray();
        try (NDManager step = manager.newSubManager()) {
            step.tempAttachAll(seq);
            prefill(step, joining, tags, rowsOfImages(step, seq, joining, views, tags.size()), img, joiningPad, views,
                    maxNewTokens);
        }
    }

    private static void check(List<?> tags, NDArray rows, int views, int[] maxNewTokens) {
        if (views < 1) {
            throw new IllegalArgumentException("views must be at least 1, got " + views);
        }
        if (rows.getShape().get(0) != (long) tags.size() * views || maxNewTokens.length != tags.size()) {
            throw new IllegalArgumentException("batch sizes differ: " + rows.getShape() + " for " + views
                    + " view(s) each, " + tags.size() + " tags, " + maxNewTokens.length + " token caps");
        }
    }

    /** The images that will decode; those with a cap of 0 are done at once. */
    private List<Integer> joining(List<T> tags, int[] maxNewTokens) {
        List<Integer> joining = new ArrayList<>();
        for (int i = 0; i < tags.size(); i++) {
            if (maxNewTokens[i] <= 0) {
                finishedAtJoin.add(new Done<>(tags.get(i), new CaptionGenerator.Result(new long[0], List.of(), 1.0)));
            } else {
                joining.add(i);
            }
        }
        return joining;
    }

    /** The rows of {@code images} in {@code all} ({@code views} rows per image, {@code count} images). */
    private NDArray rowsOfImages(NDManager step, NDArray all, List<Integer> images, int views, int count) {
        if (images.size() == count) {
            return all;
        }
        long[] rows = new long[images.size() * views];
        for (int j = 0; j < images.size(); j++) {
            for (int v = 0; v < views; v++) {
                rows[j * views + v] = (long) images.get(j) * views + v;
            }
        }
        return all.get(upload(step, rows));
    }

    /**
     * Runs the prefill {@code seq [r, P, D_lm]} of the images {@code joining} (indices into
     * {@code tags} and {@code maxNewTokens}; {@code pad} is theirs) and gives them free slots.
     */
    private void prefill(NDManager step, List<Integer> joining, List<T> tags, NDArray seq, int img, int[] pad,
                         int views, int[] maxNewTokens) {
        int prefill = Math.toIntExact(seq.getShape().get(1));
        int rows = joining.size() * views;
        int largestCap = joining.stream().mapToInt(i -> maxNewTokens[i]).max().orElse(0);
        if (rows > freeRows() || prefill + largestCap > columnCapacity) {
            throw new IllegalStateException(joining.size() + " image(s) of " + views + " view(s), a prefill of "
                    + prefill + " and caps up to " + largestCap + " do not fit: " + freeRows() + " free rows of "
                    + rowCapacity + ", " + columnCapacity + " columns");
        }
        long[] slots = new long[rows];
        float[] slotMask = new float[rows * columnCapacity];
        long[] columns = new long[rows];
        float[] firstPositions = new float[rows];
        List<Sequence<T>> joined = new ArrayList<>();
        int nextSlot = 0;
        for (int j = 0; j < joining.size(); j++) {
            int i = joining.get(j);
            int[] own = new int[views];
            for (int v = 0; v < views; v++) {
                while (slotOwner[nextSlot] != null) {
                    nextSlot++;
                }
                own[v] = nextSlot++;
            }
            Sequence<T> s = new Sequence<>(tags.get(i), own, maxNewTokens[i]);
            s.column = prefill;
            s.position = prefill - pad[j];
            for (int v = 0; v < views; v++) {
                int q = j * views + v; // this row's place in the prefill
                slotOwner[own[v]] = s;
                slots[q] = own[v];
                columns[q] = s.column;
                firstPositions[q] = s.position;
                for (int key = 0; key < columnCapacity; key++) {
                    boolean filled = key < prefill && !(key >= img && key < img + pad[j]);
                    slotMask[q * columnCapacity + key] = filled ? 0 : TextDecoder.MASKED;
                }
            }
            joined.add(s);
        }
        step.tempAttachAll(logits, keyMask, columnOfRow, positionOfRow, activeLong, activeFloat);
        // The prefill runs over a few images at a time: its attention scores are rows x heads x P x P
        // floats per block (880 MB for 32 SmolVLM rows of 874 tokens), a group's at most prefillScoreBytes.
        long scoreBytesPerImage = (long) views * cfg.lmNHeads * prefill * prefill * Float.BYTES;
        int groupImages = (int) Math.max(1, Math.min(joining.size(), prefillScoreBytes / scoreBytesPerImage));
        for (int from = 0; from < joining.size(); from += groupImages) {
            int to = Math.min(joining.size(), from + groupImages);
            try (NDScope group = new NDScope()) {
                prefillGroup(step, seq, img, pad, views, from, to, Arrays.copyOfRange(slots, from * views, to * views));
            }
        }
        NDArray slotIndex = upload(step, slots);
        keyMask.set(new NDIndex("{}", slotIndex), upload(step, slotMask).reshape(rows, 1, 1, columnCapacity));
        columnOfRow.set(new NDIndex("{}", slotIndex), upload(step, columns));
        positionOfRow.set(new NDIndex("{}", slotIndex), upload(step, firstPositions));
        activeLong.set(new NDIndex("{}", slotIndex), 1L);
        activeFloat.set(new NDIndex("{}", slotIndex), 1f);
        decoding.addAll(joined);
        closeLayout();
    }

    /**
     * The prefill forward of the joining images {@code [from, to)} ({@code seq}'s rows {@code
     * [from·views, to·views)}) into their {@code slots}: keys and values into the cache, the last
     * position's logits into {@link #logits}.
     */
    private void prefillGroup(NDManager step, NDArray seq, int img, int[] pad, int views, int from, int to,
                              long[] slots) {
        int prefill = Math.toIntExact(seq.getShape().get(1));
        int rows = (to - from) * views;
        float[] positions = new float[rows * prefill];
        float[] causal = new float[rows * prefill * prefill];
        for (int q = 0; q < rows; q++) {
            int p = pad[from + q / views];
            for (int t = 0; t < prefill; t++) {
                boolean padding = t >= img && t < img + p;
                positions[q * prefill + t] = t < img ? t : padding ? 0 : t - p;
                for (int key = 0; key < prefill; key++) {
                    boolean padKey = key >= img && key < img + p;
                    if (key > t || padKey) {
                        causal[(q * prefill + t) * prefill + key] = TextDecoder.MASKED;
                    }
                }
            }
        }
        TextDecoder decoder = model.decoder();
        NDArray slotIndex = upload(step, slots);
        NDArray groupSeq = rows == seq.getShape().get(0) ? seq
                : seq.get(new NDIndex("{}:{}", (long) from * views, (long) to * views)); // [rows, P, D_lm]
        NDArray[] cosSin = decoder.rotary(upload(step, positions).reshape(rows, prefill), prefill - 1);
        cache.prefill(slotIndex, prefill);
        NDArray hidden = decoder.forward(groupSeq, cosSin, upload(step, causal).reshape(rows, 1, prefill, prefill),
                cache); // [rows, P, D_lm]
        logits.set(new NDIndex("{}", slotIndex), decoder.logits(hidden.get(new NDIndex(":, -1, :")))); // [rows, V]
    }

    /**
     * Picks every decoding image's next token, retires the images that finished, and runs one
     * decoder forward for the others. Returns the images that finished since the last call (in
     * the order they joined, those finished at {@link #join} first).
     */
    public List<Done<T>> step() {
        List<Done<T>> done = new ArrayList<>(finishedAtJoin);
        finishedAtJoin.clear();
        if (decoding.isEmpty()) {
            return done;
        }
        Layout l = layout();
        int vocab = cfg.lmVocabSize;
        int images = decoding.size();
        float[] chosen;
        float[] kept = null;
        try (NDManager step = manager.newSubManager()) {
            step.tempAttachAll(logits, keyMask, columnOfRow, positionOfRow, activeLong, activeFloat);
            step.tempAttachAll(l.arrays());
            // [images, V] scores: single view: the logits; several: the views' mean log-probabilities.
            // The next token of each row stays on the device: its image's choice (free slots read image 0's).
            NDArray[] choice = DecoderKernel.choose(logits, l.usedRows, l.slotOfImage != null,
                    l.slotOfImage != null ? l.slotOfImage : l.viewMean, l.imageOfRow); // on step, as logits is now
            chosen = download(choice[0]);
            if (opt.keepLogits()) {
                kept = download(choice[2]);
            }
            NDArray nextOfRow = choice[1];
            List<Sequence<T>> finished = new ArrayList<>();
            int width = 0;
            for (int i = 0; i < images; i++) {
                Sequence<T> s = decoding.get(i);
                long next = (long) chosen[i];
                s.confidence = Math.min(s.confidence, Math.exp(chosen[images + i]));
                if (kept != null) {
                    s.stepLogits.add(Arrays.copyOfRange(kept, i * vocab, (i + 1) * vocab));
                }
                boolean stop = opt.stopAtEos() && next == cfg.lmEosTokenId;
                if (!stop) {
                    s.tokens.add(next);
                    tokens++;
                }
                if (stop || s.tokens.size() >= s.cap) {
                    finished.add(s);
                } else {
                    width = Math.max(width, s.column + 1);
                }
            }
            if (!finished.isEmpty()) {
                retire(finished, step);
                for (Sequence<T> s : finished) {
                    done.add(new Done<>(s.tag, new CaptionGenerator.Result(
                            s.tokens.stream().mapToLong(Long::longValue).toArray(), s.stepLogits, s.confidence)));
                }
            }
            if (!decoding.isEmpty()) {
                decodeStep(step, l, nextOfRow, width);
            }
            }
        steps++;
        if (layoutStale) {
            closeLayout();
        }
        return done;
    }

    /** One decoder forward of the rows {@code [0, usedRows)} of {@code l}, each at its own column. */
    private void decodeStep(NDManager step, Layout l, NDArray nextOfRow, int width) {
        TextDecoder decoder = model.decoder();
        int used = l.usedRows;
        NDArray columns = columnOfRow.get(new NDIndex(":{}", used)); // [used]
        // The new token sees itself: unmask its column before the forward.
        keyMask.set(new NDIndex("{}, 0, 0, {}", l.rows, columns), 0f);
        NDArray mask = keyMask.get(new NDIndex(":{}, :, :, :{}", used, width)); // [used, 1, 1, width]
        NDArray positions = positionOfRow.get(new NDIndex(":{}", used)).reshape(used, 1); // [used, 1]
        long maxPosition = 0;
        for (Sequence<T> s : decoding) {
            maxPosition = Math.max(maxPosition, s.position);
        }
        cache.decode(l.rows, columns, used, width);
        logits.set(new NDIndex(":{}", used), decoder.decodeLogits(nextOfRow, positions, maxPosition, mask, cache));
        columnOfRow.addi(activeLong);
        positionOfRow.addi(activeFloat);
        for (Sequence<T> s : decoding) {
            s.column++;
            s.position++;
        }
    }

    /** Frees the slots of {@code finished} and drops them from the decoding images. */
    private void retire(List<Sequence<T>> finished, NDManager step) {
        List<Long> freed = new ArrayList<>();
        for (Sequence<T> s : finished) {
            for (int slot : s.slots) {
                slotOwner[slot] = null;
                freed.add((long) slot);
            }
        }
        decoding.removeAll(finished);
        NDArray freedIndex = upload(step, freed.stream().mapToLong(Long::longValue).toArray());
        activeLong.set(new NDIndex("{}", freedIndex), 0L);
        activeFloat.set(new NDIndex("{}", freedIndex), 0f);
        // Its arrays are lent to the running step: closed once the step has given them back.
        layoutStale = true;
    }

    private Layout layout() {
        if (layout != null) {
            return layout;
        }
        int used = 0;
        boolean singleView = true;
        for (Sequence<T> s : decoding) {
            singleView &= s.slots.length == 1;
            for (int slot : s.slots) {
                used = Math.max(used, slot + 1);
            }
        }
        NDManager m = manager.newSubManager();
        long[] imageOfRow = new long[used];
        long[] slotOfImage = new long[decoding.size()];
        float[] mean = singleView ? null : new float[decoding.size() * used];
        for (int i = 0; i < decoding.size(); i++) {
            Sequence<T> s = decoding.get(i);
            slotOfImage[i] = s.slots[0];
            for (int slot : s.slots) {
                imageOfRow[slot] = i;
                if (mean != null) {
                    mean[i * used + slot] = 1f / s.slots.length;
                }
            }
        }
        layout = new Layout(m, used, m.arange(0, used, 1, DataType.INT64), upload(m, imageOfRow),
                singleView ? upload(m, slotOfImage) : null,
                singleView ? null : upload(m, mean).reshape(decoding.size(), used));
        return layout;
    }

    private void closeLayout() {
        layoutStale = false;
        if (layout != null) {
            layout.close();
            layout = null;
        }
    }

    private NDArray upload(NDManager m, long[] values) {
        hostTransfers++;
        return m.create(values);
    }

    private NDArray upload(NDManager m, float[] values) {
        hostTransfers++;
        return m.create(values);
    }

    private float[] download(NDArray a) {
        hostTransfers++;
        return a.toFloatArray();
    }

    @Override
    public void close() {
        closeLayout();
        manager.close();
    }
}
