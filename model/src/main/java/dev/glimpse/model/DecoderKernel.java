package dev.glimpse.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDScope;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.engine.PtNDManager;
import ai.djl.pytorch.engine.PtSymbolBlock;
import ai.djl.pytorch.jni.IValue;
import ai.djl.pytorch.jni.IValueUtils;
import ai.djl.pytorch.jni.JniUtils;
import java.util.List;
import java.util.function.Function;

/**
 * All the blocks of {@link TextDecoder} over a {@link KvCache} as one TorchScript call: a forward
 * that DJL would run as about 113 native calls per block (58 that compute, as many that free their
 * results; 3,400 a step for 30 blocks) crosses JNI once, and torch's interpreter runs the same
 * operations behind it, freeing each temporary at its last use. The code is a few lines of
 * TorchScript without weights, written as an archive by {@link LowPrecision#archive} and loaded once
 * per process; the weights, the cache's keys and values and the step's indices come as arguments.
 *
 * <p>The operations are those of the eager path: RMSNorm as {@link Ops#rmsNorm}, rotary embedding
 * with the caller's cos and sin, grouped-query attention through torch's {@code
 * scaled_dot_product_attention} (the kv heads repeated for their query groups, as {@link
 * LowPrecision#attentionRepeatingKv}), SwiGLU.
 * Each product runs in its weight's type (F32, or BF16/F16 as {@link LowPrecision}'s do) and returns
 * F32; norms, rotary, residuals and the cache stay F32. A decode step (one new token a row) uses a
 * small attention of its own in place of the fused kernel's, and {@code decode} runs the whole step
 * from the chosen tokens to the logits (embedding, rotary angles, blocks, head) as one call, {@code
 * choose} the choice of the next tokens as another. Where the matrices lie and how they are
 * multiplied: {@link #weightList}.
 */
final class DecoderKernel {
    /** Tensors per block in the weight list: norm1, q|k|v (rows joined), out, norm2, gate|up (rows joined), down; q|k|v, out and gate|up transposed. */
    static final int PER_BLOCK = 6;
    /** Tensors per layer in {@code qwen}'s weight list: norm1, q|k|v, q|k|v's bias, out, norm2, gate|up, down ({@link #qwenWeightList}). */
    static final int QWEN_PER_LAYER = 7;
    private static final int TORCH_FLOAT = LowPrecision.TORCH_FLOAT;
    private static final int TORCH_BFLOAT16 = LowPrecision.TORCH_BFLOAT16;
    /** A BF16 prefill of at least this many tokens attends one head at a time (by_head): measured as fast as the fused kernel at 196 tokens, 1.6 times as fast at 576. */
    static final int BY_HEAD_MIN_TOKENS = 256;
    /**
     * by_head's scores for one head at a time stay under this many values (8 MB in BF16): a head's
     * queries go in chunks of {@code max(1, this / keys)}, so that a large image (Qwen2-VL allows
     * 65,536 patches, 8.6 GB of one head's scores) takes the memory of a few chunks, not of its
     * {@code [T, T]} scores. Up to 4,096 keys (a SmolVLM tile: 1,024) a head is one chunk.
     */
    static final int BY_HEAD_MAX_SCORES = 1 << 22;
    /** A causal by_head's chunks hold at most this many queries, each chunk over the keys up to its last query (see by_head): one block of an 874-token BF16 prefill took 8.5-8.8 ms, against 11.5-11.8 ms over all keys. */
    static final int BY_HEAD_CAUSAL_ROWS = 256;

