package dev.glimpse.model.scenes;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.util.List;
import java.util.stream.LongStream;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;

class SceneGeneratorTest {

    private static final int SAMPLES = 40;

    @Test
    void shouldGiveByteIdenticalSamplesForTheSameSeedAndIndex() {
        SceneGenerator first = new SceneGenerator(42);
        SceneGenerator second = new SceneGenerator(42);
        for (long index = 0; index < SAMPLES; index++) {
            SceneSample a = first.sample(index);
            SceneSample b = second.sample(index);

            assertThat(b.encoded()).isEqualTo(a.encoded());
            assertThat(b.scene()).isEqualTo(a.scene());
            assertThat(b.options()).isEqualTo(a.options());
        }
    }

    @Test
    void shouldGiveTheSameSamplesOnManyThreadsInAnyOrder() {
        SceneGenerator gen = new SceneGenerator(7);
        List<byte[]> inOrder = LongStream.range(0, SAMPLES)
                .mapToObj(i -> gen.sample(i).encoded()).toList();

        List<byte[]> parallelReversed = LongStream.range(0, SAMPLES).parallel()
                .map(i -> SAMPLES - 1 - i)
                .mapToObj(i -> gen.sample(i).encoded()).toList();

        for (int i = 0; i < SAMPLES; i++) {
            assertThat(parallelReversed.get(SAMPLES - 1 - i)).isEqualTo(inOrder.get(i));
        }
    }

    @Test
    void shouldGiveDifferentSamplesForNeighbouringSeedsAndIndices() {
        SceneSample base = new SceneGenerator(5).sample(3);

        assertThat(new SceneGenerator(5).sample(4).encoded()).isNotEqualTo(base.encoded());
        assertThat(new SceneGenerator(6).sample(3).encoded()).isNotEqualTo(base.encoded());
    }

    @Test
    void shouldNameSamplesBySeedAndIndex() {
        SceneSample sample = new SceneGenerator(11).sample(12);

        assertThat(sample.id()).isEqualTo("scene-11-12");
        assertThat(sample.fileName()).isIn("scene-11-12.png", "scene-11-12.jpg");
        assertThat(sample.caption()).isEqualTo(sample.scene().caption());
    }

    @Test
    void shouldEncodeEverySampleAtItsCanvasSize() throws IOException {
        SceneGenerator gen = new SceneGenerator(9);
        for (long index = 0; index < SAMPLES; index++) {
            SceneSample sample = gen.sample(index);

            BufferedImage image = ImageIO.read(new ByteArrayInputStream(sample.encoded()));

            assertThat(image.getWidth()).isEqualTo(sample.options().canvas());
            assertThat(image.getHeight()).isEqualTo(sample.options().canvas());
        }
    }

    @Test
    void shouldDrawObjectCountsByTheGivenWeightsAndUniformlyWithoutThem() {
        SceneGenerator uniform = new SceneGenerator(5);
        SceneGenerator unweighted = new SceneGenerator(5, null);
        SceneGenerator onlyThree = new SceneGenerator(5, new double[] {0, 0, 1});
        SceneGenerator leaning = new SceneGenerator(5, new double[] {1, 2, 3});
        int[] counts = new int[4];
        for (long index = 0; index < 600; index++) {
            if (index < SAMPLES) {
                assertThat(unweighted.sample(index).encoded()).isEqualTo(uniform.sample(index).encoded());
                assertThat(onlyThree.sample(index).scene().objects()).hasSize(3);
            }
            counts[leaning.sample(index).scene().objects().size()]++;
        }
        // Expected 100 / 200 / 300 of 600.
        assertThat(counts[1]).isBetween(60, 140);
        assertThat(counts[2]).isBetween(150, 250);
        assertThat(counts[3]).isBetween(250, 350);
        assertThatThrownBy(() -> new SceneGenerator(5, new double[] {1, -1, 1}))
                .hasMessageContaining("non-negative");
        assertThatThrownBy(() -> new SceneGenerator(5, new double[] {1, 2}))
                .hasMessageContaining("3 non-negative");
    }

    @Test
    void shouldDrawTheHardShareFromTheHardCornerAndLeaveTheRestAsThePlainGenerator() {
        SceneGenerator plain = new SceneGenerator(8, null);
        SceneGenerator none = new SceneGenerator(8, null, 0);
        SceneGenerator allHard = new SceneGenerator(8, null, 1);
        SceneGenerator half = new SceneGenerator(8, null, 0.5);
        int small = 0;
        int objects = 0;
        int hardLooking = 0;
        for (long index = 0; index < 400; index++) {
            if (index < SAMPLES) {
                assertThat(none.sample(index).encoded()).isEqualTo(plain.sample(index).encoded());
            }
            SceneSample hard = allHard.sample(index);
            RenderOptions options = hard.options();
            assertThat(options.canvas()).isBetween(RenderOptions.MIN_CANVAS, RenderOptions.MAX_HARD_CANVAS);
            if (RenderOptions.JPEG.equals(options.format())) {
                assertThat(Math.round(options.jpegQuality() * 100))
                        .isBetween(RenderOptions.MIN_JPEG_PERCENT, RenderOptions.MAX_HARD_JPEG_PERCENT);
            }
            for (SceneObject object : hard.scene().objects()) {
                objects++;
                small += object.size() == ObjectSize.SMALL ? 1 : 0;
            }
            RenderOptions mixed = half.sample(index).options();
            hardLooking += mixed.canvas() <= RenderOptions.MAX_HARD_CANVAS && (RenderOptions.PNG.equals(mixed.format())
                    || mixed.jpegQuality() <= RenderOptions.MAX_HARD_JPEG_PERCENT / 100f) ? 1 : 0;
        }
        // Three in four objects small in hard scenes.
        assertThat((double) small / objects).isBetween(0.68, 0.82);
        // Half hard (all of them hard-looking), plus plain scenes that happen to look hard
        // (about 0.27 of plain draws: canvas <= 128 and PNG or quality <= 70, so about 55).
        assertThat(hardLooking).isBetween(200 + 30, 200 + 80);
        assertThatThrownBy(() -> new SceneGenerator(8, null, 1.5)).hasMessageContaining("hard share");
    }
}
