package dev.glimpse.model;

/**
 * Qwen2-VL's M-RoPE position ids of one sequence ({@code get_rope_index}): three streams (time,
 * height, width). A text token gets {@code (p, p, p)} and moves p on by one; the image pads of an
 * image whose merged grid is {@code t x h' x w'} get {@code (p + it, p + ih, p + iw)} in row-major
 * order, and text resumes at {@code p + max(t, h', w')}. {@code delta = max + 1 - length}: a token
 * decoded at sequence index i sits at {@code i + delta} in all three streams.
 *
 * @param ids {@code [3][L]}: rows t, h, w
 */
public record MRopePositions(long[][] ids, long delta) {
    /** The position of the next token after the sequence, in all three streams. */
    public long next() {
        return ids[0].length + delta;
    }

    /**
     * @param tokens the sequence (its image pads expanded)
     * @param grids each image's {@code {t, h, w}} in patches, in the order of its pads
     */
    public static MRopePositions of(long[] tokens, int[][] grids, int imageTokenId, int mergeSize) {
        long[][] out = new long[3][tokens.length];
        long p = 0;
        int image = 0;
        int i = 0;
        while (i < tokens.length) {
            if (tokens[i] != imageTokenId) {
                out[0][i] = p;
                out[1][i] = p;
                out[2][i] = p;
                p++;
                i++;
                continue;
            }
            if (image >= grids.length) {
                throw new IllegalArgumentException("the sequence has more image pads than the " + grids.length
                        + " image(s) given");
            }
            int t = grids[image][0];
            int h = grids[image][1] / mergeSize;
            int w = grids[image][2] / mergeSize;
            for (int it = 0; it < t; it++) {
                for (int ih = 0; ih < h; ih++) {
                    for (int iw = 0; iw < w; iw++) {
                        if (i >= tokens.length || tokens[i] != imageTokenId) {
                            throw new IllegalArgumentException("image " + image + " needs " + t * h * w
                                    + " consecutive image pads");
                        }
                        out[0][i] = p + it;
                        out[1][i] = p + ih;
                        out[2][i] = p + iw;
                        i++;
                    }
                }
            }
            p += Math.max(t, Math.max(h, w));
            image++;
        }
        if (image != grids.length) {
            throw new IllegalArgumentException("the sequence has image pads for " + image + " of " + grids.length
                    + " image(s)");
        }
        return new MRopePositions(out, p - tokens.length);
    }
}