    /** The module's code, in the form {@code torch.jit.save} writes it. */
    private static final List<String> CODE = List.of(
            "class DecoderKernel(Module):",
            "  __parameters__ = []",
            "  __buffers__ = []",
            "  training : bool",
            // x [B, T, D]; cos, sin [B, 1, T, hd]; mask [B or 1, 1, T, T_kv] (added to the scores);
            // w: PER_BLOCK tensors per block, then the final norm's weight; keys, values: the cache's
            // [R, H_kv, C, hd] per block. decode: write row r's key at (slots[r], :, columns[r]) and
            // attend to [:used, :, :width]; else (prefill) write at (slots, :, :T) and attend to this
            // forward's keys alone. Returns the final-norm hidden states [B, T, D].
            "  def forward(self: __torch__.DecoderKernel, x: Tensor, cos: Tensor, sin: Tensor, mask: Tensor,"
                    + " w: List[Tensor], keys: List[Tensor], values: List[Tensor], slots: Tensor, columns: Tensor,"
                    + " decode: bool, used: int, width: int, heads: int, kv_heads: int, eps: float, scale: float) -> Tensor:",
            "    b = torch.size(x, 0)",
            "    t = torch.size(x, 1)",
            "    hd = torch.size(cos, 3)",
            "    width_t, eps_t, sin_s, half = self.constants(x, sin, eps)",
            // One row's decode writes its key and value at (s0, :, c0) through views (see below).
            "    s0 = 0",
            "    c0 = 0",
            // A decode step's mask [B, 1, 1, W] as each kv head's group takes it: scores = mask + scale q k^T.
            "    mask_kv = mask",
            "    if decode:",
            "      mask_kv = torch.reshape(torch.expand(mask, [b, kv_heads, 1, width]), [b * kv_heads, 1, width])",
            "    if decode and b == 1:",
            "      s0 = int(torch.select(slots, 0, 0))",
            "      c0 = int(torch.select(columns, 0, 0))",
            "    h = x",
            "    for i in range(len(keys)):",
            "      p = i * " + PER_BLOCK,
            "      dt = ops.prim.dtype(w[p + 1])",
            "      a = torch.to(self.rms(h, w[p], width_t, eps_t), dt)",
            // q, k and v from one product with their rows joined; the rotary embedding of q and k at once.
            "      qkv = torch.to(self.lin(a, w[p + 1]), " + TORCH_FLOAT + ")",
            // [B, heads, T, hd]: a decode step's one token needs no transpose.
            "      if decode:",
            "        qk = torch.reshape(torch.slice(qkv, 2, 0, (heads + kv_heads) * hd), [b, heads + kv_heads, 1, hd])",
            "        v = torch.reshape(torch.slice(qkv, 2, (heads + kv_heads) * hd), [b, kv_heads, 1, hd])",
            "      else:",
            "        qk = torch.transpose(torch.reshape(torch.slice(qkv, 2, 0, (heads + kv_heads) * hd), [b, t, heads + kv_heads, hd]), 1, 2)",
            "        v = torch.transpose(torch.reshape(torch.slice(qkv, 2, (heads + kv_heads) * hd), [b, t, kv_heads, hd]), 1, 2)",
            "      qk = self.rope(qk, cos, sin_s, half)",
            "      q = torch.slice(qk, 1, 0, heads)",
            "      k = torch.slice(qk, 1, heads)",
            // With BF16/F16 weights the cache holds keys and values rounded to that type (still F32), as
            // attention takes them: rounded once as they are written, not at every step that reads them.
            "      if dt != " + TORCH_FLOAT + ":",
            "        k = self.rounded(k, dt)",
            "        v = self.rounded(v, dt)",
            "      if decode and b == 1:",
            "        _0 = torch.copy_(torch.select(torch.select(keys[i], 0, s0), 1, c0), torch.reshape(k, [kv_heads, hd]))",
            "        _1 = torch.copy_(torch.select(torch.select(values[i], 0, s0), 1, c0), torch.reshape(v, [kv_heads, hd]))",
            "        ka = torch.slice(torch.slice(keys[i], 0, 0, used), 2, 0, width)",
            "        va = torch.slice(torch.slice(values[i], 0, 0, used), 2, 0, width)",
            "      elif decode:",
            "        _0 = torch.index_put_(keys[i], annotate(List[Optional[Tensor]], [slots, None, columns]), torch.squeeze(k, 2))",
            "        _1 = torch.index_put_(values[i], annotate(List[Optional[Tensor]], [slots, None, columns]), torch.squeeze(v, 2))",
            "        ka = torch.slice(torch.slice(keys[i], 0, 0, used), 2, 0, width)",
            "        va = torch.slice(torch.slice(values[i], 0, 0, used), 2, 0, width)",
            "      else:",
            "        _2 = torch.index_put_(torch.slice(keys[i], 2, 0, t), annotate(List[Optional[Tensor]], [slots]), k)",
            "        _3 = torch.index_put_(torch.slice(values[i], 2, 0, t), annotate(List[Optional[Tensor]], [slots]), v)",
            "        ka = k",
            "        va = v",
            "      grp = torch.floordiv(heads, kv_heads)",
            "      if decode:",
            // One query per row: each kv head's group of query heads as the rows of one product,
            // six small operations in place of the fused kernel's setup (~65 us a call here). With
            // BF16/F16 weights q is rounded to that type first, as the fused kernel takes it (the keys
            // and values were as they were written), and the products accumulate in F32 as it does.
            "        if dt != " + TORCH_FLOAT + ":",
            "          q = self.rounded(q, dt)",
            "        sc = torch.baddbmm(mask_kv, torch.reshape(q, [b * kv_heads, grp, hd]),"
                    + " torch.transpose(torch.reshape(ka, [b * kv_heads, width, hd]), 1, 2), beta=1, alpha=scale)",
            "        y = torch.reshape(torch.bmm(torch.softmax(sc, -1), torch.reshape(va, [b * kv_heads, width, hd])), [b, t, heads * hd])",
            // Prefill: BF16 with enough tokens, one head at a time (see by_head); else torch's fused
            // attention over the kv heads repeated for their query groups; with enable_gqa its CPU
            // kernel took 2.4 times as long here (874 tokens, 9 heads over 3).
            "      elif dt == " + TORCH_BFLOAT16 + " and t >= " + BY_HEAD_MIN_TOKENS + " and not ops.prim.is_cuda(q):",
            "        y = torch.reshape(torch.transpose(self.by_head(torch.to(q, dt), torch.to(ka, dt), torch.to(va, dt), mask, scale,"
                    + " " + BY_HEAD_MAX_SCORES + ", True), 1, 2), [b, t, heads * hd])",
            "      else:",
            "        y = torch.scaled_dot_product_attention(torch.to(q, dt), torch.repeat_interleave(torch.to(ka, dt), grp, 1),"
                    + " torch.repeat_interleave(torch.to(va, dt), grp, 1), torch.to(mask, dt), 0., False, scale=scale)",
            "        y = torch.reshape(torch.transpose(y, 1, 2), [b, t, heads * hd])",
            "      h = torch.add(h, torch.to(self.lin(torch.to(y, dt), w[p + 2]), " + TORCH_FLOAT + "))",
            // gate and up from one product with their rows joined, then silu(gate) * up, then down.
            "      gu = self.lin(torch.to(self.rms(h, w[p + 3], width_t, eps_t), dt), w[p + 4])",
            "      inter = torch.floordiv(torch.size(gu, 2), 2)",
            "      g = torch.mul(torch.silu(torch.slice(gu, 2, 0, inter)), torch.slice(gu, 2, inter))",
            "      h = torch.add(h, torch.to(self.lin(g, w[p + 5]), " + TORCH_FLOAT + "))",
            "    return self.rms(h, w[len(keys) * " + PER_BLOCK + "], width_t, eps_t)",
            // One decode step after the tokens are chosen: the new tokens' embedding ids [B, 1] (int64)
            // and rotary angles (positions [B, 1] F32 times freq, cos and sin scaled as TextDecoder#rotary
            // makes them), the blocks over the cache as forward's decode, the final norm and the head:
            // logits [B, V] F32. table: the token embedding; head: the head as TextDecoder#logits passes it.
            "  def decode(self: __torch__.DecoderKernel, ids: Tensor, positions: Tensor, freq: Tensor, scaling: float,"
                    + " table: Tensor, head: Tensor, mask: Tensor, w: List[Tensor], keys: List[Tensor], values: List[Tensor],"
                    + " slots: Tensor, columns: Tensor, used: int, width: int, heads: int, kv_heads: int, eps: float,"
                    + " scale: float) -> Tensor:",
            "    b = torch.size(positions, 0)",
            "    t = torch.size(positions, 1)",
            "    x = torch.to(torch.embedding(table, ids), " + TORCH_FLOAT + ")",
            "    angles = torch.mul(torch.reshape(positions, [b, t, 1]), freq)",
            "    emb = torch.unsqueeze(torch.cat([angles, angles], 2), 1)",
            "    cos = torch.mul(torch.cos(emb), scaling)",
            "    sin = torch.mul(torch.sin(emb), scaling)",
            "    h = self.forward(x, cos, sin, mask, w, keys, values, slots, columns, True, used, width, heads, kv_heads, eps, scale)",
            "    return self.head(torch.squeeze(h, 1), head)",
            // The next token of each image from the rows' logits [>= used, V]: single (one row per
            // image), pick [images] is each image's row; else pick [images, used] averages the log-
            // probabilities of an image's rows. Returns [2, images] (the token as F32, its log-
            // probability), the token of each row [used, 1] (image_of_row [used]), and the images' scores.
            "  def choose(self: __torch__.DecoderKernel, logits: Tensor, used: int, single: bool, pick: Tensor,"
                    + " image_of_row: Tensor) -> List[Tensor]:",
            "    rows = torch.slice(logits, 0, 0, used)",
            "    if single:",
            "      scores = torch.index_select(rows, 0, pick)",
            "      best = torch.amax(torch.log_softmax(scores, -1), [-1])",
            "    else:",
            "      scores = torch.matmul(pick, torch.log_softmax(rows, -1))",
            "      best = torch.amax(scores, [-1])",
            "    chosen = torch.argmax(scores, -1)",
            "    of_row = torch.reshape(torch.index_select(chosen, 0, image_of_row), [used, 1])",
            "    return [torch.stack([torch.to(chosen, " + TORCH_FLOAT + "), best]), of_row, scores]",
            // The parts joined by rows, then a [N_part, K] view per part. transposed: held transposed
            // ([K, N] in memory), returned as the halves of K (see lin; K odd: the [N, K] view); else
            // as they are laid out ([N, K] contiguous), returned so.
            "  def join(self: __torch__.DecoderKernel, parts: List[Tensor], transposed: bool) -> List[Tensor]:",
            "    joined = parts[0] if len(parts) == 1 else torch.cat(parts)",
            "    if transposed:",
            "      k = torch.size(joined, 1)",
            "      wt = torch.contiguous(torch.t(joined))",
            "      joined = torch.t(wt)",
            "      first = torch.reshape(wt, [2, torch.floordiv(k, 2), -1]) if torch.remainder(k, 2) == 0 else joined",
            "    else:",
            "      joined = torch.contiguous(joined)",
            "      first = joined",
            "    out = [first]",
            "    start = 0",
            "    for part in parts:",
            "      end = start + torch.size(part, 0)",
            "      _0 = torch.append(out, torch.slice(joined, 0, start, end))",
            "      start = end",
            "    return out",
            // What forward and qwen make once a call. The norms' width and epsilon as F32 scalars: a
            // Python number in an operation becomes a tensor of its own type and is converted to F32
            // first, two more calls each time (about 120 a decode step); the values computed are the
            // same. (The attention's scale goes to baddbmm as its alpha, a plain scalar.) The rotary
            // embedding's sin [.., hd] with its first half negated (see rope), and half the head.
            "  def constants(self: __torch__.DecoderKernel, x: Tensor, sin: Tensor, eps: float) -> Tuple[Tensor, Tensor, Tensor, int]:",
            "    dev = ops.prim.device(x)",
            "    width_t = torch.scalar_tensor(float(torch.size(x, 2)), dtype=" + TORCH_FLOAT + ", layout=None, device=dev, pin_memory=None)",
            "    eps_t = torch.scalar_tensor(eps, dtype=" + TORCH_FLOAT + ", layout=None, device=dev, pin_memory=None)",
            "    half = torch.floordiv(torch.size(sin, 3), 2)",
            "    sin_s = torch.cat([torch.neg(torch.slice(sin, 3, 0, half)), torch.slice(sin, 3, half)], 3)",
            "    return (width_t, eps_t, sin_s, half)",
            "  def rounded(self: __torch__.DecoderKernel, x: Tensor, dt: int) -> Tensor:",
            "    return torch.to(torch.to(x, dt), " + TORCH_FLOAT + ")",
            // BF16 attention one head at a time: q, k, v [B, H or H_kv, T, hd] in BF16 (H_kv kv heads serve
            // H / H_kv query heads each), mask [B or 1, 1, T, T_kv] added to the scores or None. For each
            // head, scores = (q / sqrt(hd)) k^T (+ mask), softmax (computed in F32 and rounded to BF16, as
            // the originals' eager attention), times v; both products through BF16 kernels. On this CPU
            // torch's fused BF16 attention runs no faster than its F32 one (22 ms a block of a 1,024-token
            // tile in either type); one head at a time, its [T, T] scores in the cache, takes 14 ms.
            // [B, H, T, hd] BF16 out.
            // causal: query i (of t) attends no key past tk - t + i (a decoder's prefill; its mask says so
            // too): a head's queries then go in chunks of at most BY_HEAD_CAUSAL_ROWS, each over the keys
            // up to its last query only, so that the scores above the diagonal, whose weights would be
            // exactly 0, are neither computed nor exponentiated (about 40 % of an 874-token prefill's).
            "  def by_head(self: __torch__.DecoderKernel, q: Tensor, k: Tensor, v: Tensor, mask: Optional[Tensor],"
                    + " scale: float, max_scores: int, causal: bool) -> Tensor:",
            "    b = torch.size(q, 0)",
            "    heads = torch.size(q, 1)",
            "    t = torch.size(q, 2)",
            "    hd = torch.size(q, 3)",
            "    kv_heads = torch.size(k, 1)",
            "    grp = torch.floordiv(heads, kv_heads)",
            "    tk = torch.size(k, 2)",
            "    qs = torch.reshape(torch.mul(q, scale), [b * heads, t, hd])",
            "    ks = torch.reshape(k, [b * kv_heads, tk, hd])",
            "    vs = torch.reshape(v, [b * kv_heads, tk, hd])",
            "    m = mask",
            "    if m is not None:",
            "      m = torch.to(torch.select(m, 1, 0), ops.prim.dtype(q))",
            "    y = torch.empty_like(qs)",
            "    chunk = max(1, torch.floordiv(max_scores, tk))",
            "    if causal:",
            "      chunk = min(chunk, " + BY_HEAD_CAUSAL_ROWS + ")",
            "    for i in range(b * heads):",
            "      j = torch.floordiv(i, grp)",
            "      kt = torch.t(torch.select(ks, 0, j))",
            "      vj = torch.select(vs, 0, j)",
            "      qi = torch.select(qs, 0, i)",
            "      yi = torch.select(y, 0, i)",
            "      mi = m",
            "      if m is not None:",
            "        mi = torch.select(m, 0, torch.floordiv(i, heads) if torch.size(m, 0) > 1 else 0)",
            "      for s in range(0, t, chunk):",
            "        e = min(s + chunk, t)",
            "        kn = min(tk, tk - t + e) if causal else tk",
            "        sc = torch.mm(torch.slice(qi, 0, s, e), torch.slice(kt, 1, 0, kn))",
            "        if mi is not None:",
            "          sc = torch.add_(sc, torch.slice(torch.slice(mi, 0, s, e), 1, 0, kn))",
            "        _1 = torch.mm(torch.softmax(sc, -1), torch.slice(vj, 0, 0, kn), out=torch.slice(yi, 0, s, e))",
            "    return torch.reshape(y, [b, heads, t, hd])",
            "  def by_head_f32(self: __torch__.DecoderKernel, q: Tensor, k: Tensor, v: Tensor, scale: float,"
                    + " max_scores: int, causal: bool) -> Tensor:",
            "    return self.by_head_f32_masked(q, k, v, None, scale, max_scores, causal)",
            "  def by_head_f32_masked(self: __torch__.DecoderKernel, q: Tensor, k: Tensor, v: Tensor, mask: Optional[Tensor],"
                    + " scale: float, max_scores: int, causal: bool) -> Tensor:",
            "    dt = " + TORCH_BFLOAT16,
            "    return torch.to(self.by_head(torch.to(q, dt), torch.to(k, dt), torch.to(v, dt), mask, scale, max_scores, causal), "
                    + TORCH_FLOAT + ")",
            // out(attention(q, k, v)) with q|k|v = qkv(x), all heads full width, through oneDNN (VisionEncoder's
            // attention), in the weights' type (F32 or BF16) from x cast to it, F32 out, as LowPrecision's
            // products and attention: F32 through torch's fused attention (no [B, H, T, T] scores kept),
            // BF16 one head at a time (by_head).
            "  def vit_attention(self: __torch__.DecoderKernel, x: Tensor, wqkv: Tensor, bqkv: Tensor, wo: Tensor, bo: Tensor,"
                    + " heads: int) -> Tensor:",
            "    dt = ops.prim.dtype(wqkv)",
            "    b = torch.size(x, 0)",
            "    t = torch.size(x, 1)",
            "    hd = torch.floordiv(torch.size(wo, 1), heads)",
            "    scale = torch.div(1., torch.sqrt(hd))",
            "    qkv = self.lin_bias(torch.to(torch.reshape(x, [b * t, -1]), dt), wqkv, bqkv)",
            "    qkv = torch.permute(torch.reshape(qkv, [b, t, 3, heads, hd]), [2, 0, 3, 1, 4])",
            "    if dt == " + TORCH_BFLOAT16 + ":",
            "      y = self.by_head(torch.select(qkv, 0, 0), torch.select(qkv, 0, 1), torch.select(qkv, 0, 2), None, scale, "
                    + BY_HEAD_MAX_SCORES + ", False)",
            "    else:",
            "      y = torch.scaled_dot_product_attention(torch.select(qkv, 0, 0), torch.select(qkv, 0, 1),"
                    + " torch.select(qkv, 0, 2), None, 0., False, scale=scale)",
            "    y = torch.reshape(torch.transpose(y, 1, 2), [b, t, heads * hd])",
            "    return torch.to(self.lin_bias(y, wo, bo), " + TORCH_FLOAT + ")",
            // fc2(gelu_tanh(fc1(x))) through oneDNN, the GELU applied by oneDNN to fc1's F32 sums before
            // they are stored (VisionEncoder's MLP), in the weights' type as vit_attention; a BF16 MLP's
            // hidden activations are stored BF16 (LowPrecision's mlp_gelu).
            "  def mlp_gelu(self: __torch__.DecoderKernel, x: Tensor, w1: Tensor, b1: Tensor, w2: Tensor, b2: Tensor) -> Tensor:",
            "    x2 = torch.reshape(x, [-1, torch.size(x, -1)])",
            "    h = ops.mkldnn._linear_pointwise(torch.to(x2, ops.prim.dtype(w1)), w1, torch.to(b1, ops.prim.dtype(w1)),"
                    + " \"gelu\", annotate(List[Optional[number]], []), \"tanh\")",
            "    return torch.reshape(torch.to(self.lin_bias(h, w2, b2), " + TORCH_FLOAT + "), torch.size(x))",
            "  def lin_bias(self: __torch__.DecoderKernel, x: Tensor, w: Tensor, b: Tensor) -> Tensor:",
            "    return ops.mkldnn._linear_pointwise(x, w, torch.to(b, ops.prim.dtype(w)), \"none\","
                    + " annotate(List[Optional[number]], []), \"\")",
            // Qwen2-VL's decoder (Qwen2VlDecoder#forward) over x [B, T, D] in one call. w: QWEN_PER_LAYER
            // tensors a layer (norm1, q|k|v as joined returns it, q|k|v's joined bias in F32, out, norm2,
            // gate|up, down), then the final norm; cos, sin [B, 1, T, hd] (M-RoPE's, both halves alike);
            // mask [B or 1, 1, T, T_past + T] added to the scores; past_keys, past_values: the cache's
            // [B, H_kv, T_past, hd] a layer, or empty lists (no cache). Returns the final-norm hidden
            // states [B, T, D], then each layer's keys, then its values, this forward's appended (F32,
            // after rotary). The operations are Qwen2VlDecoder's laid-out ones: products through lin, F32
            // out; a BF16 layer attends through torch's fused kernel in BF16 with enable_gqa
            // (LowPrecision#attention); an F32 one step a row as forward's decode, a prefill through the
            // fused kernel over the kv heads repeated for their groups.
            "  def qwen(self: __torch__.DecoderKernel, x: Tensor, cos: Tensor, sin: Tensor, mask: Tensor, w: List[Tensor],"
                    + " past_keys: List[Tensor], past_values: List[Tensor], heads: int, kv_heads: int, eps: float,"
                    + " scale: float) -> List[Tensor]:",
            "    b = torch.size(x, 0)",
            "    t = torch.size(x, 1)",
            "    hd = torch.size(cos, 3)",
            "    width_t, eps_t, sin_s, half = self.constants(x, sin, eps)",
            "    grp = torch.floordiv(heads, kv_heads)",
            "    layers = torch.floordiv(len(w) - 1, " + QWEN_PER_LAYER + ")",
            // One query a row: the mask as each kv head's group takes it (see forward's decode), once a
            // call; tk keys, the cache's and this forward's.
            "    tk = t + (torch.size(past_keys[0], 2) if len(past_keys) > 0 else 0)",
            "    mask_kv = mask",
            "    if t == 1:",
            "      mask_kv = torch.reshape(torch.expand(mask, [b, kv_heads, 1, tk]), [b * kv_heads, 1, tk])",
            "    keys = annotate(List[Tensor], [])",
            "    values = annotate(List[Tensor], [])",
            "    h = x",
            "    for i in range(layers):",
            "      p = i * " + QWEN_PER_LAYER,
            "      dt = ops.prim.dtype(w[p + 1])",
            "      a = torch.to(self.rms(h, w[p], width_t, eps_t), dt)",
            "      qkv = torch.add(torch.to(self.lin(a, w[p + 1]), " + TORCH_FLOAT + "), w[p + 2])",
            "      q = torch.transpose(torch.reshape(torch.slice(qkv, 2, 0, heads * hd), [b, t, heads, hd]), 1, 2)",
            "      k = torch.transpose(torch.reshape(torch.slice(qkv, 2, heads * hd, (heads + kv_heads) * hd), [b, t, kv_heads, hd]), 1, 2)",
            "      v = torch.transpose(torch.reshape(torch.slice(qkv, 2, (heads + kv_heads) * hd), [b, t, kv_heads, hd]), 1, 2)",
            "      q = self.rope(q, cos, sin_s, half)",
            "      k = self.rope(k, cos, sin_s, half)",
            "      if len(past_keys) > 0:",
            "        k = torch.cat([past_keys[i], k], 2)",
            "        v = torch.cat([past_values[i], v], 2)",
            "      _0 = torch.append(keys, k)",
            "      _1 = torch.append(values, v)",
            "      if dt != " + TORCH_FLOAT + ":",
            "        ya = torch.scaled_dot_product_attention(torch.to(q, dt), torch.to(k, dt), torch.to(v, dt), torch.to(mask, dt),"
                    + " 0., False, scale=scale, enable_gqa=True)",
            "        y = torch.reshape(torch.transpose(torch.to(ya, " + TORCH_FLOAT + "), 1, 2), [b, t, heads * hd])",
            "      elif t == 1:",
            "        sc = torch.baddbmm(mask_kv, torch.reshape(q, [b * kv_heads, grp, hd]),"
                    + " torch.transpose(torch.reshape(k, [b * kv_heads, tk, hd]), 1, 2), beta=1, alpha=scale)",
            "        y = torch.reshape(torch.bmm(torch.softmax(sc, -1), torch.reshape(v, [b * kv_heads, tk, hd])), [b, t, heads * hd])",
            "      else:",
            "        ya = torch.scaled_dot_product_attention(q, torch.repeat_interleave(k, grp, 1), torch.repeat_interleave(v, grp, 1),"
                    + " mask, 0., False, scale=scale)",
            "        y = torch.reshape(torch.transpose(ya, 1, 2), [b, t, heads * hd])",
            "      h = torch.add(h, torch.to(self.lin(torch.to(y, dt), w[p + 3]), " + TORCH_FLOAT + "))",
            // SwiGLU in F32 from gate|up's outputs, rounded to the matrices' type as down reads them.
            "      gu = torch.to(self.lin(torch.to(self.rms(h, w[p + 4], width_t, eps_t), dt), w[p + 5]), " + TORCH_FLOAT + ")",
            "      inter = torch.floordiv(torch.size(gu, 2), 2)",
            "      g = torch.mul(torch.silu(torch.slice(gu, 2, 0, inter)), torch.slice(gu, 2, inter))",
            "      h = torch.add(h, torch.to(self.lin(torch.to(g, dt), w[p + 6]), " + TORCH_FLOAT + "))",
            "    out = [self.rms(h, w[layers * " + QWEN_PER_LAYER + "], width_t, eps_t)]",
            "    for k in keys:",
            "      _2 = torch.append(out, k)",
            "    for v in values:",
            "      _3 = torch.append(out, v)",
            "    return out",
            // x @ w^T as lin multiplies it, x cast to w's type first, F32 out (Qwen2VlDecoder's products).
            "  def product(self: __torch__.DecoderKernel, x: Tensor, w: Tensor) -> Tensor:",
            "    return torch.to(self.lin(torch.to(x, ops.prim.dtype(w)), w), " + TORCH_FLOAT + ")",
            // The head as TextDecoder holds it: [V, D], the transposed view of the [D, V] join made.
            "  def head(self: __torch__.DecoderKernel, x: Tensor, w: Tensor) -> Tensor:",
            "    dt = ops.prim.dtype(w)",
            "    if torch.is_contiguous(torch.t(w)) and not torch.is_contiguous(w) and torch.remainder(torch.size(w, 1), 2) == 0:",
            "      w = torch.reshape(torch.t(w), [2, torch.floordiv(torch.size(w, 1), 2), -1])",
            "    return torch.to(self.lin(torch.to(x, dt), w), " + TORCH_FLOAT + ")",
            // x @ w^T, w [N, K] or its transpose held as two halves of K, [2, K/2, N] (join). On a CPU one
            // F32 row by the halves is two single-threaded BLAS products run side by side by bmm, then
            // added: on this CPU they read the weights about a quarter faster than oneDNN's inner
            // product of one row, which takes every other case (w [N, K] in either layout). On a GPU,
            // torch's own product (oneDNN takes CPU tensors only).
            "  def lin(self: __torch__.DecoderKernel, x: Tensor, w: Tensor) -> Tensor:",
            "    if torch.dim(w) == 3:",
            "      if torch.numel(x) == 2 * torch.size(w, 1) and ops.prim.dtype(w) == " + TORCH_FLOAT + " and not ops.prim.is_cuda(x):",
            "        yy = torch.bmm(torch.reshape(x, [2, 1, torch.size(w, 1)]), w)",
            "        y = torch.add(torch.select(yy, 0, 0), torch.select(yy, 0, 1))",
            "        return torch.unsqueeze(y, 0) if torch.dim(x) == 3 else y",
            "      w = torch.t(torch.reshape(w, [-1, torch.size(w, 2)]))",
            "    if ops.prim.is_cuda(x):",
            "      return torch.linear(x, w)",
            "    return ops.mkldnn._linear_pointwise(x, w, None, \"none\", annotate(List[Optional[number]], []), \"\")",
            // width, eps: F32 scalars (see forward)
            "  def rms(self: __torch__.DecoderKernel, x: Tensor, weight: Tensor, width: Tensor, eps: Tensor) -> Tensor:",
            // mean as torch computes it on a CPU (a sum, then divided), in fewer calls
            "    r = torch.sqrt(torch.add(torch.div(torch.sum(torch.square(x), [-1], True), width), eps))",
            "    return torch.mul(torch.div(x, r), weight)",
            // x cos + rotate_half(x) sin, rotate_half(x) = [-x2, x1]: as [x2, x1] (a roll by half the
            // width) times sin_s = [-sin1, sin2], the same products in two calls fewer.
            "  def rope(self: __torch__.DecoderKernel, x: Tensor, cos: Tensor, sin_s: Tensor, half: int) -> Tensor:",
            "    return torch.add(torch.mul(x, cos), torch.mul(torch.roll(x, [half], [3]), sin_s))",
            "");

