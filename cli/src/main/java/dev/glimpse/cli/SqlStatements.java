package dev.glimpse.cli;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * A SQL script cut into statements as Flink's SQL client reads one: at each {@code ;} outside a quoted
 * string, a quoted identifier and a comment ({@code -- ...}, {@code /* ... *}{@code /}). Comments are
 * kept inside the statement they stand in; blank statements are dropped.
 */
final class SqlStatements {
    private SqlStatements() {}

    static List<String> split(String script) {
        List<String> statements = new ArrayList<>();
        StringBuilder current = new StringBuilder();
        int i = 0;
        int n = script.length();
        while (i < n) {
            char c = script.charAt(i);
            if (c == '\'' || c == '`' || c == '"') {
                int end = closing(script, i, c);
                current.append(script, i, end);
                i = end;
            } else if (c == '-' && i + 1 < n && script.charAt(i + 1) == '-') {
                int end = script.indexOf('\n', i);
                end = end < 0 ? n : end;
                current.append(script, i, end);
                i = end;
            } else if (c == '/' && i + 1 < n && script.charAt(i + 1) == '*') {
                int end = script.indexOf("*/", i + 2);
                if (end < 0) {
                    throw new IllegalArgumentException("unclosed comment starting at character " + i);
                }
                current.append(script, i, end + 2);
                i = end + 2;
            } else if (c == ';') {
                add(statements, current);
                current.setLength(0);
                i++;
            } else {
                current.append(c);
                i++;
            }
        }
        add(statements, current);
        return statements;
    }

    /** The index after the quote that closes the one at {@code start} (a doubled quote escapes itself). */
    private static int closing(String script, int start, char quote) {
        int i = start + 1;
        while (i < script.length()) {
            if (script.charAt(i) == quote) {
                if (i + 1 < script.length() && script.charAt(i + 1) == quote) {
                    i += 2;
                    continue;
                }
                return i + 1;
            }
            i++;
        }
        throw new IllegalArgumentException("unclosed " + quote + " starting at character " + start);
    }

    private static void add(List<String> statements, StringBuilder statement) {
        String s = statement.toString().strip();
        if (!withoutComments(s).isBlank()) {
            statements.add(s);
        }
    }

    /** The statement's first word, upper case ({@code INSERT}, {@code SELECT}, ...), comments left out. */
    static String keyword(String statement) {
        String s = withoutComments(statement).strip();
        int end = 0;
        while (end < s.length() && Character.isLetter(s.charAt(end))) {
            end++;
        }
        return s.substring(0, end).toUpperCase(Locale.ROOT);
    }

    private static String withoutComments(String s) {
        return s.replaceAll("(?s)/\\*.*?\\*/", " ").replaceAll("--[^\\n]*", " ");
    }
}
