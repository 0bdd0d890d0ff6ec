package dev.glimpse.bench;

import java.awt.Color;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Collectors;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.XYStyler;

/**
 * One benchmark's results as rows of named columns: printed as one aligned table, written as CSV,
 * and plotted (one chart per measured column against a numeric column such as the batch size, a
 * line per value of a grouping column). Notes are lines about the whole run (the machine's floor,
 * the model's FLOPs): printed under the table and written at the top of the CSV as {@code #} lines.
 *
 * <pre>{@code
 * BenchReport r = new BenchReport("model glimpse-scenes", "batch", "cache", "images/s", "p99 ms");
 * r.row().put("batch", 1).put("cache", "kv").put("images/s", 2.54).put("p99 ms", 412.0);
 * r.note("matmul 2048x2048 F32: 61.2 GFLOP/s");
 * r.print(System.out);
 * r.writeCsv(dir.resolve("model.csv"));
 * r.writePlot(dir.resolve("model.png"), "batch", List.of("images/s", "p99 ms"), "cache");
 * }</pre>
 *
 * Values are numbers (plotted; integers print without decimals, other numbers with about three
 * significant digits unless {@link #format} says otherwise), strings, or null (printed "-", empty
 * in the CSV, skipped in plots).
 */
public final class BenchReport {
    private final String title;
    private final List<String> columns;
    private final Map<String, String> formats = new HashMap<>();
    private final List<Map<String, Object>> rows = new ArrayList<>();
    private final List<String> notes = new ArrayList<>();

    public BenchReport(String title, String... columns) {
        if (columns.length == 0) {
            throw new IllegalArgumentException("a report needs at least one column");
        }
        if (Arrays.stream(columns).distinct().count() != columns.length) {
            throw new IllegalArgumentException("column names must be distinct: " + Arrays.toString(columns));
        }
        this.title = title;
        this.columns = List.of(columns);
    }

    /** One row, filled by name; columns left unset are null. */
    public final class Row {
        private final Map<String, Object> values;

        private Row(Map<String, Object> values) {
            this.values = values;
        }

        public Row put(String column, Object value) {
            values.put(requireColumn(column), value);
            return this;
        }
    }

    public Row row() {
        Map<String, Object> values = new LinkedHashMap<>();
        rows.add(values);
        return new Row(values);
    }

    /** One row, its values in the order of the columns. */
    public BenchReport add(Object... values) {
        if (values.length != columns.size()) {
            throw new IllegalArgumentException(values.length + " values for " + columns.size() + " columns " + columns);
        }
        Row r = row();
        for (int i = 0; i < values.length; i++) {
            r.put(columns.get(i), values[i]);
        }
        return this;
    }

    /** A {@link String#format} pattern for the numbers of one column in the table, e.g. {@code "%.1f"}. */
    public BenchReport format(String column, String pattern) {
        formats.put(requireColumn(column), pattern);
        return this;
    }

    public BenchReport note(String line) {
        notes.add(line);
        return this;
    }

    public String title() {
        return title;
    }

    public List<String> columns() {
        return columns;
    }

    public List<String> notes() {
        return List.copyOf(notes);
    }

    /** The value of {@code column} in row {@code index} (null when unset). */
    public Object value(int index, String column) {
        return rows.get(index).get(requireColumn(column));
    }

    public int size() {
        return rows.size();
    }

    /** The title, the header, the rows (numbers right-aligned, text left-aligned), then the notes. */
    public String table() {
        List<String[]> cells = new ArrayList<>();
        for (Map<String, Object> row : rows) {
            cells.add(columns.stream().map(c -> text(c, row.get(c))).toArray(String[]::new));
        }
        int[] width = new int[columns.size()];
        boolean[] numeric = new boolean[columns.size()];
        for (int i = 0; i < columns.size(); i++) {
            width[i] = columns.get(i).length();
            String column = columns.get(i);
            numeric[i] = rows.stream().anyMatch(r -> r.get(column) instanceof Number);
            for (String[] line : cells) {
                width[i] = Math.max(width[i], line[i].length());
            }
        }
        StringBuilder out = new StringBuilder();
        if (title != null && !title.isEmpty()) {
            out.append(title).append('\n');
        }
        appendLine(out, columns.toArray(String[]::new), width, numeric);
        for (String[] line : cells) {
            appendLine(out, line, width, numeric);
        }
        for (String note : notes) {
            out.append(note).append('\n');
        }
        return out.toString();
    }

    public void print(PrintStream out) {
        out.print(table());
        out.flush();
    }

    /** The notes as {@code # } lines, the header, then one line per row; numbers at full precision. */
    public void writeCsv(Path file) throws IOException {
        StringBuilder out = new StringBuilder();
        for (String note : notes) {
            out.append("# ").append(note).append('\n');
        }
        out.append(columns.stream().map(BenchReport::csvField).collect(Collectors.joining(","))).append('\n');
        for (Map<String, Object> row : rows) {
            out.append(columns.stream().map(c -> {
                Object v = row.get(c);
                return v == null ? "" : csvField(v.toString());
            }).collect(Collectors.joining(","))).append('\n');
        }
        createParent(file);
        Files.writeString(file, out);
    }