    private static volatile PtSymbolBlock module;
    private static final ThreadLocal<Boolean> PLAIN_EXECUTOR_SET = ThreadLocal.withInitial(() -> false);
    /** Calls of {@link #attentionByHead} made in this process, for tests that must know it ran. */
    static final java.util.concurrent.atomic.AtomicLong BY_HEAD_CALLS = new java.util.concurrent.atomic.AtomicLong();
    /** Calls of {@link #product} made in this process, for tests that must know it ran. */
    static final java.util.concurrent.atomic.AtomicLong PRODUCT_CALLS = new java.util.concurrent.atomic.AtomicLong();
    /** Calls made in this process, for tests that must know the kernel ran. */
    static final java.util.concurrent.atomic.AtomicLong CALLS = new java.util.concurrent.atomic.AtomicLong();

    private DecoderKernel() {}

    /**
     * The blocks and the final norm over {@code x [B, T, D]}, as {@link TextDecoder#forward} with a
     * cache; {@code weights} is the list of {@link #weightList}, {@code cache}'s next write and read
     * set by {@link KvCache#prefill} or {@link KvCache#decode}. The result belongs to {@code x}'s manager.
     */
    static NDArray forward(ModelConfig cfg, IValue weights, NDArray x, NDArray[] cosSin, NDArray mask, KvCache cache) {
        KvCache.Step s = cache.step();
        CALLS.incrementAndGet();
        plainExecutor();
        IValue[] own = {IValue.from(pt(x)), IValue.from(pt(cosSin[0])), IValue.from(pt(cosSin[1])), IValue.from(pt(mask)),
            IValue.from(pt(s.slots())), IValue.from(pt(s.columns() != null ? s.columns() : s.slots())),
            IValue.from(s.columns() != null), IValue.from((long) s.used()), IValue.from((long) s.width()),
            IValue.from((long) cfg.lmNHeads), IValue.from((long) cfg.lmNKvHeads), IValue.from(cfg.lmRmsEps),
            IValue.from(1.0 / Math.sqrt(cfg.lmHeadDim()))};
        return call("forward", out -> out.toTensor((PtNDManager) x.getManager()), own,
                own[0], own[1], own[2], own[3], weights, cache.keyList(), cache.valueList(), own[4], own[5], own[6], own[7],
                own[8], own[9], own[10], own[11], own[12]);
    }

