package dev.glimpse.model;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * SmolVLM's processor on PNGs that are not plain RGB, against tiles that Pillow 9.4 made in the
 * order transformers' Idefics3 processor runs (tools/idefics3_mode_reference.py; the files and
 * their {@code expected.json} are in {@code idefics3-modes/}): RGBA resized premultiplied and
 * composited over white per tile, grey and palette images resized with NEAREST, a palette's
 * transparent index ignored, grey+alpha treated as RGBA.
 */
class Idefics3ModesTest {
    static Path modes() throws Exception {
        return Path.of(Idefics3ModesTest.class.getResource("/idefics3-modes/expected.json").toURI()).getParent();
    }

    @Test
    void shouldMakeTheTilesPillowMakesForEveryModeByteForByte() throws Exception {
        Path dir = modes();
        JsonNode expected = new ObjectMapper().readTree(dir.resolve("expected.json").toFile());
        Idefics3Settings settings = Idefics3Config.read(SmolVlmReferenceParityTest.golden()).idefics3;
        assertThat(settings.longestEdge()).isEqualTo(expected.get("longest_edge").asInt());
        assertThat(settings.tileSize()).isEqualTo(expected.get("tile").asInt());
        int tile = settings.tileSize();
        List<String> checked = new ArrayList<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = expected.get("cases").fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> c = it.next();
            JsonNode facts = c.getValue();
            RgbImage image = decode(dir.resolve(facts.get("file").asText()), settings);
            boolean splitting = facts.get("splitting").asBoolean();
            Idefics3ImageProcessor.Split split = new Idefics3ImageProcessor(settings.withImageSplitting(splitting)).split(image);
            assertThat(split.tiles()).as(c.getKey()).hasSize(facts.get("tiles").asInt());
            assertThat(split.rows()).as(c.getKey()).isEqualTo(facts.get("rows").asInt());
            assertThat(split.cols()).as(c.getKey()).isEqualTo(facts.get("cols").asInt());
            byte[] reference = Files.readAllBytes(dir.resolve(c.getKey() + ".rgb"));
            for (int t = 0; t < split.tiles().length; t++) {
                byte[] want = Arrays.copyOfRange(reference, t * 3 * tile * tile, (t + 1) * 3 * tile * tile);
                assertThat(split.tiles()[t].rgb()).as("%s tile %d", c.getKey(), t).isEqualTo(want);
            }
            checked.add(c.getKey());
        }
        assertThat(checked).contains("rgba", "rgba_nosplit", "rgba_tall", "grey_alpha", "palette_transparency", "grey");
    }

    @Test
    void shouldDecodeAlphaAsPillowOpensEachPng() throws Exception {
        Path dir = modes();
        Idefics3Settings settings = Idefics3Config.read(SmolVlmReferenceParityTest.golden()).idefics3;
        RgbImage rgba = decode(dir.resolve("rgba.png"), settings);
        RgbImage greyAlpha = decode(dir.resolve("grey_alpha.png"), settings);
        RgbImage palette = decode(dir.resolve("palette_transparency.png"), settings);
        RgbImage grey = decode(dir.resolve("grey.png"), settings);
        assertThat(rgba.alpha()).isNotNull();
        assertThat(rgba.singleBand()).isFalse();
        assertThat(greyAlpha.alpha()).isNotNull();
        assertThat(palette.alpha()).isNull(); // its transparent index is not an alpha channel for the processor
        assertThat(palette.singleBand()).isTrue();
        assertThat(grey.alpha()).isNull();
        assertThat(grey.singleBand()).isTrue();
    }

    @Test
    void shouldDifferFromTheAlphaDroppedAndFilteredImageWhereItMatters() throws Exception {
        // The test images are made so that ignoring alpha (or resizing a palette with the filter)
        // changes tiles: the comparison above would catch an implementation that did either.
        Path dir = modes();
        Idefics3Settings settings = Idefics3Config.read(SmolVlmReferenceParityTest.golden()).idefics3;
        Idefics3ImageProcessor processor = new Idefics3ImageProcessor(settings);
        for (String file : List.of("rgba.png", "palette_transparency.png", "grey.png")) {
            RgbImage image = decode(dir.resolve(file), settings);
            RgbImage plain = new RgbImage(image.width(), image.height(), image.rgb());
            RgbImage[] modeTiles = processor.split(image).tiles();
            RgbImage[] plainTiles = processor.split(plain).tiles();
            boolean differs = false;
            for (int t = 0; t < modeTiles.length; t++) {
                differs |= !Arrays.equals(modeTiles[t].rgb(), plainTiles[t].rgb());
            }
            assertThat(differs).as(file).isTrue();
        }
    }

    private static RgbImage decode(Path png, Idefics3Settings settings) throws Exception {
        return ImagePreprocessor.decodeRgb(Files.readAllBytes(png), ImagePreprocessor.Limits.DEFAULT, settings.longestEdge());
    }
}
