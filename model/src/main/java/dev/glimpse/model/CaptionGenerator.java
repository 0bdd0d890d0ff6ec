package dev.glimpse.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import java.util.ArrayList;
import java.util.List;

/**
 * Batched greedy decoding over [image tokens ; prompt tokens]. Prompts of different lengths are
 * padded between the image tokens and the prompt, the padding masked out of attention and skipped
 * by the per-row positions, so a row's caption never depends on its batch-mates. With the KV cache
 * the rows decode in one {@link DecodingBatch}, where rows that finish free their slots.
 */
public final class CaptionGenerator {
    /** How to decode. {@code keepLogits} records each step's logits (tests, parity checks). */
    public record Options(boolean useKvCache, boolean stopAtEos, boolean keepLogits) {
        public static final Options DEFAULT = new Options(true, true, false);
    }

    /**
     * One image's outcome: the generated ids (stop token excluded), if kept each step's logits, and
     * its confidence: the lowest probability any chosen token had (the stop token included; with
     * several views, the exponential of the views' mean log-probability).
     */
    public record Result(long[] tokens, List<float[]> stepLogits, double confidence) {}

    private final VisionLanguageModel model;
    private DecodingBatch.Counts lastCounts;

    public CaptionGenerator(VisionLanguageModel model) {
        this.model = model;
    }

    /**
     * @param patchEmbeddings {@code [B, N, D_vit]}, the output of the patch embedding
     * @param prompts token ids of each row's prompt text
     * @param maxNewTokens each row's cap on generated tokens
     */
    public List<Result> generate(NDArray patchEmbeddings, List<long[]> prompts, int[] maxNewTokens, Options opt) {
        return generate(patchEmbeddings, 1, prompts, maxNewTokens, opt);
    }

    /**
     * Decodes each image from {@code views} views of it at once: the rows of {@code patchEmbeddings}
     * are {@code views} consecutive rows per image, every view reads the same prompt and the same
     * generated tokens, and each step's token is the argmax of the views' mean log-probabilities
     * (the kept step logits are then those means). With one view this is plain greedy decoding.
     *
     * @param patchEmbeddings {@code [B·views, N, D_vit]}
     */
    public List<Result> generate(NDArray patchEmbeddings, int views, List<long[]> prompts, int[] maxNewTokens,
                                 Options opt) {
        int batch = prompts.size();
        if (views < 1) {
            throw new IllegalArgumentException("views must be at least 1, got " + views);
        }
        if (patchEmbeddings.getShape().get(0) != (long) batch * views || maxNewTokens.length != batch) {
            throw new IllegalArgumentException("batch sizes differ: " + patchEmbeddings.getShape() + " for "
                    + views + " view(s) each, " + prompts.size() + " prompts, " + maxNewTokens.length + " token caps");
        }
        ModelConfig cfg = model.config();
        try (NDScope ignored = new NDScope()) {
            NDManager m = patchEmbeddings.getManager();
            int img = cfg.imageTokens();
            int rows = batch * views; // row q is view q % views of image q / views
            int promptLen = prompts.stream().mapToInt(p -> p.length).max().orElse(0);
            int[] pad = new int[batch];
            long[] ids = new long[rows * promptLen];
            for (int q = 0; q < rows; q++) {
                long[] p = prompts.get(q / views);
                pad[q / views] = promptLen - p.length;
                for (int j = 0; j < promptLen; j++) {
                    ids[q * promptLen + j] = j < pad[q / views] ? cfg.lmPadTokenId : p[j - pad[q / views]];
                }
            }
            NDArray imageTokens = model.imageTokensInChunks(patchEmbeddings); // [B·V, I, D_lm]
            NDArray seq = promptLen == 0 ? imageTokens : NDArrays.concat(new NDList(imageTokens,
                    model.decoder().embed(m.create(ids, new Shape(rows, promptLen)))), 1); // [B·V, I + L, D_lm]
            return decode(seq, img, pad, views, maxNewTokens, opt);
        }
    }

    /**
     * Idefics3 (SmolVLM) decoding: each row's prompt ids hold its images' {@code <image>} tokens in
     * place, which take the image tokens of that row's tiles in order (transformers'
     * {@code inputs_merger}); rows are left-padded, the padding masked and skipped by the positions.
     *
     * @param patchEmbeddings {@code [sum(tiles), N, D_vit]}, the tiles of row 0, then of row 1, ...
     * @param tiles how many tiles each row's images have together
     */
    public List<Result> generateMerged(NDArray patchEmbeddings, int[] tiles, List<long[]> prompts, int[] maxNewTokens,
                                       Options opt) {
        try (NDScope ignored = new NDScope()) {
            return generateFromImageTokens(model.imageTokensInChunks(patchEmbeddings), tiles, prompts, maxNewTokens, opt);
        }
    }

