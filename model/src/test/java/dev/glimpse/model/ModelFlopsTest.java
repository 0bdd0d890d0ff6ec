package dev.glimpse.model;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.types.Shape;
import dev.glimpse.model.training.ScenesModel;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ModelFlopsTest {
    /**
     * ViT: D 4, MLP 8, 2 px patches of a 4 px image (4 patches of 12 values), 2 heads, 1 block;
     * pixel shuffle 2 (1 image token of 16 values), linear projector; decoder: D 4, MLP 6, 2 heads
     * of 2, 1 kv head, 1 block, vocabulary 10.
     */
    private static ModelConfig tiny() {
        ModelConfig c = new ModelConfig();
        c.vitHiddenDim = 4;
        c.vitInterDim = 8;
        c.vitPatchSize = 2;
        c.vitImgSize = 4;
        c.vitNHeads = 2;
        c.vitNBlocks = 1;
        c.mpPixelShuffleFactor = 2;
        c.mpHiddenDim = 0;
        c.lmHiddenDim = 4;
        c.lmInterDim = 6;
        c.lmNHeads = 2;
        c.lmNKvHeads = 1;
        c.lmNBlocks = 1;
        c.lmVocabSize = 10;
        return c.validated("test");
    }

    @Test
    void shouldCountTheTinyModelsCaptionAsWorkedOutByHand() {
        ModelFlops f = new ModelFlops(tiny());
        // 4 patches x 12 values x 4 outputs, 2 FLOPs each
        assertThat(f.patchEmbedding()).isEqualTo(384);
        // per patch qkv 3*4*4 + out 4*4 + fc1 4*8 + fc2 8*4 = 128 multiply-adds: 4 patches -> 1024;
        // attention 4 x 4 pairs, q.k and scores.v of width 4 each: 16 * 2 * 4 * 2 = 256
        assertThat(f.visionEncoder()).isEqualTo(1280);
        // one image token: 16 values -> 4
        assertThat(f.projector()).isEqualTo(128);
        // per token q 16 + k 8 + v 8 + out 16 + gate/up/down 3*24 = 120 multiply-adds;
        // a prefill of 3 tokens: 720 + causal pairs 1+2+3 = 6, 16 FLOPs each: 96; head 4*10 once: 80
        assertThat(f.prefill(3)).isEqualTo(896);
        // a step over 4 keys: 240 + 4 * 16 + 80
        assertThat(f.decodeStep(4)).isEqualTo(384);
        // 3 new tokens after a prefill of 3: the prefill gives the first, steps over 4 and 5 keys the others
        assertThat(f.decode(3, 3)).isEqualTo(384 + 400);
        assertThat(f.caption(1, 3, 3)).isEqualTo(384 + 1280 + 128 + 896 + 784);
        // matrices 120 + head 40 floats; keys and values of 1 kv head of width 2, 5 positions
        assertThat(f.decodeWeightBytes()).isEqualTo(4 * 160);
        assertThat(f.kvBytes(5)).isEqualTo(4 * 2 * 2 * 5);
    }

    @Test
    void shouldCountTwoFlopsPerWeightOfEveryMatrixTheModelLoads() {
        ModelConfig nano = new ModelConfig(); // nanoVLM-222M's shape
        ModelConfig untied = nano.copy();
        untied.lmTieWeights = false;
        for (ModelConfig c : new ModelConfig[] {nano, untied, ScenesModel.defaultConfig()}) {
            Map<String, Shape> shapes = Weights.expectedShapes(c);
            ModelFlops f = new ModelFlops(c);
            long n = c.numPatches();
            long vitAttention = c.vitNBlocks * 4L * n * n * c.vitHiddenDim;
            assertThat(f.patchEmbedding()).isEqualTo(2 * n * matrices(shapes, "vision_encoder.patch_embedding.conv."));
            assertThat(f.visionEncoder() - vitAttention).isEqualTo(2 * n * matrices(shapes, "vision_encoder.blocks."));
            assertThat(f.projector()).isEqualTo(2L * c.imageTokens() * matrices(shapes, "MP."));
            long head = c.lmTieWeights ? shapes.get("decoder.token_embedding.weight").size()
                    : shapes.get("decoder.head.weight").size();
            long decoder = matrices(shapes, "decoder.blocks.") + head;
            assertThat(f.decodeStep(0)).isEqualTo(2 * decoder);
            assertThat(f.decodeWeightBytes()).isEqualTo(4 * decoder);
        }
    }

    @Test
    void shouldGrowAttentionWithTheKeysSeen() {
        ModelConfig c = new ModelConfig();
        ModelFlops f = new ModelFlops(c);
        // one more key: q.k and scores.v over every head of every block
        assertThat(f.decodeStep(101) - f.decodeStep(100)).isEqualTo(4L * c.lmNBlocks * c.lmNHeads * c.lmHeadDim());
        assertThat(f.kvBytes(77)).isEqualTo(4L * 30 * 2 * 3 * 64 * 77);
    }

    @Test
    void shouldCountTwoFlopsPerWeightOfEveryQwen2VlMatrix() throws Exception {
        try (Qwen2VlModel model = Qwen2VlModel.load(Qwen2VlPromptTest.golden())) {
            Qwen2VlConfig c = model.config();
            Map<String, Shape> shapes = new java.util.HashMap<>();
            model.weights().all().forEach((name, a) -> shapes.put(name, a.getShape()));
            int side = 4 * c.factor(); // 4 x 4 merged tokens
            int patches = (side / c.patchSize()) * (side / c.patchSize());
            Qwen2VlFlops f = new Qwen2VlFlops(c, patches);
            long p = patches;
            long vitAttention = c.visionDepth() * 4L * p * p * c.visionEmbedDim();
            assertThat(f.patchEmbedding()).isEqualTo(2 * p * matrices(shapes, "visual.patch_embed."));
            assertThat(f.visionEncoder() - vitAttention).isEqualTo(2 * p * matrices(shapes, "visual.blocks."));
            assertThat(f.merger()).isEqualTo(2 * (p / 4) * matrices(shapes, "visual.merger."));
            assertThat(f.vision()).isEqualTo(f.patchEmbedding() + f.visionEncoder() + f.merger());
            long head = c.tieWordEmbeddings() ? shapes.get("model.embed_tokens.weight").size() : shapes.get("lm_head.weight").size();
            long decoder = matrices(shapes, "model.layers.") + head;
            assertThat(f.decodeStep(0)).isEqualTo(2 * decoder);
            assertThat(f.decodeWeightBytes()).isEqualTo(4 * decoder);
            // a prefill of 3: every token through the blocks, the causal pairs 1 + 2 + 3, the head once
            long attentionPerPair = 4L * c.layers() * c.heads() * c.headDim();
            assertThat(f.prefill(3)).isEqualTo(3 * 2 * matrices(shapes, "model.layers.") + 6 * attentionPerPair + 2 * head);
            assertThat(f.decodeStep(11) - f.decodeStep(10)).isEqualTo(attentionPerPair);
            assertThat(f.kvBytes(5)).isEqualTo(4L * c.layers() * 2 * c.kvHeads() * c.headDim() * 5);
            assertThat(f.caption(1, 3, 3)).isEqualTo(f.vision() + f.prefill(3) + f.decodeStep(4) + f.decodeStep(5));
        }
    }

    /** Elements of the weight matrices (and 4-d convolution kernels) under {@code prefix}; vectors (norms, biases) left out. */
    private static long matrices(Map<String, Shape> shapes, String prefix) {
        return shapes.entrySet().stream()
                .filter(e -> e.getKey().startsWith(prefix) && e.getValue().dimension() >= 2)
                .mapToLong(e -> e.getValue().size())
                .sum();
    }
}
