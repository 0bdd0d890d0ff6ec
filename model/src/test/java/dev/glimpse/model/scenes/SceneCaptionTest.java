package dev.glimpse.model.scenes;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;

class SceneCaptionTest {

    @Test
    void shouldCaptionOneObject() {
        Scene scene = new Scene(Background.WHITE, List.of(
                object(Shape.CIRCLE, SceneColour.RED, ObjectSize.LARGE, 0.5)));

        assertThat(scene.caption()).isEqualTo("a large red circle on a white background");
    }

    @Test
    void shouldJoinTwoObjectsWithAnd() {
        Scene scene = new Scene(Background.GRAY, List.of(
                object(Shape.TRIANGLE, SceneColour.BLUE, ObjectSize.SMALL, 0.2),
                object(Shape.SQUARE, SceneColour.YELLOW, ObjectSize.LARGE, 0.7)));

        assertThat(scene.caption())
                .isEqualTo("a small blue triangle and a large yellow square on a gray background");
    }

    @Test
    void shouldJoinThreeObjectsWithCommaAndAnd() {
        Scene scene = new Scene(Background.BLACK, List.of(
                object(Shape.SQUARE, SceneColour.BLUE, ObjectSize.LARGE, 0.2),
                object(Shape.CIRCLE, SceneColour.ORANGE, ObjectSize.SMALL, 0.5),
                object(Shape.TRIANGLE, SceneColour.GREEN, ObjectSize.SMALL, 0.8)));

        assertThat(scene.caption()).isEqualTo("a large blue square, a small orange circle"
                + " and a small green triangle on a black background");
    }

    @Test
    void shouldListObjectsLeftToRight() {
        SceneObject right = object(Shape.CIRCLE, SceneColour.PURPLE, ObjectSize.SMALL, 0.8);
        SceneObject left = object(Shape.SQUARE, SceneColour.RED, ObjectSize.SMALL, 0.1);
        SceneObject middle = object(Shape.TRIANGLE, SceneColour.GREEN, ObjectSize.LARGE, 0.45);

        Scene scene = new Scene(Background.WHITE, List.of(right, left, middle));

        assertThat(scene.objects()).containsExactly(left, middle, right);
        assertThat(scene.caption()).isEqualTo("a small red square, a large green triangle"
                + " and a small purple circle on a white background");
    }

    @Test
    void shouldRejectScenesWithoutOneToThreeObjects() {
        SceneObject one = object(Shape.CIRCLE, SceneColour.RED, ObjectSize.SMALL, 0.5);

        assertThatThrownBy(() -> new Scene(Background.WHITE, List.of()))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new Scene(Background.WHITE, List.of(one, one, one, one)))
                .isInstanceOf(IllegalArgumentException.class);
    }

    private static SceneObject object(Shape shape, SceneColour colour, ObjectSize size, double cx) {
        return new SceneObject(shape, colour, size, cx, 0.5, size.minFraction());
    }
}
