package dev.glimpse.operators;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.Shape;
import dev.glimpse.model.Captioner;
import dev.glimpse.model.ModelConfig;
import dev.glimpse.model.Qwen2VlImageProcessor;
import dev.glimpse.model.Qwen2VlModel;
import dev.glimpse.model.ViewPlan;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.function.IntConsumer;

/**
 * One batched forward over patch-embedded images (a static batch): the vision tower, the projector
 * and greedy decoding to each row's own cap, under the shared model's lock. {@link BatchedCaptioner}
 * runs its static batches and second looks with it, the SQL model provider its batches of rows.
 */
public final class BatchForward {
    private final SharedModels.Handle model;
    private final Captioner captioner;

    public BatchForward(SharedModels.Handle model) {
        this.model = model;
        this.captioner = model.qwen2Vl() != null ? null : new Captioner(model.model());
    }

    /**
     * The captions of {@code images}, in order. They share one view plan; {@code secondLook}: decode
     * the shifted views of an adaptive plan (the images its first look left unsure), else its first
     * look. {@code active} hears how many images the forward holds once it has the model, and 0 after.
     */
    public List<Captioner.Caption> caption(List<EmbeddedImage> images, boolean secondLook, IntConsumer active) {
        if (model.qwen2Vl() != null) {
            return captionQwen2Vl(images, active);
        }
        ModelConfig cfg = model.model().config();
        int n = images.size();
        ViewPlan plan = images.get(0).plan();
        int views = plan.rows();
        int perView = cfg.numPatches() * cfg.vitHiddenDim;
        // An Idefics3 (SmolVLM) image has as many rows as tiles, the others one row per view.
        boolean tiled = cfg.idefics3 != null;
        int[][] grids = new int[n][];
        long rows = 0;
        for (int i = 0; i < n; i++) {
            EmbeddedImage img = images.get(i);
            rows += tiled ? img.tiles() : views;
            grids[i] = new int[] {img.tileRows, img.tileCols};
        }
        // SmolVLM's tiles go to the vision tower a few at a time, from each record's own array; the
        // others' views are stacked into one array for one forward.
        float[] flat = tiled ? null : new float[Math.toIntExact(rows * perView)];
        List<FloatBuffer> tilePatches = new ArrayList<>(tiled ? n : 0);
        List<String> prompts = new ArrayList<>(n);
        int[] caps = new int[n];
        int at = 0;
        for (int i = 0; i < n; i++) {
            EmbeddedImage img = images.get(i);
            if (!img.plan().equals(plan)) {
                throw new IllegalArgumentException("record " + img.request.id + " has views " + img.plan()
                        + ", its batch " + plan);
            }
            int perImage = (tiled ? img.tiles() : views) * perView;
            if (img.patches.length != perImage) {
                throw new IllegalArgumentException("record " + img.request.id + " has " + img.patches.length
                        + " patch values, the model expects " + perImage + " ("
                        + (tiled ? img.tiles() + " tile(s))" : views + " view(s))"));
            }
            if (tiled) {
                tilePatches.add(FloatBuffer.wrap(img.patches));
            } else {
                System.arraycopy(img.patches, 0, flat, at, perImage);
            }
            at += perImage;
            prompts.add(img.request.prompt);
            caps[i] = img.request.maxNewTokens;
        }
        model.lock().lock();
        try (NDScope ignored = new NDScope()) {
            active.accept(n);
            NDArray patches = tiled ? null : model.model().manager().create(flat,
                    new Shape(rows, cfg.numPatches(), cfg.vitHiddenDim));
            if (tiled) {
                return captioner.captionTileBuffers(tilePatches, grids, prompts, caps);
            } else if (!plan.adaptive()) {
                return captioner.captionPatches(patches, plan, prompts, caps);
            } else if (secondLook) {
                return captioner.captionShiftedViews(patches, plan, prompts, caps);
            } else {
                return captioner.captionFirstView(patches, plan, prompts, caps);
            }
        } finally {
            active.accept(0);
            model.lock().unlock();
        }
    }

    /** A Qwen2-VL record's row: its patches and its prompt with the image pads expanded; throws for patches that do not fit its grid. */
    static Qwen2VlModel.Prepared qwen2VlRow(Qwen2VlModel qwen, EmbeddedImage img) {
        int expected = img.gridT * img.gridH * img.gridW * qwen.config().patchValues();
        if (expected == 0 || img.patches.length != expected) {
            throw new IllegalArgumentException("record " + img.request.id + " has " + img.patches.length
                    + " patch values, its Qwen2-VL grid " + img.gridT + "x" + img.gridH + "x" + img.gridW + " needs "
                    + expected);
        }
        return qwen.prepared(List.of(new Qwen2VlImageProcessor.Patches(img.patches, img.gridT, img.gridH, img.gridW)),
                img.request.prompt);
    }

    /**
     * A Qwen2-VL batch: each image's patches go through the vision tower at its own size, its merged
     * tokens into its own prompt, and all rows decode in one batch ({@link Qwen2VlModel#generate}).
     */
    private List<Captioner.Caption> captionQwen2Vl(List<EmbeddedImage> images, IntConsumer active) {
        Qwen2VlModel qwen = model.qwen2Vl();
        List<Qwen2VlModel.Prepared> rows = new ArrayList<>(images.size());
        int[] caps = new int[images.size()];
        for (int i = 0; i < images.size(); i++) {
            EmbeddedImage img = images.get(i);
            rows.add(qwen2VlRow(qwen, img));
            caps[i] = img.request.maxNewTokens;
        }
        model.lock().lock();
        try (NDScope ignored = new NDScope()) {
            active.accept(images.size());
            List<Qwen2VlModel.Result> results = qwen.generate(rows, caps, false);
            List<Captioner.Caption> out = new ArrayList<>(results.size());
            for (Qwen2VlModel.Result r : results) {
                out.add(new Captioner.Caption(qwen.decode(r.tokens()), r.tokens().length, 1, r.confidence()));
            }
            return out;
        } finally {
            active.accept(0);
            model.lock().unlock();
        }
    }
}
