package dev.glimpse.model.scenes;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.awt.Color;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class SceneRendererTest {

    private static final int CANVAS = 200;

    private static final SceneObject CIRCLE =
            new SceneObject(Shape.CIRCLE, SceneColour.RED, ObjectSize.SMALL, 0.15, 0.5, 0.15);
    private static final SceneObject SQUARE =
            new SceneObject(Shape.SQUARE, SceneColour.BLUE, ObjectSize.LARGE, 0.45, 0.25, 0.3);
    private static final SceneObject TRIANGLE =
            new SceneObject(Shape.TRIANGLE, SceneColour.YELLOW, ObjectSize.LARGE, 0.78, 0.7, 0.36);
    private static final Scene SCENE =
            new Scene(Background.GRAY, List.of(CIRCLE, SQUARE, TRIANGLE));

    private static final RenderOptions EXACT_PNG =
            new RenderOptions(CANVAS, false, 0, 0, RenderOptions.PNG, 1f, null);

    @Test
    void shouldPaintNominalColoursWithoutJitterOrAntialiasing() throws IOException {
        BufferedImage image = renderAndDecode(SCENE, EXACT_PNG, new Random(7));

        assertThat(colourAt(image, 0, 0)).isEqualTo(Background.GRAY.nominal());
        assertThat(colourAt(image, CANVAS - 1, CANVAS - 1)).isEqualTo(Background.GRAY.nominal());
        assertThat(colourAt(image, CIRCLE.cx(), CIRCLE.cy())).isEqualTo(SceneColour.RED.nominal());
        assertThat(colourAt(image, SQUARE.cx(), SQUARE.cy())).isEqualTo(SceneColour.BLUE.nominal());
        // The triangle is narrow at its centre's height; a little lower it is wide.
        assertThat(colourAt(image, TRIANGLE.cx(), TRIANGLE.cy() + TRIANGLE.side() / 4))
                .isEqualTo(SceneColour.YELLOW.nominal());
    }

    @Test
    void shouldDrawTriangleApexUpWithAFullWidthBase() throws IOException {
        BufferedImage image = renderAndDecode(SCENE, EXACT_PNG, new Random(7));
        double nearTop = TRIANGLE.top() + 0.02;
        double nearBottom = TRIANGLE.bottom() - 0.01;
        Color yellow = SceneColour.YELLOW.nominal();

        assertThat(colourAt(image, TRIANGLE.cx(), nearTop)).isEqualTo(yellow);
        assertThat(colourAt(image, TRIANGLE.left() + 0.01, nearTop))
                .isEqualTo(Background.GRAY.nominal());
        assertThat(colourAt(image, TRIANGLE.left() + 0.01, nearBottom)).isEqualTo(yellow);
        assertThat(colourAt(image, TRIANGLE.right() - 0.01, nearBottom)).isEqualTo(yellow);
    }

    @Test
    void shouldDrawObjectsAtTheirSide() throws IOException {
        BufferedImage image = renderAndDecode(SCENE, EXACT_PNG, new Random(7));

        assertThat(runAcross(image, SQUARE)).isCloseTo((int) (SQUARE.side() * CANVAS), within(1));
        assertThat(runAcross(image, CIRCLE)).isCloseTo((int) (CIRCLE.side() * CANVAS), within(1));
    }

    @Test
    void shouldKeepColourJitterWithinItsBounds() throws IOException {
        RenderOptions jittered =
                new RenderOptions(CANVAS, false, 20, 10, RenderOptions.PNG, 1f, null);
        for (int seed = 0; seed < 50; seed++) {
            BufferedImage image = renderAndDecode(SCENE, jittered, new Random(seed));

            assertWithin(colourAt(image, 0, 0), Background.GRAY.nominal(), 10);
            assertWithin(colourAt(image, SQUARE.cx(), SQUARE.cy()), SceneColour.BLUE.nominal(), 20);
        }
    }

    static Stream<Arguments> encodings() {
        Stream<PreResize> resizes = Stream.concat(Stream.of((PreResize) null),
                Stream.of(ResizeFilter.values()).flatMap(f ->
                        Stream.of(new PreResize(61, f), new PreResize(333, f))));
        return resizes.flatMap(resize -> Stream.of(
                Arguments.of(RenderOptions.PNG, resize), Arguments.of(RenderOptions.JPEG, resize)));
    }

    @ParameterizedTest
    @MethodSource("encodings")
    void shouldDecodeBackToTheRequestedCanvas(String format, PreResize preResize)
            throws IOException {
        RenderOptions options = new RenderOptions(131, true, 5, 5, format, 0.6f, preResize);

        BufferedImage image = renderAndDecode(SCENE, options, new Random(7));

        assertThat(image.getWidth()).isEqualTo(131);
        assertThat(image.getHeight()).isEqualTo(131);
        assertWithin(colourAt(image, SQUARE.cx(), SQUARE.cy()), SceneColour.BLUE.nominal(), 30);
    }

    @Test
    void shouldCompressHarderAtLowerJpegQuality() {
        BufferedImage image = SceneRenderer.render(SCENE, EXACT_PNG, new Random(1));

        int low = SceneRenderer.encode(image, jpeg(0.5f)).length;
        int high = SceneRenderer.encode(image, jpeg(0.95f)).length;

        assertThat(low).isLessThan(high);
    }

    private static RenderOptions jpeg(float quality) {
        return new RenderOptions(CANVAS, false, 0, 0, RenderOptions.JPEG, quality, null);
    }

    private static BufferedImage renderAndDecode(Scene scene, RenderOptions options, Random rnd)
            throws IOException {
        byte[] encoded = SceneRenderer.encode(SceneRenderer.render(scene, options, rnd), options);
        return ImageIO.read(new ByteArrayInputStream(encoded));
    }

    private static Color colourAt(BufferedImage image, double x, double y) {
        return colourAt(image, (int) (x * image.getWidth()), (int) (y * image.getHeight()));
    }

    private static Color colourAt(BufferedImage image, int x, int y) {
        return new Color(image.getRGB(x, y));
    }

    /** Pixels of the object's colour in the row through its centre. */
    private static int runAcross(BufferedImage image, SceneObject object) {
        int y = (int) (object.cy() * CANVAS);
        int rgb = object.colour().nominal().getRGB();
        int run = 0;
        for (int x = 0; x < CANVAS; x++) {
            if (image.getRGB(x, y) == rgb) {
                run++;
            }
        }
        return run;
    }

    private static void assertWithin(Color actual, Color nominal, int tolerance) {
        assertThat(actual.getRed()).isCloseTo(nominal.getRed(), within(tolerance));
        assertThat(actual.getGreen()).isCloseTo(nominal.getGreen(), within(tolerance));
        assertThat(actual.getBlue()).isCloseTo(nominal.getBlue(), within(tolerance));
    }
}
