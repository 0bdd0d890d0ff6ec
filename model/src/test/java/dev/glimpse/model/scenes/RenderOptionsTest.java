package dev.glimpse.model.scenes;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.EnumSet;
import java.util.HashSet;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

class RenderOptionsTest {

    private static final int DRAWS = 2000;

    @Test
    void shouldStayWithinWhatTheContractAllows() {
        Random rnd = new Random(3);
        for (int i = 0; i < DRAWS; i++) {
            RenderOptions o = RenderOptions.random(rnd);

            assertThat(o.canvas()).isBetween(64, 512);
            assertThat(o.jitterObject()).isBetween(0, 20);
            assertThat(o.jitterBackground()).isBetween(0, 10);
            assertThat(o.renderSize()).isBetween(48, 1024);
            if (o.format().equals(RenderOptions.JPEG)) {
                assertThat(o.jpegQuality()).isBetween(0.5f, 0.95f);
            }
        }
    }

    @Test
    void shouldCoverFormatsFiltersSizesAndAntialiasing() {
        Random rnd = new Random(4);
        Set<String> formats = new HashSet<>();
        Set<ResizeFilter> filters = EnumSet.noneOf(ResizeFilter.class);
        Set<Boolean> antialias = new HashSet<>();
        int direct = 0;
        int small = 0;
        int large = 0;
        for (int i = 0; i < DRAWS; i++) {
            RenderOptions o = RenderOptions.random(rnd);
            formats.add(o.format());
            antialias.add(o.antialias());
            if (o.preResize() == null) {
                direct++;
            } else {
                filters.add(o.preResize().filter());
            }
            small += o.canvas() <= 160 ? 1 : 0;
            large += o.canvas() > 400 ? 1 : 0;
        }

        assertThat(formats).containsExactlyInAnyOrder(RenderOptions.PNG, RenderOptions.JPEG);
        assertThat(filters).containsExactlyInAnyOrder(ResizeFilter.values());
        assertThat(antialias).containsExactlyInAnyOrder(true, false);
        assertThat(direct).isBetween(DRAWS * 6 / 10, DRAWS * 8 / 10);
        assertThat(small).isGreaterThan(DRAWS / 2);
        assertThat(large).isPositive();
    }

    @Test
    void shouldRejectJpegQualityGivenInPercent() {
        assertThatThrownBy(() -> new RenderOptions(128, false, 0, 0, RenderOptions.JPEG, 90f, null))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("jpegQuality");
    }

    @Test
    void shouldRejectUnknownFormats() {
        assertThatThrownBy(() -> new RenderOptions(128, false, 0, 0, "gif", 1f, null))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("format");
    }
}