    /**
     * A PNG with one chart per column of {@code yColumns} (side by side), each plotting that column
     * against {@code xColumn}, one line per distinct combination of the {@code seriesColumns}' values
     * (one line when none are given). Rows whose x or y is not a number are left out.
     */
    public void writePlot(Path file, String xColumn, List<String> yColumns, String... seriesColumns) throws IOException {
        requireColumn(xColumn);
        yColumns.forEach(this::requireColumn);
        Arrays.stream(seriesColumns).forEach(this::requireColumn);
        if (!file.getFileName().toString().endsWith(".png")) {
            throw new IllegalArgumentException("a plot is a PNG file: its name must end in .png, got " + file);
        }
        // XChart draws with Java2D: no display is needed, nor wanted (a server has none).
        System.setProperty("java.awt.headless", "true");
        List<XYChart> charts = new ArrayList<>();
        for (String y : yColumns) {
            XYChart chart = new XYChartBuilder().width(560).height(400)
                    .title(yColumns.size() == 1 && title != null ? title : y)
                    .xAxisTitle(xColumn).yAxisTitle(y).build();
            XYStyler style = chart.getStyler();
            style.setLegendPosition(Styler.LegendPosition.OutsideS);
            style.setChartBackgroundColor(Color.WHITE);
            style.setMarkerSize(7);
            style.setYAxisMin(0.0);
            style.setXAxisDecimalPattern("#,##0.##");
            style.setYAxisDecimalPattern("#,##0.###");
            Map<String, List<double[]>> series = new LinkedHashMap<>();
            for (Map<String, Object> row : rows) {
                if (row.get(xColumn) instanceof Number x && row.get(y) instanceof Number v) {
                    String name = seriesColumns.length == 0 ? y : Arrays.stream(seriesColumns)
                            .map(c -> c + " " + (row.get(c) == null ? "-" : text(c, row.get(c))))
                            .collect(Collectors.joining(", "));
                    series.computeIfAbsent(name, k -> new ArrayList<>()).add(new double[] {x.doubleValue(), v.doubleValue()});
                }
            }
            for (Map.Entry<String, List<double[]>> s : series.entrySet()) {
                List<double[]> points = s.getValue();
                points.sort((a, b) -> Double.compare(a[0], b[0]));
                XYSeries line = chart.addSeries(s.getKey(), points.stream().mapToDouble(p -> p[0]).toArray(),
                        points.stream().mapToDouble(p -> p[1]).toArray());
                line.setXYSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Line);
            }
            if (series.isEmpty()) {
                chart.addSeries("no data", new double[] {0}, new double[] {0});
            }
            charts.add(chart);
        }
        createParent(file);
        BitmapEncoder.saveBitmap(new ArrayList<>(charts), 1, charts.size(), file.toString(), BitmapEncoder.BitmapFormat.PNG);
    }

    private String requireColumn(String column) {
        if (!columns.contains(column)) {
            throw new IllegalArgumentException("no column \"" + column + "\" in " + columns);
        }
        return column;
    }

    private String text(String column, Object v) {
        if (v == null) {
            return "-";
        }
        if (!(v instanceof Number n)) {
            return v.toString();
        }
        String pattern = formats.get(column);
        if (pattern != null) {
            return String.format(Locale.ROOT, pattern, n);
        }
        if (n instanceof Integer || n instanceof Long || n instanceof Short || n instanceof Byte) {
            return n.toString();
        }
        double d = n.doubleValue();
        double a = Math.abs(d);
        String p = a == 0 || a >= 100 ? "%.1f" : a >= 10 ? "%.2f" : a >= 1 ? "%.3f" : "%.4f";
        return String.format(Locale.ROOT, p, d);
    }

    private static void appendLine(StringBuilder out, String[] cells, int[] width, boolean[] numeric) {
        StringBuilder line = new StringBuilder();
        for (int i = 0; i < cells.length; i++) {
            if (i > 0) {
                line.append("  ");
            }
            String pad = " ".repeat(width[i] - cells[i].length());
            line.append(numeric[i] ? pad + cells[i] : cells[i] + pad);
        }
        out.append(line.toString().stripTrailing()).append('\n');
    }

    private static String csvField(String s) {
        if (s.contains(",") || s.contains("\"") || s.contains("\n")) {
            return '"' + s.replace("\"", "\"\"") + '"';
        }
        return s;
    }

    private static void createParent(Path file) throws IOException {
        Path parent = file.toAbsolutePath().getParent();
        if (parent != null) {
            Files.createDirectories(parent);
        }
    }
}