    /**
     * One decode step from the chosen tokens to the logits, as {@link TextDecoder#decodeLogits}: the
     * embedding of {@code ids [B, 1]}, the rotary angles of {@code positions [B, 1]} by {@code freq},
     * the blocks over {@code cache} (set by {@link KvCache#decode}), the final norm and the head, in
     * one call. F32 {@code [B, V]} on {@code ids}' manager.
     */
    static NDArray decode(ModelConfig cfg, IValue weights, NDArray table, NDArray head, NDArray freq, NDArray ids,
                          NDArray positions, NDArray mask, KvCache cache) {
        KvCache.Step s = cache.step();
        CALLS.incrementAndGet();
        plainExecutor();
        IValue[] own = {IValue.from(pt(ids)), IValue.from(pt(positions)), IValue.from(pt(freq)), IValue.from(cfg.lmAttnScaling),
            IValue.from(pt(table)), IValue.from(pt(head)), IValue.from(pt(mask)),
            IValue.from(pt(s.slots())), IValue.from(pt(s.columns())), IValue.from((long) s.used()), IValue.from((long) s.width()),
            IValue.from((long) cfg.lmNHeads), IValue.from((long) cfg.lmNKvHeads), IValue.from(cfg.lmRmsEps),
            IValue.from(1.0 / Math.sqrt(cfg.lmHeadDim()))};
        return call("decode", out -> out.toTensor((PtNDManager) ids.getManager()), own,
                own[0], own[1], own[2], own[3], own[4], own[5], own[6], weights, cache.keyList(), cache.valueList(), own[7],
                own[8], own[9], own[10], own[11], own[12], own[13], own[14]);
    }

