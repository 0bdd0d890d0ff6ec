package dev.glimpse.cli.gallery;

/** HTML escaping for text and attribute values: nothing from the input is ever markup. */
final class Html {
    private Html() {}

    /** {@code s} safe inside an element or a double- or single-quoted attribute; null becomes "". */
    static String escape(String s) {
        if (s == null) {
            return "";
        }
        StringBuilder b = new StringBuilder(s.length() + 16);
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '&' -> b.append("&amp;");
                case '<' -> b.append("&lt;");
                case '>' -> b.append("&gt;");
                case '"' -> b.append("&quot;");
                case '\'' -> b.append("&#39;");
                case '`' -> b.append("&#96;");
                default -> {
                    // Control characters other than tab and line breaks have no business in a caption.
                    if (c < 0x20 && c != '\t' && c != '\n' && c != '\r') {
                        b.append("&#xFFFD;");
                    } else {
                        b.append(c);
                    }
                }
            }
        }
        return b.toString();
    }
}
