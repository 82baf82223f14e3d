"""Draw the LSS icons: a stylised lumbar spine (sagittal view) with the L4/L5 level highlighted.

Run from anywhere with Pillow installed:  python Resources/Icons/make_icons.py
Writes Resources/Icons/LSS.png and the two module icons, each 128x128 RGBA.
"""

import math
from pathlib import Path

from PIL import Image, ImageDraw

SIZE = 128
SUPERSAMPLE = 4  # draw large, then downsample for smooth edges

BONE = (222, 214, 196, 255)
BONE_EDGE = (96, 88, 76, 255)
DISC = (120, 164, 214, 255)
STENOTIC_DISC = (242, 92, 31, 255)
CANAL = (250, 232, 150, 255)
TILE = (34, 52, 77, 255)
BOX = (232, 32, 42, 255)
CHART = (80, 200, 120, 255)

REPO_ROOT = Path(__file__).resolve().parents[2]


def _scaled(value: float) -> float:
    return value * SUPERSAMPLE


def _spine_axis_x(y: float) -> float:
    """Horizontal position of the vertebral column at height y: a lumbar lordosis, convex anteriorly (left)."""
    return 54 - 7 * math.sin(math.pi * (y - 10) / 108)


def _tilt(y: float) -> float:
    """Angle (radians) of the column at height y, from the slope of the axis."""
    slope = (_spine_axis_x(y + 1) - _spine_axis_x(y - 1)) / 2
    return math.atan(slope)


def _rounded_rectangle(cx: float, cy: float, width: float, height: float, radius: float, angle: float):
    """Polygon points of a rounded rectangle centred at (cx, cy) and rotated by angle, in supersampled pixels."""
    points = []
    corners = [
        (width / 2 - radius, height / 2 - radius, 0),
        (-width / 2 + radius, height / 2 - radius, 90),
        (-width / 2 + radius, -height / 2 + radius, 180),
        (width / 2 - radius, -height / 2 + radius, 270),
    ]
    for corner_x, corner_y, start in corners:
        for step in range(10):
            theta = math.radians(start + 9 * step)
            points.append((corner_x + radius * math.cos(theta), corner_y + radius * math.sin(theta)))
    cos_a, sin_a = math.cos(angle), math.sin(angle)
    return [(_scaled(cx + x * cos_a - y * sin_a), _scaled(cy + x * sin_a + y * cos_a)) for x, y in points]


def _draw_spine(draw: ImageDraw.ImageDraw, canal_colour=CANAL) -> tuple[float, float]:
    """Draw five vertebral bodies, four discs and the canal; return the centre of the stenotic disc."""
    body_height, disc_height, width = 16.0, 5.5, 38.0
    top = 12.0
    levels = []
    y = top
    for index in range(5):
        body_centre = y + body_height / 2
        levels.append(("body", body_centre))
        y += body_height
        if index < 4:
            levels.append(("disc", y + disc_height / 2))
            y += disc_height
    stenotic_disc_index = 3  # L4/L5, the level most often narrowed

    # The canal (thecal sac) runs behind the bodies and is pinched at the stenotic level.
    stenotic_y = [cy for kind, cy in levels if kind == "disc"][stenotic_disc_index]
    left_edge, right_edge = [], []
    for step in range(121):
        cy = 6 + step
        cx = _spine_axis_x(cy) + width / 2 + 7
        half = 6.0 - 3.8 * math.exp(-(((cy - stenotic_y) / 5.0) ** 2))
        left_edge.append((_scaled(cx - half), _scaled(cy)))
        right_edge.append((_scaled(cx + half), _scaled(cy)))
    draw.polygon(left_edge + right_edge[::-1], fill=canal_colour)

    disc_number = 0
    for kind, cy in levels:
        cx = _spine_axis_x(cy)
        angle = _tilt(cy)
        if kind == "body":
            outline = _rounded_rectangle(cx, cy, width, body_height, 4.0, angle)
            draw.polygon(outline, fill=BONE, outline=BONE_EDGE, width=_outline_width())
        else:
            stenotic = disc_number == stenotic_disc_index
            bulge = 7.0 if stenotic else 0.0
            colour = STENOTIC_DISC if stenotic else DISC
            shape = _rounded_rectangle(cx + bulge / 2, cy, width - 4 + bulge, disc_height + 1, 2.5, angle)
            draw.polygon(shape, fill=colour)
            disc_number += 1
    return _spine_axis_x(stenotic_y) + width / 2 + 5, stenotic_y


def _outline_width() -> int:
    return max(1, round(1.2 * SUPERSAMPLE))


def _canvas() -> tuple[Image.Image, ImageDraw.ImageDraw]:
    image = Image.new("RGBA", (SIZE * SUPERSAMPLE, SIZE * SUPERSAMPLE), (0, 0, 0, 0))
    return image, ImageDraw.Draw(image)


def _finish(image: Image.Image, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    image.resize((SIZE, SIZE), Image.Resampling.LANCZOS).save(path, optimize=True)
    print(f"wrote {path.relative_to(REPO_ROOT)}")


def draw_extension_icon(path: Path) -> None:
    """Spine on a dark rounded tile: the extension's icon in the Extensions Manager."""
    image, draw = _canvas()
    draw.rounded_rectangle((0, 0, image.width - 1, image.height - 1), radius=_scaled(20), fill=TILE)
    _draw_spine(draw)
    _finish(image, path)


def draw_grader_icon(path: Path) -> None:
    """Spine with a detection box around the stenotic level."""
    image, draw = _canvas()
    x, y = _draw_spine(draw)
    box = (_scaled(x - 18), _scaled(y - 10), _scaled(x + 18), _scaled(y + 10))
    draw.rectangle(box, outline=BOX, width=round(2.5 * SUPERSAMPLE))
    _finish(image, path)


def draw_training_icon(path: Path) -> None:
    """Spine with a rising learning curve in the lower right corner."""
    image, draw = _canvas()
    _draw_spine(draw)
    curve = [(_scaled(88 + 36 * t), _scaled(120 - 34 * (1 - math.exp(-4 * t)))) for t in (i / 40 for i in range(41))]
    draw.line(curve, fill=CHART, width=round(3.5 * SUPERSAMPLE), joint="curve")
    _finish(image, path)


def main() -> None:
    draw_extension_icon(REPO_ROOT / "Resources" / "Icons" / "LSS.png")
    draw_grader_icon(REPO_ROOT / "LSSGrader" / "Resources" / "Icons" / "LSSGrader.png")
    draw_training_icon(REPO_ROOT / "LSSTraining" / "Resources" / "Icons" / "LSSTraining.png")


if __name__ == "__main__":
    main()
