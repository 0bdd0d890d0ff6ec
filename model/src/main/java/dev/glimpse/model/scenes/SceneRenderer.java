package dev.glimpse.model.scenes;

import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.geom.Ellipse2D;
import java.awt.geom.Path2D;
import java.awt.geom.Rectangle2D;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Random;
import javax.imageio.IIOImage;
import javax.imageio.ImageIO;
import javax.imageio.ImageWriteParam;
import javax.imageio.ImageWriter;
import javax.imageio.stream.ImageOutputStream;
import javax.imageio.stream.MemoryCacheImageOutputStream;

/** Draws scenes with Java2D and encodes them as PNG or JPEG. */
public final class SceneRenderer {

    private SceneRenderer() {}

    /** Draws the scene as a {@code canvas} x {@code canvas} RGB image; rnd drives colour jitter. */
    public static BufferedImage render(Scene scene, RenderOptions opt, Random rnd) {
        int size = opt.renderSize();
        BufferedImage image = new BufferedImage(size, size, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = image.createGraphics();
        try {
            g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, opt.antialias()
                    ? RenderingHints.VALUE_ANTIALIAS_ON
                    : RenderingHints.VALUE_ANTIALIAS_OFF);
            // Keeps edges at their exact sub-pixel place rather than snapped for looks.
            g.setRenderingHint(RenderingHints.KEY_STROKE_CONTROL, RenderingHints.VALUE_STROKE_PURE);
            g.setColor(jitter(scene.background().nominal(), opt.jitterBackground(), rnd));
            g.fillRect(0, 0, size, size);
            for (SceneObject object : scene.objects()) {
                g.setColor(jitter(object.colour().nominal(), opt.jitterObject(), rnd));
                g.fill(outline(object, size));
            }
        } finally {
            g.dispose();
        }
        PreResize preResize = opt.preResize();
        return preResize == null ? image : preResize.filter().resize(image, opt.canvas());
    }

    /** Encodes the image in the options' format and, for JPEG, quality. */
    public static byte[] encode(BufferedImage image, RenderOptions opt) {
        ImageWriter writer = ImageIO.getImageWritersByFormatName(opt.format()).next();
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        // An in-memory stream: ImageIO's default would spill to a temporary file.
        try (ImageOutputStream out = new MemoryCacheImageOutputStream(bytes)) {
            writer.setOutput(out);
            ImageWriteParam param = writer.getDefaultWriteParam();
            if (RenderOptions.JPEG.equals(opt.format())) {
                param.setCompressionMode(ImageWriteParam.MODE_EXPLICIT);
                param.setCompressionQuality(opt.jpegQuality());
            }
            writer.write(null, new IIOImage(image, null, null), param);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot encode scene as " + opt.format(), e);
        } finally {
            writer.dispose();
        }
        return bytes.toByteArray();
    }

    private static java.awt.Shape outline(SceneObject object, int size) {
        double left = object.left() * size;
        double top = object.top() * size;
        double side = object.side() * size;
        return switch (object.shape()) {
            case CIRCLE -> new Ellipse2D.Double(left, top, side, side);
            case SQUARE -> new Rectangle2D.Double(left, top, side, side);
            case TRIANGLE -> {
                Path2D.Double path = new Path2D.Double();
                path.moveTo(left + side / 2, top);
                path.lineTo(left + side, top + side);
                path.lineTo(left, top + side);
                path.closePath();
                yield path;
            }
        };
    }

    /** Moves each channel by a uniform amount in -max..max, clamped to 0..255. */
    private static Color jitter(Color nominal, int max, Random rnd) {
        return new Color(
                shift(nominal.getRed(), max, rnd),
                shift(nominal.getGreen(), max, rnd),
                shift(nominal.getBlue(), max, rnd));
    }

    private static int shift(int channel, int max, Random rnd) {
        return Math.max(0, Math.min(255, channel + rnd.nextInt(2 * max + 1) - max));
    }
}
