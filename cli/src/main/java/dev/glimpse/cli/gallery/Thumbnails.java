package dev.glimpse.cli.gallery;

import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;
import javax.imageio.IIOImage;
import javax.imageio.ImageIO;
import javax.imageio.ImageReadParam;
import javax.imageio.ImageReader;
import javax.imageio.ImageWriteParam;
import javax.imageio.ImageWriter;
import javax.imageio.stream.ImageInputStream;
import javax.imageio.stream.ImageOutputStream;

/**
 * Finds an image's file in a folder by its id and turns it into a small JPEG data URI. Only files
 * found by walking the folder are candidates, so an id like {@code ../../etc/passwd} matches nothing
 * outside it. Large images are subsampled while they are read, so a folder of photos stays cheap.
 */
final class Thumbnails {
    /** Longest side of a thumbnail in pixels: sharp at the page's 200 px cards on most screens. */
    static final int MAX_SIDE = 240;
    static final float JPEG_QUALITY = 0.8f;
    /** Files larger than this, or declaring more pixels, are left out (the page says "no image"). */
    static final long MAX_FILE_BYTES = 50L << 20;
    static final long MAX_PIXELS = 100_000_000L;
    private static final int MAX_FILES = 1_000_000;

    private final Map<String, Path> byRelativePath = new HashMap<>();
    private final Map<String, Path> byName = new HashMap<>();
    private final Map<String, Path> byStem = new HashMap<>();

    /** Indexes the files under {@code dir} (null: no images). */
    Thumbnails(Path dir) {
        if (dir == null) {
            return;
        }
        if (!Files.isDirectory(dir)) {
            throw new IllegalArgumentException("--images: " + dir + " is not a folder");
        }
        try (Stream<Path> files = Files.walk(dir)) {
            files.filter(Files::isRegularFile).limit(MAX_FILES).forEach(f -> {
                String name = f.getFileName().toString();
                byRelativePath.putIfAbsent(dir.relativize(f).toString().replace('\\', '/'), f);
                byName.putIfAbsent(name, f);
                int dot = name.lastIndexOf('.');
                byStem.putIfAbsent(dot > 0 ? name.substring(0, dot) : name, f);
            });
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list " + dir, e);
        }
    }

    /** The file of image {@code id}: by relative path, by file name, else by file name without extension. */
    Optional<Path> find(String id) {
        if (id == null) {
            return Optional.empty();
        }
        // An id that is a path or a URI (reprocessed files) also matches by its last segment.
        String last = id.substring(id.lastIndexOf('/') + 1);
        for (String key : new String[] {id, last}) {
            for (Map<String, Path> index : List.of(byRelativePath, byName, byStem)) {
                Path p = index.get(key);
                if (p != null) {
                    return Optional.of(p);
                }
            }
        }
        return Optional.empty();
    }

    /** A {@code data:image/jpeg;base64,...} thumbnail of image {@code id}, if its file is found and decodes. */
    Optional<String> dataUri(String id) {
        return find(id).flatMap(Thumbnails::thumbnail);
    }

    static Optional<String> thumbnail(Path file) {
        try {
            if (Files.size(file) > MAX_FILE_BYTES) {
                return Optional.empty();
            }
            BufferedImage image = read(file);
            return image == null ? Optional.empty() : Optional.of("data:image/jpeg;base64,"
                    + Base64.getEncoder().encodeToString(jpeg(scaled(image))));
        } catch (IOException | RuntimeException e) {
            return Optional.empty();
        }
    }

    /** Decodes the first frame, subsampled to at most twice the thumbnail size; null if no reader fits. */
    private static BufferedImage read(Path file) throws IOException {
        try (ImageInputStream in = ImageIO.createImageInputStream(file.toFile())) {
            Iterator<ImageReader> readers = in == null ? null : ImageIO.getImageReaders(in);
            if (readers == null || !readers.hasNext()) {
                return null;
            }
            ImageReader reader = readers.next();
            try {
                reader.setInput(in, true, true);
                long w = reader.getWidth(0);
                long h = reader.getHeight(0);
                if (w * h > MAX_PIXELS) {
                    return null;
                }
                ImageReadParam param = reader.getDefaultReadParam();
                int step = (int) Math.max(1, Math.max(w, h) / (2L * MAX_SIDE));
                param.setSourceSubsampling(step, step, 0, 0);
                return reader.read(0, param);
            } finally {
                reader.dispose();
            }
        }
    }

    /** At most {@link #MAX_SIDE} on the longer side, RGB on white (JPEG has no alpha). */
    private static BufferedImage scaled(BufferedImage src) {
        double scale = Math.min(1.0, (double) MAX_SIDE / Math.max(src.getWidth(), src.getHeight()));
        int w = Math.max(1, (int) Math.round(src.getWidth() * scale));
        int h = Math.max(1, (int) Math.round(src.getHeight() * scale));
        BufferedImage out = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = out.createGraphics();
        try {
            g.setRenderingHint(RenderingHints.KEY_INTERPOLATION, RenderingHints.VALUE_INTERPOLATION_BICUBIC);
            g.setRenderingHint(RenderingHints.KEY_RENDERING, RenderingHints.VALUE_RENDER_QUALITY);
            g.setColor(Color.WHITE);
            g.fillRect(0, 0, w, h);
            g.drawImage(src, 0, 0, w, h, null);
        } finally {
            g.dispose();
        }
        return out;
    }

    private static byte[] jpeg(BufferedImage image) throws IOException {
        ImageWriter writer = ImageIO.getImageWritersByFormatName("jpeg").next();
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ImageOutputStream out = ImageIO.createImageOutputStream(bytes)) {
            writer.setOutput(out);
            ImageWriteParam param = writer.getDefaultWriteParam();
            param.setCompressionMode(ImageWriteParam.MODE_EXPLICIT);
            param.setCompressionQuality(JPEG_QUALITY);
            writer.write(null, new IIOImage(image, null, null), param);
        } finally {
            writer.dispose();
        }
        return bytes.toByteArray();
    }
}