    /**
     * The next token of each image from {@code logits}' first {@code used} rows, in one call: {@code
     * pick} is each image's row ({@code single}) or the {@code [images, used]} average of its rows'
     * log-probabilities. Returns {@code [2, images]} (the tokens as F32, their log-probabilities), each
     * row's token {@code [used, 1]} (int64, by {@code imageOfRow}), and the images' scores {@code [images, V]};
     * on {@code logits}' manager.
     */
    static NDArray[] choose(NDArray logits, int used, boolean single, NDArray pick, NDArray imageOfRow) {
        IValue[] own = {IValue.from(pt(logits)), IValue.from((long) used), IValue.from(single), IValue.from(pt(pick)),
            IValue.from(pt(imageOfRow))};
        return call("choose", out -> out.toTensorArray((PtNDManager) logits.getManager()), own, own);
    }

    /**
     * Runs {@code method} on {@code args} and returns {@code result} of its output, closing the
     * output and {@code own}, the inputs made for this call (the weights' and the cache's lists in
     * {@code args} live on: they are reused every call).
     */
    private static <R> R call(String method, Function<IValue, R> result, IValue[] own, IValue... args) {
        IValue out = null;
        try {
            out = IValueUtils.runMethod(module(), method, args);
            return result.apply(out);
        } finally {
            if (out != null) {
                out.close();
            }
            for (IValue v : own) {
                v.close();
            }
        }
    }

