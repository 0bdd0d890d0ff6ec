package dev.glimpse.model.scenes;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * A caption of the scenes grammar taken apart, so that evaluation can score count, size,
 * colour, shape and background separately. Lists hold caption words, left to right.
 */
public record CaptionParts(
        int count,
        List<String> sizes,
        List<String> colours,
        List<String> shapes,
        String background) {

    private static final String OBJECT = "a (" + words(ObjectSize.values(), ObjectSize::word)
            + ") (" + words(SceneColour.values(), SceneColour::word)
            + ") (" + words(Shape.values(), Shape::word) + ")";

    // "A", "A and B" or "A, B and C", then the background.
    private static final Pattern CAPTION = Pattern.compile(OBJECT
            + "(?:(?:, " + OBJECT + ")? and " + OBJECT + ")?"
            + " on a (" + words(Background.values(), Background::word) + ") background");

    private static final int GROUPS_PER_OBJECT = 3;

    public CaptionParts {
        sizes = List.copyOf(sizes);
        colours = List.copyOf(colours);
        shapes = List.copyOf(shapes);
        Objects.requireNonNull(background, "background");
        if (sizes.size() != count || colours.size() != count || shapes.size() != count) {
            throw new IllegalArgumentException("every attribute list needs " + count + " entries");
        }
    }

    /** Takes apart a caption (surrounding white space ignored); empty if it is not grammatical. */
    public static Optional<CaptionParts> parse(String caption) {
        Matcher m = CAPTION.matcher(caption.strip());
        if (!m.matches()) {
            return Optional.empty();
        }
        List<String> sizes = new ArrayList<>();
        List<String> colours = new ArrayList<>();
        List<String> shapes = new ArrayList<>();
        for (int first = 1; first < m.groupCount(); first += GROUPS_PER_OBJECT) {
            if (m.group(first) != null) {
                sizes.add(m.group(first));
                colours.add(m.group(first + 1));
                shapes.add(m.group(first + 2));
            }
        }
        return Optional.of(new CaptionParts(
                sizes.size(), sizes, colours, shapes, m.group(m.groupCount())));
    }

    private static <T> String words(T[] values, Function<T, String> word) {
        return Arrays.stream(values).map(word).collect(Collectors.joining("|"));
    }
}
