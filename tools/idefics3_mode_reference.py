#!/usr/bin/env python3
"""Reference tiles for SmolVLM images that are not plain RGB, made with Pillow itself.

transformers' Idefics3ImageProcessor (v4.47.1, image_processing_idefics3.py) keeps an image in the
mode it was opened in until after the split: it resizes the numpy array through Pillow (an RGBA
array as mode RGBA, which Pillow resamples premultiplied; a one-band array, grey or palette
indices, as mode P, which Pillow resizes with NEAREST whatever the filter), crops the tiles, resizes
the global one, and only then runs its convert_to_rgb: the palette put back, RGBA alpha-composited
over opaque white, converted to RGB. This script replays that order with Pillow's own calls on a
few small PNGs and writes, for each, the PNG and its tiles as raw RGB bytes, which
Idefics3ModesTest compares byte for byte. A grey+alpha PNG makes transformers raise (it cannot tell
where a two-band array keeps its channels); Glimpse treats it as RGBA, and so does this script.

    /usr/bin/python3 tools/idefics3_mode_reference.py --out model/src/test/resources/idefics3-modes
"""
import argparse
import json
import math
import os

import numpy as np
from PIL import Image

LONGEST_EDGE = 96  # the tiny golden folder's size.longest_edge
TILE = 32  # its max_image_size.longest_edge


def to_pil(array, one_band):
    """The processor's to_pil_image: a one-band array becomes mode P."""
    if one_band:
        return Image.fromarray(array, mode="P")
    return Image.fromarray(array)


def resize(array, width, height, one_band):
    return np.array(to_pil(array, one_band).resize((width, height), resample=Image.LANCZOS))


def longest_edge_size(width, height):
    aspect = width / height
    if width >= height:
        width = LONGEST_EDGE
        height = int(width / aspect)
        height += height % 2
    else:
        height = LONGEST_EDGE
        width = int(height * aspect)
        width += width % 2
    return max(width, 1), max(height, 1)


def tile_multiple_size(width, height):
    aspect = width / height
    if width >= height:
        width = math.ceil(width / TILE) * TILE
        height = math.ceil(int(width / aspect) / TILE) * TILE
    else:
        height = math.ceil(height / TILE) * TILE
        width = math.ceil(int(height * aspect) / TILE) * TILE
    return width, height


def convert_to_rgb(array, palette):
    image = Image.fromarray(array, mode="P" if palette is not None else None)
    if palette is not None:
        image.putpalette(palette)
    rgba = image.convert("RGBA")
    background = Image.new("RGBA", rgba.size, (255, 255, 255))
    return np.array(Image.alpha_composite(background, rgba).convert("RGB"))


def tiles(image, splitting):
    palette = image.getpalette() if image.mode == "P" else None
    if image.mode == "LA":
        image = image.convert("RGBA")
    array = np.array(image)
    one_band = array.ndim == 2
    array = resize(array, *longest_edge_size(image.width, image.height), one_band)
    if not splitting:
        return [convert_to_rgb(resize(array, TILE, TILE, one_band), palette)], 0, 0
    height, width = array.shape[:2]
    width, height = tile_multiple_size(width, height)
    array = resize(array, width, height, one_band)
    if height <= TILE and width <= TILE:
        return [convert_to_rgb(array, palette)], 0, 0
    rows, cols = math.ceil(height / TILE), math.ceil(width / TILE)
    crop_h, crop_w = math.ceil(height / rows), math.ceil(width / cols)
    frames = [array[r * crop_h:(r + 1) * crop_h, c * crop_w:(c + 1) * crop_w] for r in range(rows) for c in range(cols)]
    frames.append(resize(array, TILE, TILE, one_band))
    return [convert_to_rgb(f, palette) for f in frames], rows, cols


def sources():
    """Small PNGs in the modes that differ from RGB: name -> image."""
    ys, xs = np.mgrid[0:30, 0:50]
    red = (xs * 5).astype(np.uint8)
    green = (ys * 8).astype(np.uint8)
    blue = ((xs + ys) * 3 % 256).astype(np.uint8)
    # Alpha 0 on the left, 255 on the right, a ramp between, and a transparent hole with a loud colour.
    alpha = np.clip((xs - 10) * 9, 0, 255).astype(np.uint8)
    alpha[12:18, 30:40] = 0
    red[12:18, 30:40] = 255
    rgba = Image.fromarray(np.dstack([red, green, blue, alpha]), mode="RGBA")
    grey_alpha = Image.fromarray(np.dstack([green + red // 2, alpha]), mode="LA")
    palette = rgba.convert("RGB").quantize(colors=16)
    palette.info["transparency"] = 3  # a transparent index, which transformers ignores
    grey = Image.fromarray((xs * 3 + ys * 4).astype(np.uint8), mode="L")
    tall = rgba.transpose(Image.Transpose.ROTATE_90)
    return {"rgba": rgba, "grey_alpha": grey_alpha, "palette_transparency": palette, "grey": grey, "rgba_tall": tall}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    out = parser.parse_args().out
    os.makedirs(out, exist_ok=True)
    facts = {}
    for name, image in sources().items():
        image.save(os.path.join(out, name + ".png"), transparency=image.info.get("transparency"))
        reread = Image.open(os.path.join(out, name + ".png"))
        reread.load()
        for splitting in (True, False):
            frames, rows, cols = tiles(reread, splitting)
            key = name + ("" if splitting else "_nosplit")
            with open(os.path.join(out, key + ".rgb"), "wb") as f:
                for frame in frames:
                    assert frame.shape == (TILE, TILE, 3), frame.shape
                    f.write(frame.tobytes())
            facts[key] = {"file": name + ".png", "mode": reread.mode, "splitting": splitting,
                          "tiles": len(frames), "rows": rows, "cols": cols}
    with open(os.path.join(out, "expected.json"), "w") as f:
        json.dump({"pillow": Image.__version__, "longest_edge": LONGEST_EDGE, "tile": TILE, "cases": facts}, f, indent=1)


if __name__ == "__main__":
    main()
