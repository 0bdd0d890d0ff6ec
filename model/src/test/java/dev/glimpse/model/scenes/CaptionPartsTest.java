package dev.glimpse.model.scenes;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Random;
import java.util.function.Function;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class CaptionPartsTest {

    @Test
    void shouldSplitThreeObjectsLeftToRight() {
        CaptionParts parts = CaptionParts.parse("a large blue square, a small orange circle"
                + " and a small green triangle on a black background").orElseThrow();

        assertThat(parts).isEqualTo(new CaptionParts(3,
                List.of("large", "small", "small"),
                List.of("blue", "orange", "green"),
                List.of("square", "circle", "triangle"),
                "black"));
    }

    @Test
    void shouldRoundTripRandomScenes() {
        for (int seed = 0; seed < 1000; seed++) {
            Scene scene = Scene.random(new Random(seed));

            CaptionParts parts = CaptionParts.parse(scene.caption()).orElseThrow();

            List<SceneObject> objects = scene.objects();
            assertThat(parts.count()).isEqualTo(objects.size());
            assertThat(parts.sizes()).isEqualTo(words(objects, o -> o.size().word()));
            assertThat(parts.colours()).isEqualTo(words(objects, o -> o.colour().word()));
            assertThat(parts.shapes()).isEqualTo(words(objects, o -> o.shape().word()));
            assertThat(parts.background()).isEqualTo(scene.background().word());
        }
    }

    @Test
    void shouldIgnoreSurroundingWhiteSpace() {
        assertThat(CaptionParts.parse("  a small red circle on a gray background\n"))
                .hasValueSatisfying(parts -> assertThat(parts.count()).isEqualTo(1));
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "",
        "a large red circle",
        "A large red circle on a white background",
        "a large red circle on a white background.",
        "a huge red circle on a white background",
        "a large pink circle on a white background",
        "a large red star on a white background",
        "a large red circle on a blue background",
        "a large red circle, a small blue square on a gray background",
        "a large red circle and a small blue square and a small green square on a gray background",
        "a small red circle, a small blue square, a small green square and a small red square"
                + " on a gray background",
    })
    void shouldRejectCaptionsOutsideTheGrammar(String caption) {
        assertThat(CaptionParts.parse(caption)).isEmpty();
    }

    private static List<String> words(
            List<SceneObject> objects, Function<SceneObject, String> word) {
        return objects.stream().map(word).toList();
    }
}