    private static void plainExecutor() {
        if (!PLAIN_EXECUTOR_SET.get()) {
            JniUtils.setGraphExecutorOptimize(false);
            PLAIN_EXECUTOR_SET.set(true);
        }
    }

    /**
     * {@code x @ w^T} as the kernel multiplies its own matrices ({@code lin}; {@code w} as the model
     * holds it, the transposed view of {@link #transpose} or not): for the few rows of a decode step
     * it reads the weights at two to three times the rate of the BLAS call that {@code torch.linear}
     * makes on this CPU. F32 {@code x}; {@code w} F32, BF16 or F16 (the product in its type); F32 out,
     * on {@code x}'s manager.
     */
    static NDArray linear(NDArray x, NDArray w) {
        return LowPrecision.run(module(), "head", x.getManager(), IValue.from(pt(x)), IValue.from(pt(w)));
    }

    /**
     * {@code x @ w^T} for {@code w} as {@link #joined} returns it (the halves of K of {@code w^T}, or
     * its {@code [N, K]} view) or any {@code [N, K]} matrix, multiplied as the kernel's own ({@code
     * lin}): one F32 row as two BLAS products side by side, else oneDNN's inner product. {@code x}
     * F32 {@code [.., K]}, cast to {@code w}'s type; F32 out, on {@code x}'s manager.
     */
    static NDArray product(NDArray x, NDArray w) {
        PRODUCT_CALLS.incrementAndGet();
        return LowPrecision.run(module(), "product", x.getManager(), IValue.from(pt(x)), IValue.from(pt(w)));
    }