    /**
     * {@link #generateMerged} from the tiles' image tokens {@code [sum(tiles), I, D_lm]} (the vision
     * tower and connector's output, e.g. {@link VisionLanguageModel#imageTokensOfTiles}).
     */
    public List<Result> generateFromImageTokens(NDArray imageTokens, int[] tiles, List<long[]> prompts,
                                                int[] maxNewTokens, Options opt) {
        int batch = prompts.size();
        if (tiles.length != batch || maxNewTokens.length != batch) {
            throw new IllegalArgumentException("batch sizes differ: " + tiles.length + " tile counts, " + batch
                    + " prompts, " + maxNewTokens.length + " token caps");
        }
        try (NDScope ignored = new NDScope()) {
            MergedPrompts merged = mergePrompts(imageTokens, tiles, prompts);
            return decode(merged.embeddings(), 0, merged.pad(), 1, maxNewTokens, opt);
        }
    }

    /** Left-padded prompts {@code [B, L, D_lm]} with their image tokens in place, and each row's padding. */
    public record MergedPrompts(NDArray embeddings, int[] pad) {}

    /**
     * Embeds left-padded {@code prompts} and puts the rows of {@code imageTokens} ({@code [sum(tiles), I,
     * D_lm]}, row r's {@code tiles[r]} tiles in order) at their {@code <image>} positions.
     */
    public MergedPrompts mergePrompts(NDArray imageTokens, int[] tiles, List<long[]> prompts) {
        ModelConfig cfg = model.config();
        long imageId = cfg.idefics3.imageTokenId();
        int perTile = Math.toIntExact(imageTokens.getShape().get(1));
        int batch = prompts.size();
        int len = prompts.stream().mapToInt(p -> p.length).max().orElse(0);
        int[] pad = new int[batch];
        long[] ids = new long[batch * len];
        long imageRows = batch * (long) len;
        long[] source = new long[batch * len]; // per position: its row of [token embeddings ; image tokens]
        long nextImage = 0;
        int tilesSoFar = 0;
        for (int r = 0; r < batch; r++) {
            long[] p = prompts.get(r);
            pad[r] = len - p.length;
            long images = 0;
            for (int j = 0; j < len; j++) {
                int at = r * len + j;
                ids[at] = j < pad[r] ? cfg.lmPadTokenId : p[j - pad[r]];
                boolean image = j >= pad[r] && ids[at] == imageId;
                source[at] = image ? imageRows + nextImage++ : at;
                images += image ? 1 : 0;
            }
            if (images != (long) tiles[r] * perTile) {
                throw new IllegalArgumentException("prompt " + r + " has " + images + " <image> tokens, its "
                        + tiles[r] + " tile(s) make " + (long) tiles[r] * perTile);
            }
            tilesSoFar += tiles[r];
        }
        if (tilesSoFar != imageTokens.getShape().get(0)) {
            throw new IllegalArgumentException(imageTokens.getShape().get(0) + " tiles given, the rows have " + tilesSoFar);
        }
        NDManager m = imageTokens.getManager();
        long d = imageTokens.getShape().get(2);
        NDArray text = model.decoder().embed(m.create(ids, new Shape((long) batch * len))); // [B·L, D_lm]
        NDArray pool = NDArrays.concat(new NDList(text, imageTokens.reshape(-1, d)), 0); // [B·L + sum(tiles)·I, D_lm]
        NDArray merged = pool.get(m.create(source)).reshape(batch, len, d); // [B, L, D_lm]
        return new MergedPrompts(merged, pad);
    }

    /**
     * Greedy decoding from prefill embeddings {@code seq [B·views, P, D_lm]}, in which row r's
     * padding is the {@code pad[r]} positions from {@code img} on (nanoVLM: between the image tokens
     * and the prompt; Idefics3: at the start).
     */
    private List<Result> decode(NDArray seq, int img, int[] pad, int views, int[] maxNewTokens, Options opt) {
        if (opt.useKvCache()) {
            return decodeCached(seq, img, pad, views, maxNewTokens, opt);
        }
        return decodeByRecomputation(seq, img, pad, views, maxNewTokens, opt);
    }

    /** All rows join one {@link DecodingBatch} sized for them, then decode until every row is done. */
    private List<Result> decodeCached(NDArray seq, int img, int[] pad, int views, int[] maxNewTokens, Options opt) {
        int batch = pad.length;
        int prefill = Math.toIntExact(seq.getShape().get(1));
        int cap = java.util.Arrays.stream(maxNewTokens).max().orElse(0);
        List<Integer> tags = new ArrayList<>(batch);
        for (int r = 0; r < batch; r++) {
            tags.add(r);
        }
        Result[] results = new Result[batch];
        try (DecodingBatch<Integer> decoding = new DecodingBatch<>(model, batch * views, prefill + Math.max(cap, 1),
                opt)) {
            decoding.joinPrefilled(tags, seq, img, pad, views, maxNewTokens);
            while (!decoding.isEmpty()) {
                for (DecodingBatch.Done<Integer> d : decoding.step()) {
                    results[d.tag()] = d.result();
                }
            }
            lastCounts = decoding.counts();
        }
        return java.util.Arrays.asList(results);
    }

