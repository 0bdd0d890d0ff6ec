package dev.glimpse.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BenchReportTest {
    private static BenchReport sample() {
        BenchReport r = new BenchReport("model x", "batch", "cache", "images/s", "peak MB");
        r.row().put("batch", 1).put("cache", "kv").put("images/s", 2.5432).put("peak MB", 244L);
        r.row().put("batch", 8).put("cache", "kv").put("images/s", 21.1).put("peak MB", 351L);
        r.add(1, "recompute, slow", 2.07, null);
        r.note("matmul 2048x2048 F32: 61.2 GFLOP/s");
        return r;
    }

    @Test
    void shouldPrintOneAlignedTableWithNumbersRightAndTextLeft() {
        assertThat(sample().table()).isEqualTo("""
                model x
                batch  cache            images/s  peak MB
                    1  kv                  2.543      244
                    8  kv                  21.10      351
                    1  recompute, slow     2.070        -
                matmul 2048x2048 F32: 61.2 GFLOP/s
                """);
    }

    @Test
    void shouldApplyAColumnsFormat() {
        BenchReport r = sample().format("images/s", "%.1f");
        assertThat(r.table()).contains("    1  kv                    2.5      244");
    }

    @Test
    void shouldWriteCsvWithNotesAsCommentsFullPrecisionAndQuotedCommas(@TempDir Path dir) throws Exception {
        Path csv = dir.resolve("out/model.csv");
        sample().writeCsv(csv);
        assertThat(Files.readAllLines(csv)).containsExactly(
                "# matmul 2048x2048 F32: 61.2 GFLOP/s",
                "batch,cache,images/s,peak MB",
                "1,kv,2.5432,244",
                "8,kv,21.1,351",
                "1,\"recompute, slow\",2.07,");
    }

    @Test
    void shouldDrawOneChartPerMeasuredColumnSideBySide(@TempDir Path dir) throws Exception {
        Path png = dir.resolve("plots/model.png");
        sample().writePlot(png, "batch", List.of("images/s", "peak MB"), "cache");
        BufferedImage image = ImageIO.read(png.toFile());
        assertThat(image.getWidth()).isEqualTo(2 * 560);
        assertThat(image.getHeight()).isEqualTo(400);
        Set<Integer> colours = new HashSet<>();
        for (int x = 0; x < image.getWidth(); x += 3) {
            for (int y = 0; y < image.getHeight(); y += 3) {
                colours.add(image.getRGB(x, y));
            }
        }
        assertThat(colours).as("axes, text and series lines, not a blank image").hasSizeGreaterThan(20);
    }

    @Test
    void shouldRejectUnknownColumnsAndMiscountedRows() {
        BenchReport r = sample();
        assertThatThrownBy(() -> r.row().put("latency", 1)).hasMessageContaining("no column \"latency\"");
        assertThatThrownBy(() -> r.add(1, 2)).hasMessageContaining("2 values for 4 columns");
        assertThatThrownBy(() -> r.writePlot(Path.of("x.jpg"), "batch", List.of("images/s")))
                .hasMessageContaining("must end in .png");
    }
}
