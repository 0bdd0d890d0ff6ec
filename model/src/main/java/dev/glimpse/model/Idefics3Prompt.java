package dev.glimpse.model;


/**
 * SmolVLM's prompt as transformers' {@code Idefics3Processor} builds it: the folder's chat template
 * rendered (Jinjava, with transformers' {@code trim_blocks} and {@code lstrip_blocks}) over one user
 * message of the images then the text, with the generation prompt; then every {@code <image>}
 * expanded into the image's tiles: per grid tile {@code <fake_token_around_image><row_r_col_c>} and
 * its image tokens, a newline after each grid row, then a newline and the global image
 * {@code <fake_token_around_image><global-img>} with its image tokens and a closing
 * {@code <fake_token_around_image>}.
 */
public final class Idefics3Prompt {
    public static final String IMAGE = "<image>";
    public static final String FAKE_AROUND_IMAGE = "<fake_token_around_image>";
    public static final String GLOBAL_IMAGE = "<global-img>";
    private final ChatTemplate template;
    private final int imageSeqLen;

    public Idefics3Prompt(Idefics3Settings settings) {
        this.template = new ChatTemplate(settings.chatTemplate());
        this.imageSeqLen = settings.imageSeqLen();
    }

    /** The chat template applied to one user turn of {@code images} images then {@code text}, ready for the answer. */
    public String chat(int images, String text) {
        return template.userTurn(images, text);
    }

    /**
     * {@code text} with its {@code <image>} markers, in order, expanded for images of these grids
     * ({@code grids[i] = {rows, cols}}, {@code {0, 0}} for an image that is not split).
     */
    public String expand(String text, int[][] grids) {
        String[] parts = text.split(java.util.regex.Pattern.quote(IMAGE), -1);
        if (parts.length - 1 != grids.length) {
            throw new IllegalArgumentException("prompt has " + (parts.length - 1) + " " + IMAGE + " marker(s) for "
                    + grids.length + " image(s)");
        }
        StringBuilder sb = new StringBuilder(parts[0]);
        for (int i = 0; i < grids.length; i++) {
            sb.append(imageString(grids[i][0], grids[i][1])).append(parts[i + 1]);
        }
        return sb.toString();
    }

    /** {@code get_image_prompt_string}: the tokens standing for one image of {@code rows x cols} tiles. */
    String imageString(int rows, int cols) {
        String tokens = IMAGE.repeat(imageSeqLen);
        String global = FAKE_AROUND_IMAGE + GLOBAL_IMAGE + tokens + FAKE_AROUND_IMAGE;
        if (rows == 0 && cols == 0) {
            return global;
        }
        StringBuilder sb = new StringBuilder();
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                sb.append(FAKE_AROUND_IMAGE).append("<row_").append(r + 1).append("_col_").append(c + 1).append('>')
                        .append(tokens);
            }
            sb.append('\n');
        }
        return sb.append('\n').append(global).toString();
    }

    /** The whole text the tokenizer reads for images of these grids and {@code text}. */
    public String text(int[][] grids, String text) {
        return expand(chat(grids.length, text), grids);
    }
}
