package dev.glimpse.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.glimpse.model.scenes.SceneGenerator;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.apache.parquet.example.data.Group;
import org.apache.parquet.hadoop.ParquetFileReader;
import org.apache.parquet.hadoop.ParquetReader;
import org.apache.parquet.hadoop.example.GroupReadSupport;
import org.apache.parquet.hadoop.util.HadoopInputFile;
import org.apache.parquet.schema.MessageType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code glimpse reprocess --to parquet:DIR/}: the command's own local Flink cluster, Flink's Parquet
 * format, the built-in model; the part files are read back with parquet-hadoop's own reader (through
 * Hadoop's local file system, not the sink's code).
 */
class ReprocessParquetITCase {
    @Test
    void shouldWriteOneParquetRowPerImageAndTheDeadLetterAndAddNothingOnARerunWithSkipExisting(@TempDir Path work)
            throws Exception {
        Path in = work.resolve("in");
        Map<String, String> truth = ReprocessRuns.scenes(in, 201, 0, 40);
        byte[] jpeg = new SceneGenerator(202).sample(0).encoded();
        Files.write(in.resolve("truncated.jpg"), Arrays.copyOf(jpeg, jpeg.length / 2));
        Path out = work.resolve("out");
        Path page = work.resolve("page.html");
        String[] args = {"--from", in.toString(), "--to", "parquet:" + out + "/", "--skip-existing", "--gallery", page.toString()};

        ReprocessRuns.Result r = ReprocessRuns.reprocess(args);

        assertThat(r.exitCode()).as(r.stdout()).isZero();
        assertThat(r.stdout()).contains("images        41").contains("captions      40")
                .contains("dead letters  1  (IMAGE_DECODE_FAILED 1)");
        List<Path> captionParts = parts(out.resolve("captions"));
        assertThat(captionParts).isNotEmpty().allSatisfy(p -> assertThat(p.getFileName().toString()).endsWith(".parquet"));
        assertThat(hidden(out)).as("in-progress files left after the run").isEmpty();
        MessageType schema = schemaOf(captionParts.get(0));
        assertThat(schema.getType("source").asGroupType().containsField("uri")).isTrue();
        assertThat(schema.getType("timings_ms").asGroupType().containsField("batch_size")).isTrue();

        List<Group> captions = rows(captionParts);
        Map<String, Group> byId = captions.stream().collect(Collectors.toMap(g -> g.getString("id", 0), Function.identity()));
        assertThat(captions).as("one row per image").hasSize(40);
        assertThat(byId.keySet()).isEqualTo(truth.keySet());
        long right = byId.entrySet().stream().filter(e -> e.getValue().getString("caption", 0).equals(truth.get(e.getKey()))).count();
        System.out.printf("reprocess of 40 scenes to Parquet: %d/40 captions exactly right%n", right);
        // The model's exact match is 99.4-99.7 % on fresh scenes (models/glimpse-scenes/README.md).
        assertThat(right).as("exact matches of 40 scenes").isGreaterThanOrEqualTo(38);
        Group first = byId.values().iterator().next();
        assertThat(first.getString("model", 0)).isEqualTo("glimpse-scenes");
        assertThat(first.getInteger("tokens", 0)).isPositive();
        assertThat(first.getGroup("source", 0).getString("uri", 0)).startsWith("file:/").endsWith(first.getString("id", 0));
        assertThat(first.getGroup("timings_ms", 0).getInteger("batch_size", 0)).isBetween(1, 16);

        List<Group> dead = rows(parts(out.resolve("dead-letters")));
        assertThat(dead).hasSize(1);
        assertThat(dead.get(0).getString("id", 0)).isEqualTo("truncated.jpg");
        assertThat(dead.get(0).getGroup("error", 0).getString("code", 0)).isEqualTo("IMAGE_DECODE_FAILED");
        assertThat(dead.get(0).getGroup("source", 0).getString("uri", 0)).startsWith("file:/").endsWith("/truncated.jpg");

        // The gallery reads the tables back: every caption with its thumbnail from the folder, and the dead letter.
        assertThat(r.stdout()).contains("gallery       " + page).contains("40 captions, 1 dead letters");
        String html = Files.readString(page, StandardCharsets.UTF_8);
        assertThat(html.split("<img src=\"data:image/jpeg;base64,", -1)).as("thumbnails").hasSize(40 + 1);
        assertThat(html).contains("IMAGE_DECODE_FAILED").contains("truncated.jpg");
        assertThat(truth.values().stream().filter(html::contains).count()).as("captions on the page").isGreaterThanOrEqualTo(38);

        List<Path> before = parts(out);
        ReprocessRuns.Result again = ReprocessRuns.reprocess(args);

        assertThat(again.exitCode()).as(again.stdout()).isZero();
        assertThat(again.stdout()).contains("images        0").contains("skipped       41")
                .as("the page shows what the sink holds, not only this run").contains("40 captions, 1 dead letters");
        assertThat(parts(out)).as("a rerun adds no part file").isEqualTo(before);
        assertThat(rows(parts(out.resolve("captions")))).hasSize(40);
    }

    /** The committed part files under {@code dir}, in name order. */
    private static List<Path> parts(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return List.of();
        }
        try (Stream<Path> files = Files.walk(dir)) {
            return files.filter(Files::isRegularFile).filter(p -> !p.getFileName().toString().startsWith("."))
                    .sorted().toList();
        }
    }

    private static List<Path> hidden(Path dir) throws IOException {
        try (Stream<Path> files = Files.walk(dir)) {
            return files.filter(Files::isRegularFile).filter(p -> p.getFileName().toString().startsWith(".")).toList();
        }
    }

    private static MessageType schemaOf(Path part) throws IOException {
        try (ParquetFileReader reader = ParquetFileReader.open(HadoopInputFile.fromPath(hadoopPath(part),
                new org.apache.hadoop.conf.Configuration()))) {
            return reader.getFooter().getFileMetaData().getSchema();
        }
    }

    private static List<Group> rows(List<Path> parts) throws IOException {
        List<Group> rows = new ArrayList<>();
        for (Path part : parts) {
            try (ParquetReader<Group> reader = ParquetReader.builder(new GroupReadSupport(), hadoopPath(part)).build()) {
                for (Group g = reader.read(); g != null; g = reader.read()) {
                    rows.add(g);
                }
            }
        }
        return rows;
    }

    @Test
    void shouldFailAtOnceWhenSkipExistingCannotReadTheSinkRatherThanRestartUntilTheTimeout(@TempDir Path work)
            throws Exception {
        Path in = work.resolve("in");
        ReprocessRuns.scenes(in, 203, 0, 4);
        Path out = work.resolve("out");
        // A "committed" part file that is no Parquet file (copied in by hand, cut by a full disk).
        Files.createDirectories(out.resolve("captions"));
        Files.writeString(out.resolve("captions").resolve("part-0-0.parquet"), "not a parquet file");

        ReprocessRuns.Result r = ReprocessRuns.reprocess("--from", in.toString(), "--to", "parquet:" + out + "/",
                "--skip-existing", "--timeout", "PT3M");

        // Each restart would read the same file again: exit 3 would be the timeout of a run restarting over and over.
        assertThat(r.exitCode()).as(r.stdout()).isEqualTo(1);
        assertThat(r.stdout()).contains("reprocess FAILED").contains("--skip-existing: cannot read the ids")
                .contains("part-0-0.parquet");
    }

    private static org.apache.hadoop.fs.Path hadoopPath(Path p) {
        return new org.apache.hadoop.fs.Path(p.toUri());
    }
}
