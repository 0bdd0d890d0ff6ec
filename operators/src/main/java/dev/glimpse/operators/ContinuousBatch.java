package dev.glimpse.operators;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.Shape;
import dev.glimpse.model.CaptionGenerator;
import dev.glimpse.model.CaptionTokenizer;
import dev.glimpse.model.Captioner;
import dev.glimpse.model.DecodingBatch;
import dev.glimpse.model.Idefics3Prompt;
import dev.glimpse.model.ModelConfig;
import dev.glimpse.model.Qwen2VlDecodingBatch;
import dev.glimpse.model.Qwen2VlModel;
import dev.glimpse.model.ViewPlan;
import dev.glimpse.model.VisionLanguageModel;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The captioner's running batch under continuous batching: records join a {@link DecodingBatch} in
 * the rows that finished images freed, decode one token per {@link #step}, and leave with their
 * caption, while the others keep decoding. Every model family decodes here: the built-in and
 * nanoVLM models from their patch embeddings and prompt, an Idefics3 (SmolVLM) model from its
 * prompt with the tiles' image tokens merged in, a Qwen2-VL model in its own {@link Qwen2VlDecodingBatch}
 * (rows of any image size; its cache grows with the longest row, so only the image count bounds it).
 * Not thread-safe; the caller holds the model's lock.
 */
final class ContinuousBatch implements AutoCloseable {
    /** Rounding of a slot's columns, so that a new largest cap or prompt seldom means a new batch. */
    private static final int COLUMN_STEP = 32;

    /**
     * One look of a record, ready to join: rows {@code firstRow .. firstRow + rows - 1} of its patch
     * embeddings decoded together (an Idefics3 image: all its tiles, merged into one row), its
     * prompt's ids, and the length of its prefill (image tokens and prompt): a slot needs that and its cap.
     */
    static final class Look {
        final BatchedCaptioner.Pending pending;
        final boolean tiled;
        final int firstRow;
        final int rows;
        final long[] promptIds;
        final int prefill;
        /** A Qwen2-VL record's patches and prompt; null for the other families. */
        final Qwen2VlModel.Prepared qwen2Vl;

        private Look(BatchedCaptioner.Pending pending, boolean tiled, int firstRow, int rows, long[] promptIds,
                     int prefill) {
            this(pending, tiled, firstRow, rows, promptIds, prefill, null);
        }

        private Look(BatchedCaptioner.Pending pending, boolean tiled, int firstRow, int rows, long[] promptIds,
                     int prefill, Qwen2VlModel.Prepared qwen2Vl) {
            this.pending = pending;
            this.tiled = tiled;
            this.firstRow = firstRow;
            this.rows = rows;
            this.promptIds = promptIds;
            this.prefill = prefill;
            this.qwen2Vl = qwen2Vl;
        }

        /** The columns of a slot it needs: its prefill and its cap. */
        int columns() {
            return prefill + cap();
        }

        /** Rows of the decoding batch it takes. */
        int slots() {
            return tiled ? 1 : rows;
        }

        /** The tokens it may generate, as its columns count them (at least one). */
        int cap() {
            return Math.max(pending.image().request.maxNewTokens, 1);
        }

        /** Looks that can share one prefill. */
        private List<Object> kind() {
            return qwen2Vl != null ? List.of("qwen2-vl") : List.of(tiled, firstRow, rows);
        }
    }

    /** A record decoding in the batch. */
    static final class Row {
        final Look look;
        /** Processing time and wall-clock time it joined. */
        final long joinedAtProcessingMs;
        final long joinedAtMs;
        /** The most images that decoded in one step while it did, itself included. */
        int mostImages = 1;

        Row(Look look, long joinedAtProcessingMs, long joinedAtMs) {
            this.look = look;
            this.joinedAtProcessingMs = joinedAtProcessingMs;
            this.joinedAtMs = joinedAtMs;
        }
    }

    /** A row that finished, with its caption. */
    record Finished(Row row, Captioner.Caption caption, long finishedAtMs) {}

    private final VisionLanguageModel model;
    private final ModelConfig cfg;
    private final CaptionGenerator generator;
    private final int maxImages;
    private final int columns;
    private final DecodingBatch<Row> batch;
    /** A Qwen2-VL model and its batch (then the three fields above are null). */
    private final Qwen2VlModel qwen2Vl;
    private final Qwen2VlDecodingBatch<Row> qwen2VlBatch;
    private final List<Row> inFlight = new ArrayList<>();

    /**
     * Room for {@code maxImages} images of {@code slotsPerImage} rows each, every row {@code columns}
     * positions long (rounded up); a Qwen2-VL model: {@code maxImages} rows of any length.
     */
    ContinuousBatch(SharedModels.Handle handle, int maxImages, int slotsPerImage, int columns) {
        this.maxImages = maxImages;
        this.columns = (columns + COLUMN_STEP - 1) / COLUMN_STEP * COLUMN_STEP;
        this.qwen2Vl = handle.qwen2Vl();
        if (qwen2Vl != null) {
            this.model = null;
            this.cfg = handle.config();
            this.generator = null;
            this.batch = null;
            this.qwen2VlBatch = new Qwen2VlDecodingBatch<>(qwen2Vl, false);
            return;
        }
        this.model = handle.model();
        this.cfg = model.config();
        this.generator = new CaptionGenerator(model);
        this.batch = new DecodingBatch<>(model, maxImages * slotsPerImage, this.columns, CaptionGenerator.Options.DEFAULT);
        this.qwen2VlBatch = null;
    }

    /**
     * The look {@code p} asks for next: an adaptive plan's first look (the unmoved view) or second
     * look (the shifted views), else all its views. Throws IllegalArgumentException for a record whose
     * patches do not fit the model.
     */
    static Look look(SharedModels.Handle handle, BatchedCaptioner.Pending p) {
        EmbeddedImage img = p.image();
        if (handle.qwen2Vl() != null) {
            Qwen2VlModel.Prepared row = BatchForward.qwen2VlRow(handle.qwen2Vl(), img);
            return new Look(p, false, 0, 1, row.ids(), row.ids().length, row);
        }
        VisionLanguageModel model = handle.model();
        ModelConfig cfg = model.config();
        ViewPlan plan = img.plan();
        boolean tiled = cfg.idefics3 != null;
        int perView = cfg.numPatches() * cfg.vitHiddenDim;
        int rowsOfImage = tiled ? img.tiles() : plan.rows();
        if (img.patches.length != rowsOfImage * perView) {
            throw new IllegalArgumentException("record " + img.request.id + " has " + img.patches.length
                    + " patch values, the model expects " + rowsOfImage * perView + " ("
                    + (tiled ? img.tiles() + " tile(s))" : plan.rows() + " view(s))"));
        }
        CaptionTokenizer tok = model.tokenizer();
        if (tiled) {
            String prompt = img.request.prompt;
            String text = prompt == null || prompt.isBlank() ? cfg.defaultPrompt : prompt;
            long[] ids = tok.encodeAsProcessor(new Idefics3Prompt(cfg.idefics3)
                    .text(new int[][] {{img.tileRows, img.tileCols}}, text));
            return new Look(p, true, 0, rowsOfImage, ids, ids.length);
        }
        long[] ids = tok.encodePrompt(img.request.prompt);
        int first = plan.adaptive() && p.secondLook() ? 1 : 0;
        int rows = !plan.adaptive() ? plan.rows() : p.secondLook() ? plan.rows() - 1 : 1;
        return new Look(p, false, first, rows, ids, DecodingBatch.columnsFor(cfg, ids.length, 0));
    }

    /** Rows an image of this look's plan may take in a batch (an adaptive plan: its second look's). */
    static int slotsPerImage(Look look) {
        ViewPlan plan = look.pending.image().plan();
        return look.tiled ? 1 : plan.adaptive() ? Math.max(1, plan.rows() - 1) : plan.rows();
    }

    /**
     * Whether {@code next} fits beside the images decoding and {@code joining}, which are about to join.
     * Looks of one kind share a prefill padded to their longest prompt, and each of their slots must
     * hold that prefill and the largest cap among them: a look that fits alone may not fit beside a
     * longer prompt or a larger cap.
     */
    boolean fits(List<Look> joining, Look next) {
        if (qwen2Vl != null) {
            return inFlight.size() + joining.size() < maxImages;
        }
        int slots = next.slots();
        int prefill = next.prefill;
        int cap = next.cap();
        for (Look l : joining) {
            slots += l.slots();
            if (l.kind().equals(next.kind())) {
                prefill = Math.max(prefill, l.prefill);
                cap = Math.max(cap, l.cap());
            }
        }
        return inFlight.size() + joining.size() < maxImages && slots <= batch.freeRows()
                && prefill + cap <= columns;
    }

    /** Whether {@code look} would fit into this batch were it empty. */
    boolean couldHold(Look look) {
        if (qwen2Vl != null) {
            return true;
        }
        return look.slots() <= batch.rowCapacity() && look.columns() <= columns;
    }

    /** Runs the prefill of {@code looks} (one per kind of look) and adds them to the batch. */
    void join(List<Look> looks, long processingTimeMs) {
        Map<List<Object>, List<Look>> byKind = new LinkedHashMap<>();
        for (Look l : looks) {
            byKind.computeIfAbsent(l.kind(), k -> new ArrayList<>()).add(l);
        }
        for (List<Look> group : byKind.values()) {
            List<Row> rows = new ArrayList<>(group.size());
            long now = System.currentTimeMillis();
            for (Look l : group) {
                rows.add(new Row(l, processingTimeMs, now));
            }
            int[] caps = group.stream().mapToInt(l -> l.pending.image().request.maxNewTokens).toArray();
            List<long[]> prompts = group.stream().map(l -> l.promptIds).toList();
            try (NDScope ignored = new NDScope()) {
                if (qwen2Vl != null) {
                    qwen2VlBatch.join(rows, group.stream().map(l -> l.qwen2Vl).toList(), caps);
                } else if (group.get(0).tiled) {
                    // A few tiles at a time from each record's array: a join of 32 split images would
                    // otherwise put 1.3 GB of patch embeddings on the device, and as much on the heap.
                    int[] tiles = group.stream().mapToInt(l -> l.rows).toArray();
                    CaptionGenerator.MergedPrompts merged = generator.mergePrompts(
                            model.imageTokensOfTiles(tileBuffers(group)), tiles, prompts); // [n, P, D_lm]
                    batch.joinPrefilled(rows, merged.embeddings(), 0, merged.pad(), 1, caps);
                } else {
                    batch.join(rows, patches(group), group.get(0).rows, prompts, caps);
                }
            }
            inFlight.addAll(rows);
        }
    }

    /** Each look's rows of its patch embeddings, read in place. */
    private List<FloatBuffer> tileBuffers(List<Look> group) {
        int perView = cfg.numPatches() * cfg.vitHiddenDim;
        List<FloatBuffer> out = new ArrayList<>(group.size());
        for (Look l : group) {
            out.add(FloatBuffer.wrap(l.pending.image().patches, l.firstRow * perView, l.rows * perView));
        }
        return out;
    }

    /** {@code [sum of rows, N, D_vit]}: each look's rows of its patch embeddings, in order. */
    private NDArray patches(List<Look> group) {
        int perView = cfg.numPatches() * cfg.vitHiddenDim;
        int total = group.stream().mapToInt(l -> l.rows).sum();
        float[] flat = new float[total * perView];
        int at = 0;
        for (Look l : group) {
            System.arraycopy(l.pending.image().patches, l.firstRow * perView, flat, at, l.rows * perView);
            at += l.rows * perView;
        }
        return model.manager().create(flat, new Shape(total, cfg.numPatches(), cfg.vitHiddenDim));
    }

    /** One decoding step of every image in the batch; returns those that finished. */
    List<Finished> step() {
        int images = qwen2Vl != null ? qwen2VlBatch.size() : batch.decodingImages();
        for (Row r : inFlight) {
            r.mostImages = Math.max(r.mostImages, images);
        }
        if (qwen2Vl != null) {
            List<Finished> out = new ArrayList<>();
            long now = System.currentTimeMillis();
            for (Qwen2VlDecodingBatch.Done<Row> d : qwen2VlBatch.step()) {
                inFlight.remove(d.tag());
                long[] tokens = d.result().tokens();
                out.add(new Finished(d.tag(), new Captioner.Caption(qwen2Vl.decode(tokens), tokens.length, 1,
                        d.result().confidence()), now));
            }
            return out;
        }
        List<DecodingBatch.Done<Row>> done = batch.step();
        long now = System.currentTimeMillis();
        CaptionTokenizer tok = model.tokenizer();
        List<Finished> out = new ArrayList<>(done.size());
        for (DecodingBatch.Done<Row> d : done) {
            inFlight.remove(d.tag());
            long[] tokens = d.result().tokens();
            Look look = d.tag().look;
            out.add(new Finished(d.tag(), new Captioner.Caption(tok.decode(tokens), tokens.length,
                    look.tiled ? 1 : look.rows, d.result().confidence()), now));
        }
        return out;
    }

    /** Images decoding now. */
    int images() {
        return inFlight.size();
    }

    boolean isEmpty() {
        return qwen2Vl != null ? qwen2VlBatch.isEmpty() : batch.isEmpty();
    }

    /** The records decoding now, in the order they joined. */
    List<BatchedCaptioner.Pending> inFlight() {
        return inFlight.stream().map(r -> r.look.pending).toList();
    }

    @Override
    public void close() {
        if (qwen2Vl != null) {
            qwen2VlBatch.close();
        } else {
            batch.close();
        }
    }
}