    /**
     * Qwen2-VL's decoder layers and final norm over {@code x [B, T, D]} in one call ({@code qwen}):
     * {@code weights} as {@link #qwenWeightList} makes it, {@code mask [B or 1, 1, T, T_past + T]},
     * {@code pastKeys} and {@code pastValues} each layer's {@code [B, H_kv, T_past, hd]} or empty.
     * Returns the final-norm hidden states, then the layers' keys, then their values (this forward's
     * appended), all on {@code x}'s manager.
     */
    static NDArray[] qwen(IValue weights, NDArray x, NDArray[] cosSin, NDArray mask, NDArray[] pastKeys, NDArray[] pastValues,
                          int heads, int kvHeads, double eps, double scale) {
        CALLS.incrementAndGet();
        plainExecutor();
        IValue[] own = {IValue.from(pt(x)), IValue.from(pt(cosSin[0])), IValue.from(pt(cosSin[1])), IValue.from(pt(mask)),
            IValue.listFrom(pts(pastKeys)), IValue.listFrom(pts(pastValues)), IValue.from((long) heads), IValue.from((long) kvHeads),
            IValue.from(eps), IValue.from(scale)};
        return call("qwen", out -> out.toTensorArray((PtNDManager) x.getManager()), own,
                own[0], own[1], own[2], own[3], weights, own[4], own[5], own[6], own[7], own[8], own[9]);
    }

    /** The weight list of {@link #qwen}: {@link #QWEN_PER_LAYER} tensors a layer, then the final norm. */
    static IValue qwenWeightList(List<NDArray> tensors) {
        return IValue.listFrom(pts(tensors.toArray(new NDArray[0])));
    }

    private static PtNDArray[] pts(NDArray[] a) {
        PtNDArray[] p = new PtNDArray[a.length];
        for (int i = 0; i < a.length; i++) {
            p[i] = pt(a[i]);
        }
        return p;
    }

    /** A vision block's attention on a CPU, F32 or BF16 weights, through oneDNN (see vit_attention): one call, F32 out. */
    static NDArray vitAttention(NDArray x, NDArray wqkv, NDArray bqkv, NDArray wo, NDArray bo, int heads) {
        return LowPrecision.run(module(), "vit_attention", x.getManager(), IValue.from(pt(x)), IValue.from(pt(wqkv)),
                IValue.from(pt(bqkv)), IValue.from(pt(wo)), IValue.from(pt(bo)), IValue.from((long) heads));
    }

    /**
     * Whether attention over {@code tokens} queries with matrices held in {@code dtype}, on {@code x}'s
     * device, runs one head at a time ({@link #attentionByHead}): BF16 on a CPU from {@link
     * #BY_HEAD_MIN_TOKENS} tokens, as the kernel's prefill decides it.
     */
    static boolean attendsByHead(EngineDtype dtype, long tokens, NDArray x) {
        return dtype == EngineDtype.BFLOAT16 && tokens >= BY_HEAD_MIN_TOKENS && !x.getDevice().isGpu();
    }

    /**
     * BF16 attention one head at a time as a BF16 prefill of at least {@link #BY_HEAD_MIN_TOKENS} tokens
     * takes it: F32 {@code q [B, H, T, hd]}, {@code k, v [B, H_kv, T_kv, hd]} rounded to BF16, {@code mask}
     * {@code [B or 1, 1, T, T_kv]} or null; F32 {@code [B, H, T, hd]} out. {@code causal}: query
     * {@code i} attends no key past {@code T_kv - T + i} (a decoder's; the mask, if any, must mask
     * those keys too), so that no score above the diagonal is computed.
     */
    static NDArray attentionByHead(NDArray q, NDArray k, NDArray v, NDArray mask, double scale, boolean causal) {
        return attentionByHead(q, k, v, mask, scale, causal, BY_HEAD_MAX_SCORES);
    }

