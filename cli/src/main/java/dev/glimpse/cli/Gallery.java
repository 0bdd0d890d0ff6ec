package dev.glimpse.cli;

import dev.glimpse.cli.gallery.GalleryPage;
import dev.glimpse.cli.gallery.GallerySource;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code glimpse gallery}: captions beside their pictures, in one self-contained HTML page. */
@Command(name = "gallery", mixinStandardHelpOptions = true,
        description = "Write one self-contained HTML page of captions with their thumbnails, and the dead letters.")
final class Gallery implements Callable<Integer> {
    @Option(names = "--from", required = true, description = "jsonl:FILE (caption and dead-letter JSON lines, as "
            + "'tail' prints them), parquet:DIR/ (a reprocess run's Parquet tables) or kafka:TOPIC[,TOPIC]@HOST:PORT "
            + "(committed records, from the beginning).")
    String from;
    @Option(names = "--images", description = "Folder of the images: each is found by its id as a relative path, "
            + "a file name, or a file name without extension.") Path images;
    @Option(names = "--out", required = true, description = "The HTML page to write.") Path out;
    @Option(names = "--limit", defaultValue = "2000", description = "Show at most this many captions (the counts "
            + "cover all).") int limit;
    @Option(names = "--timeout", defaultValue = "PT2M", description = "Longest wait for Kafka (ISO-8601).") Duration timeout;
    @Option(names = "--kafka-property", description = "A Kafka consumer property for kafka: sources (TLS, SASL), "
            + "e.g. --kafka-property security.protocol=SSL.") Map<String, String> kafkaProperties = Map.of();

    @Override
    public Integer call() throws Exception {
        if (limit < 1) {
            throw new IllegalArgumentException("--limit must be at least 1");
        }
        GallerySource source = GallerySource.parse(from);
        GalleryPage.Summary s = GalleryPage.write(source.read(kafkaProperties, timeout), images, from, limit, out);
        System.out.printf("wrote %s (%d KB): %d captions (%d with an image), %d dead letters%n",
                out, (s.bytes() + 1023) / 1024, s.captions(), s.withImage(), s.deadLetters());
        return 0;
    }
}
