package dev.glimpse.model.training;

import dev.glimpse.model.CaptionTokenizer;
import dev.glimpse.model.ImageDecodeException;
import dev.glimpse.model.ImagePreprocessor;
import dev.glimpse.model.ModelConfig;
import dev.glimpse.model.scenes.SceneGenerator;
import dev.glimpse.model.scenes.SceneSample;

/**
 * One batch of scenes as the trainer feeds it: pixels through the same decoder and preprocessor as
 * inference (so training sees what serving sees), and text ids [prompt ; caption] right-padded, with
 * each position's target and a weight of 1 where the loss counts (the caption and its stop token).
 */
record TrainingBatch(int size, int length, float[] pixels, long[] ids, long[] targets, float[] weights) {

    static TrainingBatch build(SceneGenerator scenes, long firstIndex, int size, ModelConfig cfg,
                               ImagePreprocessor pre, CaptionTokenizer tok) {
        int s = cfg.vitImgSize;
        float[] pixels = new float[size * 3 * s * s];
        long[][] prompt = new long[size][];
        long[][] caption = new long[size][];
        int length = 1;
        for (int i = 0; i < size; i++) {
            SceneSample sample = scenes.sample(firstIndex + i);
            try {
                System.arraycopy(pre.preprocess(sample.encoded(), ImagePreprocessor.Limits.DEFAULT), 0,
                        pixels, i * 3 * s * s, 3 * s * s);
            } catch (ImageDecodeException e) {
                throw new IllegalStateException("generated scene " + sample.id() + " does not decode", e);
            }
            synchronized (tok) {
                prompt[i] = tok.encodePrompt(null);
                caption[i] = tok.encode(sample.caption());
            }
            length = Math.max(length, prompt[i].length + caption[i].length);
        }
        long[] ids = new long[size * length];
        long[] targets = new long[size * length];
        float[] weights = new float[size * length];
        java.util.Arrays.fill(ids, cfg.lmPadTokenId);
        java.util.Arrays.fill(targets, cfg.lmPadTokenId);
        for (int i = 0; i < size; i++) {
            int p = prompt[i].length;
            int c = caption[i].length;
            int row = i * length;
            System.arraycopy(prompt[i], 0, ids, row, p);
            System.arraycopy(caption[i], 0, ids, row + p, c);
            // The last prompt position predicts the first caption word; the last caption word, the stop.
            for (int t = p - 1; t < p + c; t++) {
                targets[row + t] = t + 1 < p + c ? ids[row + t + 1] : cfg.lmEosTokenId;
                weights[row + t] = 1f;
            }
        }
        return new TrainingBatch(size, length, pixels, ids, targets, weights);
    }
}