    /** As {@link #attentionByHead(NDArray, NDArray, NDArray, NDArray, double, boolean)}, its chunks of queries under {@code maxScores} scores. */
    static NDArray attentionByHead(NDArray q, NDArray k, NDArray v, NDArray mask, double scale, boolean causal, int maxScores) {
        BY_HEAD_CALLS.incrementAndGet();
        if (mask == null) {
            return LowPrecision.run(module(), "by_head_f32", q.getManager(), IValue.from(pt(q)), IValue.from(pt(k)),
                    IValue.from(pt(v)), IValue.from(scale), IValue.from((long) maxScores), IValue.from(causal));
        }
        return LowPrecision.run(module(), "by_head_f32_masked", q.getManager(), IValue.from(pt(q)), IValue.from(pt(k)),
                IValue.from(pt(v)), IValue.from(pt(mask)), IValue.from(scale), IValue.from((long) maxScores),
                IValue.from(causal));
    }

    /** {@code fc2(gelu_tanh(fc1(x)))} on a CPU, F32 or BF16 weights, through oneDNN, the GELU inside fc1's product: one call, F32 out. */
    static NDArray mlpGelu(NDArray x, NDArray w1, NDArray b1, NDArray w2, NDArray b2) {
        return LowPrecision.run(module(), "mlp_gelu", x.getManager(), IValue.from(pt(x)), IValue.from(pt(w1)), IValue.from(pt(b1)),
                IValue.from(pt(w2)), IValue.from(pt(b2)));
    }

    /** Holds the matrix {@code name} of {@code w} transposed in memory; the model's tensor becomes the {@code [N, K]} view of it. */
    static void transpose(Weights w, String name) {
        joined(w, true, name).close();
    }

    /**
     * The list the kernel reads its weights from: {@link #PER_BLOCK} tensors per block, then the final
     * norm; null where the kernel must not run (weights that record gradients: training updates them
     * in place, op by op). Each block's q, k and v projections are joined into one tensor of their
     * rows, and its gate and up projections into another, so that each group is one product. These,
     * the out projection and the head are held transposed ({@code w^T [K, N]} in memory; the list
     * has it as two halves of K, {@code [2, K/2, N]}): one F32 row multiplies it fastest as two BLAS
     * products side by side, and oneDNN's inner product of a prefill's rows reads it about 1.5 times
     * faster than {@code [N, K]} on this CPU ({@code lin}). The down projection ({@code [D, I]},
     * {@code I} the widest) stays as it is: oneDNN reads it a quarter faster so for one to eight rows,
     * though a prefill of tens of rows reads it half as fast. The model's own tensors become
     * transposed views into these ({@link Weights#replace}), so no weight is held twice; made in
     * inference mode, they take no in-place update.
     */
    static IValue weightList(ModelConfig cfg, Weights w) {
        if (w.all().values().stream().anyMatch(NDArray::hasGradient)) {
            return null;
        }
        PtNDArray[] list = new PtNDArray[cfg.lmNBlocks * PER_BLOCK + 1];
        for (int i = 0; i < cfg.lmNBlocks; i++) {
            String b = "decoder.blocks." + i + ".";
            list[i * PER_BLOCK] = pt(w.get(b + "norm1.weight"));
            list[i * PER_BLOCK + 1] = joined(w, true, b + "attn.q_proj.weight", b + "attn.k_proj.weight", b + "attn.v_proj.weight");
            list[i * PER_BLOCK + 2] = joined(w, true, b + "attn.out_proj.weight");
            list[i * PER_BLOCK + 3] = pt(w.get(b + "norm2.weight"));
            list[i * PER_BLOCK + 4] = joined(w, true, b + "mlp.gate_proj.weight", b + "mlp.up_proj.weight");
            list[i * PER_BLOCK + 5] = pt(w.get(b + "mlp.down_proj.weight")); // as it is: see above
        }
        list[list.length - 1] = pt(w.get("decoder.norm.weight"));
        // The head, the step's largest product, held transposed too (TextDecoder#logits reads it
        // through #linear, DecoderKernel#decode through head); a tied head's token embedding
        // gathers its rows from that view.
        transpose(w, TextDecoder.headName(cfg));
        IValue l = IValue.listFrom(list);
        for (int i = 0; i < cfg.lmNBlocks; i++) { // the list holds the joined tensors: Java needs only the views
            list[i * PER_BLOCK + 1].close();
            list[i * PER_BLOCK + 4].close();
            list[i * PER_BLOCK + 2].close();
        }
        return l;
    }

    /**
     * The tensors {@code names} (matrices of one width) joined by rows; each becomes a view of its rows.
     * {@code transposed}: held transposed, {@code [K, N]} in memory, and returned as its two halves of
     * K, {@code [2, K/2, N]} (K odd: the {@code [N, K]} view); else held as laid out, {@code [N, K]}
     * contiguous, and returned so. For {@link #product}; it belongs to the weights' manager.
     */
    static PtNDArray joined(Weights w, boolean transposed, String... names) {
        PtNDArray[] parts = new PtNDArray[names.length];
        for (int i = 0; i < names.length; i++) {
            parts[i] = pt(w.get(names[i]));
        }
        PtNDManager manager = (PtNDManager) w.manager();
        IValue in = IValue.listFrom(parts);
        IValue layout = IValue.from(transposed);
        IValue out = null;
        try {
            out = IValueUtils.runMethod(module(), "join", in, layout);
            PtNDArray[] joined = out.toTensorArray(manager); // the joined tensor, then a view per part
            NDScope.unregister(joined); // weights: made during a forward, they must outlive its scope
            for (int i = 0; i < names.length; i++) {
                w.replace(names[i], joined[i + 1]);
            }
            return joined[0];
        } finally {
            if (out != null) {
                out.close();
            }
            in.close();
            layout.close();
        }
    }

    private static PtNDArray pt(NDArray a) {
        return (PtNDArray) a;
    }

    private static PtSymbolBlock module() {
        PtSymbolBlock m = module;
        if (m == null) {
            synchronized (DecoderKernel.class) {
                m = module;
                if (m == null) {
                    m = LowPrecision.load("DecoderKernel", CODE);
                    module = m;
                }
            }
        }
        return m;
    }
}
