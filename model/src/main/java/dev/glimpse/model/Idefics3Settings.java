package dev.glimpse.model;

import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * What an Idefics3 (SmolVLM) folder's processor needs besides the model's shapes, read from
 * {@code preprocessor_config.json}, {@code processor_config.json} and the chat template by
 * {@link Idefics3Config}.
 *
 * @param imageTokenId the id of {@code <image>}, whose positions take the connector's output
 * @param imageSeqLen image tokens per tile, {@code (image_size / patch)² / scale_factor²}
 * @param doResize whether the longest edge is first resized to {@code longestEdge}
 * @param longestEdge {@code size.longest_edge}: images are resized (up or down) to this longest edge
 * @param tileSize {@code max_image_size.longest_edge}, the vision tower's input side
 * @param doImageSplitting whether an image becomes a grid of tiles plus the global image, or the
 *     global image alone
 * @param resample Pillow's filter number ({@code 1} = LANCZOS)
 * @param rescaleFactor pixels are multiplied by this (1/255) ...
 * @param imageMean ... then normalised with this mean ...
 * @param imageStd ... and standard deviation
 * @param chatTemplate the Jinja chat template of the folder
 */
public record Idefics3Settings(
        @JsonProperty("image_token_id") int imageTokenId,
        @JsonProperty("image_seq_len") int imageSeqLen,
        @JsonProperty("do_resize") boolean doResize,
        @JsonProperty("longest_edge") int longestEdge,
        @JsonProperty("tile_size") int tileSize,
        @JsonProperty("do_image_splitting") boolean doImageSplitting,
        @JsonProperty("resample") int resample,
        @JsonProperty("do_rescale") boolean doRescale,
        @JsonProperty("rescale_factor") double rescaleFactor,
        @JsonProperty("do_normalize") boolean doNormalize,
        @JsonProperty("image_mean") float[] imageMean,
        @JsonProperty("image_std") float[] imageStd,
        @JsonProperty("chat_template") String chatTemplate) {

    /** The same settings with image splitting on or off. */
    public Idefics3Settings withImageSplitting(boolean split) {
        return new Idefics3Settings(imageTokenId, imageSeqLen, doResize, longestEdge, tileSize, split, resample,
                doRescale, rescaleFactor, doNormalize, imageMean, imageStd, chatTemplate);
    }
}
