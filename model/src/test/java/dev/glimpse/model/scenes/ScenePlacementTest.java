package dev.glimpse.model.scenes;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.EnumSet;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

class ScenePlacementTest {

    private static final int SEEDS = 1000;

    @Test
    void shouldKeepObjectsInsideTheCanvasWithAMargin() {
        for (int seed = 0; seed < SEEDS; seed++) {
            for (SceneObject o : Scene.random(new Random(seed)).objects()) {
                assertThat(o.left()).as("seed %d", seed).isGreaterThanOrEqualTo(0.01);
                assertThat(o.top()).as("seed %d", seed).isGreaterThanOrEqualTo(0.01);
                assertThat(o.right()).as("seed %d", seed).isLessThanOrEqualTo(0.99);
                assertThat(o.bottom()).as("seed %d", seed).isLessThanOrEqualTo(0.99);
            }
        }
    }

    @Test
    void shouldKeepObjectsApartAsTheContractAsks() {
        for (int seed = 0; seed < SEEDS; seed++) {
            List<SceneObject> objects = Scene.random(new Random(seed)).objects();
            for (int i = 0; i < objects.size(); i++) {
                for (int j = i + 1; j < objects.size(); j++) {
                    SceneObject a = objects.get(i);
                    SceneObject b = objects.get(j);
                    assertThat(a.gapTo(b)).as("seed %d", seed).isGreaterThanOrEqualTo(0.03);
                    assertThat(b.cx() - a.cx()).as("seed %d", seed).isGreaterThanOrEqualTo(0.08);
                }
            }
        }
    }

    @Test
    void shouldKeepEachSideWithinItsSizeClass() {
        for (int seed = 0; seed < SEEDS; seed++) {
            for (SceneObject o : Scene.random(new Random(seed)).objects()) {
                assertThat(o.side()).isBetween(o.size().minFraction(), o.size().maxFraction());
            }
        }
    }

    @Test
    void shouldDrawEveryCountAndAttribute() {
        Set<Integer> counts = new HashSet<>();
        Set<Background> backgrounds = EnumSet.noneOf(Background.class);
        Set<Shape> shapes = EnumSet.noneOf(Shape.class);
        Set<SceneColour> colours = EnumSet.noneOf(SceneColour.class);
        Set<ObjectSize> sizes = EnumSet.noneOf(ObjectSize.class);
        for (int seed = 0; seed < SEEDS; seed++) {
            Scene scene = Scene.random(new Random(seed));
            counts.add(scene.objects().size());
            backgrounds.add(scene.background());
            scene.objects().forEach(o -> {
                shapes.add(o.shape());
                colours.add(o.colour());
                sizes.add(o.size());
            });
        }

        assertThat(counts).containsExactlyInAnyOrder(1, 2, 3);
        assertThat(backgrounds).containsExactlyInAnyOrder(Background.values());
        assertThat(shapes).containsExactlyInAnyOrder(Shape.values());
        assertThat(colours).containsExactlyInAnyOrder(SceneColour.values());
        assertThat(sizes).containsExactlyInAnyOrder(ObjectSize.values());
    }

    @Test
    void shouldMeasureGapAlongTheBetterAxis() {
        SceneObject a = square(0.2, 0.2);
        SceneObject below = square(0.25, 0.5);

        assertThat(a.gapTo(below)).isCloseTo(0.2, within(1e-12));
        assertThat(below.gapTo(a)).isCloseTo(0.2, within(1e-12));
        assertThat(a.gapTo(square(0.22, 0.25))).isNegative();
    }

    private static SceneObject square(double cx, double cy) {
        return new SceneObject(Shape.SQUARE, SceneColour.RED, ObjectSize.SMALL, cx, cy, 0.1);
    }
}
