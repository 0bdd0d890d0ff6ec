#!/usr/bin/env python3
"""Draws scenes of ../SCENES.md with Pillow, independently of Glimpse's Java renderer.

A second renderer checks that the built-in model learned the scenes, not one renderer's pixels:
other rasterisation and anti-aliasing (Pillow's, supersampled), another JPEG encoder (libjpeg,
with and without chroma subsampling), other resize filters. Writes DIR/<id>.png|jpg and
DIR/manifest.jsonl ({"id", "file", "caption"}), the layout `bin/glimpse scenes` writes and
`bin/glimpse eval --manifest DIR/manifest.jsonl` reads.

    python3 tools/pil_scenes.py --count 500 --seed 7 --out /tmp/pil-scenes
"""
import argparse
import json
import os
import random

from PIL import Image, ImageDraw

BACKGROUNDS = {"white": (245, 245, 245), "black": (15, 15, 15), "gray": (128, 128, 128)}
COLOURS = {"red": (220, 40, 40), "green": (40, 170, 60), "blue": (40, 80, 220),
           "yellow": (240, 210, 40), "purple": (140, 60, 180), "orange": (245, 140, 30)}
SHAPES = ["circle", "square", "triangle"]
SIZES = {"small": (0.12, 0.18), "large": (0.28, 0.38)}
FILTERS = [Image.NEAREST, Image.BILINEAR, Image.BICUBIC, Image.LANCZOS, Image.BOX, Image.HAMMING]


def layout(rng, kinds):
    """Objects as (shape, colour, size, cx, cy, side) in fractions of the width, or None."""
    placed = []
    for shape, colour, size in kinds:
        side = rng.uniform(*SIZES[size])
        for _ in range(200):
            # A margin of 1 % keeps anti-aliased edges inside the canvas.
            cx = rng.uniform(0.01 + side / 2, 0.99 - side / 2)
            cy = rng.uniform(0.01 + side / 2, 0.99 - side / 2)
            if all(apart((cx, cy, side), (o[3], o[4], o[5])) for o in placed):
                placed.append((shape, colour, size, cx, cy, side))
                break
        else:
            return None
    return placed


def apart(a, b):
    gap_x = abs(a[0] - b[0]) - (a[2] + b[2]) / 2
    gap_y = abs(a[1] - b[1]) - (a[2] + b[2]) / 2
    return max(gap_x, gap_y) >= 0.035 and abs(a[0] - b[0]) >= 0.085


def caption(objects, background):
    phrases = [f"a {size} {colour} {shape}" for shape, colour, size, *_ in sorted(objects, key=lambda o: o[3])]
    listed = phrases[0] if len(phrases) == 1 else ", ".join(phrases[:-1]) + " and " + phrases[-1]
    return f"{listed} on a {background} background"


def jitter(rgb, most, rng):
    return tuple(max(0, min(255, c + rng.randint(-most, most))) for c in rgb)


def draw(objects, background, size, supersample, rng):
    s = size * supersample
    img = Image.new("RGB", (s, s), jitter(BACKGROUNDS[background], 10, rng))
    d = ImageDraw.Draw(img)
    for shape, colour, _, cx, cy, side in objects:
        fill = jitter(COLOURS[colour], 20, rng)
        x0, y0 = (cx - side / 2) * s, (cy - side / 2) * s
        x1, y1 = (cx + side / 2) * s, (cy + side / 2) * s
        if shape == "circle":
            d.ellipse([x0, y0, x1, y1], fill=fill)
        elif shape == "square":
            d.rectangle([x0, y0, x1, y1], fill=fill)
        else:
            d.polygon([((x0 + x1) / 2, y0), (x1, y1), (x0, y1)], fill=fill)
    return img.resize((size, size), Image.LANCZOS) if supersample > 1 else img


def scene(rng):
    background = rng.choice(list(BACKGROUNDS))
    while True:
        kinds = [(rng.choice(SHAPES), rng.choice(list(COLOURS)), rng.choice(list(SIZES)))
                 for _ in range(rng.randint(1, 3))]
        objects = layout(rng, kinds)
        if objects:
            return objects, background


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=500)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--out", required=True)
    ap.add_argument("--min-side", type=int, default=64, help="smallest canvas (SCENES.md: 64 in practice)")
    ap.add_argument("--max-side", type=int, default=512, help="largest canvas (SCENES.md: 512 in practice)")
    args = ap.parse_args()
    if not 16 <= args.min_side <= args.max_side:
        ap.error("need 16 <= --min-side <= --max-side")
    os.makedirs(args.out, exist_ok=True)
    rng = random.Random(args.seed)
    with open(os.path.join(args.out, "manifest.jsonl"), "w") as manifest:
        for i in range(args.count):
            objects, background = scene(rng)
            canvas = rng.randint(args.min_side, args.max_side)
            # Draw at the canvas size or at another size then resize with one of Pillow's filters.
            drawn = canvas if rng.random() < 0.6 else max(min(48, args.min_side), min(max(1024, args.max_side), round(canvas * 2 ** rng.uniform(-1, 1))))
            img = draw(objects, background, drawn, rng.choice([1, 4]), rng)
            if drawn != canvas:
                img = img.resize((canvas, canvas), rng.choice(FILTERS))
            sid = f"pil-{args.seed}-{i}"
            if rng.random() < 0.4:
                name = sid + ".png"
                img.save(os.path.join(args.out, name), "PNG")
            else:
                name = sid + ".jpg"
                img.save(os.path.join(args.out, name), "JPEG", quality=rng.randint(50, 95),
                         subsampling=rng.choice([0, 2]))
            manifest.write(json.dumps({"id": sid, "file": name, "caption": caption(objects, background)}) + "\n")


if __name__ == "__main__":
    main()