    /** Arrays created and host transfers of the last cached decoding (bench). */
    public DecodingBatch.Counts lastCounts() {
        return lastCounts;
    }

    /**
     * The reference the cache is checked against: every step runs the decoder over the whole
     * sequence again. Each step's temporaries are freed at the step; only the growing sequence is kept.
     */
    private List<Result> decodeByRecomputation(NDArray seq, int img, int[] pad, int views, int[] maxNewTokens,
                                               Options opt) {
        ModelConfig cfg = model.config();
        TextDecoder decoder = model.decoder();
        int batch = pad.length;
        List<List<Long>> generated = new ArrayList<>();
        List<List<float[]>> logitsKept = new ArrayList<>();
        double[] confidence = new double[batch];
        java.util.Arrays.fill(confidence, 1.0);
        for (int r = 0; r < batch; r++) {
            generated.add(new ArrayList<>());
            logitsKept.add(new ArrayList<>());
        }
        List<Integer> active = new ArrayList<>();
        for (int r = 0; r < batch; r++) {
            if (maxNewTokens[r] > 0) {
                active.add(r);
            }
        }
        try (NDScope ignored = new NDScope()) {
            NDManager m = seq.getManager();
            seq = seq.get(rowsOf(m, active, views)); // [b·V, P, D_lm], the rows still generating
            int vocab = cfg.lmVocabSize;
            while (!active.isEmpty()) {
                List<Integer> keep = new ArrayList<>();
                try (NDScope step = new NDScope()) {
                    int b = active.size() * views;
                    int total = Math.toIntExact(seq.getShape().get(1));
                    long[][] pos = new long[b][total];
                    float[] full = new float[b * total * total];
                    for (int q = 0; q < b; q++) {
                        int r = active.get(q / views);
                        for (int j = 0; j < total; j++) {
                            pos[q][j] = j < img ? j : j < img + pad[r] ? 0 : j - pad[r];
                        }
                        for (int i = 0; i < total; i++) {
                            for (int j = 0; j < total; j++) {
                                if (j > i || (j >= img && j < img + pad[r])) {
                                    full[(q * total + i) * total + j] = TextDecoder.MASKED;
                                }
                            }
                        }
                    }
                    NDArray hidden = decoder.forward(seq, pos, m.create(full, new Shape(b, 1, total, total)), null);
                    NDArray logits = decoder.logits(hidden.get(new NDIndex(":, -1, :"))); // [b·V, V]
                    NDArray scores = views == 1 ? logits
                            : logits.logSoftmax(-1).reshape(active.size(), views, vocab).mean(new int[] {1});
                    long[] next = scores.argMax(-1).toLongArray();
                    // The chosen token's log-probability is the largest one of its row.
                    float[] chosen = (views == 1 ? scores.logSoftmax(-1) : scores).max(new int[] {-1}).toFloatArray();
                    float[] stepLogits = opt.keepLogits() ? scores.toFloatArray() : null;
                    for (int i = 0; i < active.size(); i++) {
                        int r = active.get(i);
                        confidence[r] = Math.min(confidence[r], Math.exp(chosen[i]));
                        if (stepLogits != null) {
                            logitsKept.get(r).add(java.util.Arrays.copyOfRange(stepLogits, i * vocab, (i + 1) * vocab));
                        }
                        boolean stop = opt.stopAtEos() && next[i] == cfg.lmEosTokenId;
                        if (!stop) {
                            generated.get(r).add(next[i]);
                        }
                        if (!stop && generated.get(r).size() < maxNewTokens[r]) {
                            keep.add(i);
                        }
                    }
                    if (!keep.isEmpty()) {
                        long[] nextIds = new long[keep.size() * views];
                        for (int i = 0; i < keep.size(); i++) {
                            for (int v = 0; v < views; v++) {
                                nextIds[i * views + v] = next[keep.get(i)];
                            }
                        }
                        NDArray shorter = seq;
                        seq = NDArrays.concat(new NDList(seq.get(rowsOf(m, keep, views)),
                                decoder.embed(m.create(nextIds, new Shape(keep.size() * views, 1)))), 1);
                        NDScope.unregister(seq);
                        shorter.close();
                    }
                }
                List<Integer> still = new ArrayList<>();
                for (int i : keep) {
                    still.add(active.get(i));
                }
                active = still;
            }
        }
        List<Result> results = new ArrayList<>(batch);
        for (int r = 0; r < batch; r++) {
            long[] tokens = generated.get(r).stream().mapToLong(Long::longValue).toArray();
            results.add(new Result(tokens, opt.keepLogits() ? logitsKept.get(r) : List.of(), confidence[r]));
        }
        return results;
    }

    /** The array rows of the images at {@code positions} of the current batch, {@code views} rows each. */
    private static NDArray rowsOf(NDManager m, List<Integer> positions, int views) {
        long[] rows = new long[positions.size() * views];
        for (int i = 0; i < positions.size(); i++) {
            for (int v = 0; v < views; v++) {
                rows[i * views + v] = (long) positions.get(i) * views + v;
            }
        }
        return m.create(rows);
    }
}
