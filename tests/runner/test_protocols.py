"""Protocols: frame geometry, seeding independent of batches, backgrounds, crop variants vs naive."""

from types import SimpleNamespace

import numpy as np
import pytest
import torch
from invariance.core import config
from invariance.kernels import transforms
from invariance.runner import protocols
from invariance.sources.images import SourceImage, to_float
from PIL import Image


def image(h=60, w=80, seed=0, id_="img") -> SourceImage:
    g = torch.Generator().manual_seed(seed)
    px = torch.randint(1, 256, (3, h, w), generator=g, dtype=torch.uint8)
    return SourceImage(id_, 3, px)


def test_translation_frames_are_one_pixel_diagonal_shifts():
    frames, covered = protocols.Translation(side=30, steps=4).make_frames(image(), 64, "cpu")
    assert frames.shape == (5, 3, 64, 64)
    for k in range(4):
        assert torch.equal(frames[k + 1, :, 1:, 1:], frames[k, :, :-1, :-1])
    # whole source visible in every frame: shorter side 30 at N=64 -> scaled 9, aspect kept
    side = protocols.scaled(30, 64)
    assert covered[0].sum() == side * round(80 * side / 60)


def test_translation_equals_naive_paste_of_resized_source():
    img, p = image(), protocols.Translation(side=40, steps=3)
    src = p.source(img, 64, "cpu")
    pos = p.positions(img, tuple(src.shape[-2:]), 64)
    frames, _ = p.make_frames(img, 64, "cpu")
    for k, (y, x) in enumerate(pos.tolist()):
        ref = torch.zeros(3, 64, 64)
        ref[:, y : y + src.shape[1], x : x + src.shape[2]] = src
        assert torch.equal(frames[k], ref)


def test_positions_seeded_per_image_not_per_batch():
    a, b = image(id_="a", seed=1), image(id_="b", seed=2)
    p = protocols.Translation(side=50, steps=8)
    alone = protocols.build_frames(p, [b], 96)
    together = protocols.build_frames(p, [a, b], 96)
    assert torch.equal(alone[0], together[1])
    other_seed = protocols.build_frames(protocols.Translation(side=50, steps=8, seed=1), [b], 96)
    assert not torch.equal(alone, other_seed)


def test_sides_scale_with_canvas():
    assert protocols.scaled(100, 224) == 100 and protocols.scaled(100, 299) == 133


def test_scale_grows_one_pixel_top_left_fixed():
    frames, covered = protocols.Scale(side=40, steps=3).make_frames(image(), 96, "cpu")
    rows = covered[:, 0].any(dim=2).sum(dim=1)  # height covered
    tops = covered[:, 0].any(dim=2).float().argmax(dim=1)
    lefts = covered[:, 0].any(dim=1).float().argmax(dim=1)
    assert (
        torch.equal(rows - rows[0], torch.arange(4)) and (tops == tops[0]).all() and (lefts == lefts[0]).all()
    )


def test_backgrounds():
    img = image()
    p = protocols.Translation(side=30, steps=2, background="mean")
    frames = protocols.build_frames(p, [img], 64, mean=(0.1, 0.2, 0.3))[0]
    _, covered = p.make_frames(img, 64, "cpu")
    assert torch.allclose(frames[0, :, 0, 0], torch.tensor([0.1, 0.2, 0.3]))
    black = protocols.build_frames(protocols.Translation(side=30, steps=2), [img], 64)[0]
    assert (black[~covered.expand_as(black)] == 0).all()
    filled = protocols.build_frames(protocols.Translation(side=30, steps=2, background="inpaint"), [img], 64)[
        0
    ]
    assert torch.equal(filled[covered.expand_as(filled)], black[covered.expand_as(black)])
    assert ((filled.sum(1) == 0).flatten(1).sum(1) <= 200).all()


def test_crop_windows_equal_naive_pil_crop_then_slices():
    img = image(50, 70)
    p = protocols.Crop(fraction=0.5, steps=4, margin=6)
    frames, covered = p.make_frames(img, 32, "cpu")
    y, x, h, w = p.box(img)
    assert h == w and abs(h * w - 0.5 * 50 * 70) < 2 * h + 1 and covered.all()
    big = transforms.resize(to_float(img.pixels[:, y : y + h, x : x + w]), (38, 38))
    for c in range(5):
        assert torch.equal(frames[c], big[:, c : c + 32, c : c + 32])
    # the crop itself is what PIL cuts at the same box
    pil = np.asarray(Image.fromarray(img.pixels.permute(1, 2, 0).numpy()).crop((x, y, x + w, y + h)))
    assert np.array_equal(pil, img.pixels[:, y : y + h, x : x + w].permute(1, 2, 0).numpy())


def test_crop_shift_before_rescale_moves_box_in_original():
    img = image(50, 70)
    p = protocols.Crop(fraction=1.0, steps=3, shift_before_rescale=True)
    frames, _ = p.make_frames(img, 32, "cpu")
    y, x, h, w = p.box(img)
    assert y + h + 3 <= 50 and x + w + 3 <= 70
    for c in range(4):
        ref = transforms.resize(to_float(img.pixels[:, y + c : y + c + h, x + c : x + w + c]), (32, 32))
        assert torch.allclose(frames[c], ref, atol=1e-6)


def test_whole_line_paths():
    p = protocols.Translation(side=40, path="vertical", shape="square")
    n = 64
    assert protocols.n_frames(p, n) == n - protocols.scaled(40, n) + 1
    frames = protocols.build_frames(p, [image(), image(80, 60, id_="tall")], n)
    assert frames.shape[:2] == (2, n - protocols.scaled(40, n) + 1)
    side = protocols.scaled(40, n)
    rows = frames[0].sum(dim=(1, 3)) > 0  # (K, N): rows touched by the image
    assert rows[0, 0] and rows[-1, -1] and rows[0].sum() == side  # top edge to bottom edge
    seg = protocols.Translation(side=40, path="horizontal", shape="square", span=6)
    pos = seg.positions(image(), (side, side), n)
    assert len(pos) == 7 and (pos[:, 0] == (n - side) // 2).all()
    assert pos[0, 1] == (n - side - 6) // 2 and (pos[1:, 1] - pos[:-1, 1] == 1).all()


def test_bad_parameters_are_refused():
    import pytest

    with pytest.raises(ValueError, match="background"):
        protocols.Translation(background="blue")
    with pytest.raises(ValueError, match="square"):
        protocols.Translation(path="vertical")
    with pytest.raises(ValueError, match="fraction"):
        protocols.Crop(fraction=1.5)


def test_grid_cells_span_the_canvas():
    img = image(60, 60)
    n, side = 64, protocols.scaled(30, 64)
    corner = protocols.GridTranslation(side=30, cell=(0, 0), grid=3).positions(img, (side, side), n)
    far = protocols.GridTranslation(side=30, cell=(2, 2), grid=3).positions(img, (side, side), n)
    assert corner.tolist() == [[0, 0], [1, 1]]
    assert far[-1].tolist() == [n - side, n - side]  # the last frame touches the bottom-right edge


def test_center_crop_frames_geometry(lite0):
    img = SourceImage("x", 0, torch.randint(0, 256, (3, 300, 400), dtype=torch.uint8))
    frames = protocols.center_crop_frames(lite0, [img])
    assert frames.shape == (1, 3, 224, 224)
    full = transforms.resize_shorter(to_float(img.pixels), 256)
    assert torch.equal(frames[0], full[:, 16:240, 58:282])  # 400 * 256 / 300 -> 341 wide


def test_sweep_conditions_follow_the_official_code():
    c = protocols.sweep_conditions((0.1, 1.0), (1.3,), steps=8)
    assert c["crop|0.1"].fraction == 0.1 and c["crop shift-before-rescale|1"].shift_before_rescale
    assert c["embed black|1.3"].side == int(224 / 1.3) == 172 and c["embed mean|1.3"].background == "mean"


def test_grid_conditions_keep_their_cache_name():
    c = protocols.grid_conditions((60,), 2)
    assert list(c) == ["60|0|0", "60|0|1", "60|1|0", "60|1|1"]
    assert '"__type__":"Placement"' in config.to_json(c["60|1|0"])  # the name cached results were keyed on


def test_parameters_are_validated_at_construction():
    """Issue 10, items 4 and 10: steps=0 gave an empty table; nonsense sizes surfaced as torch errors."""
    import pytest

    for bad in ({"steps": 0}, {"side": 0}, {"seed": -1}, {"span": 0, "path": "vertical", "shape": "square"}):
        with pytest.raises(ValueError, match="must be an integer"):
            protocols.Translation(**bad)
    with pytest.raises(ValueError, match="must be an integer"):
        protocols.Scale(steps=-2)
    with pytest.raises(ValueError, match="interpolation"):
        protocols.Crop(interpolation="lanczos")
    with pytest.raises(ValueError, match="interpolation"):
        transforms.resize(torch.rand(3, 8, 8), (4, 4), "area")  # used to fall back to bilinear silently
    with pytest.raises(ValueError, match="span 500 does not fit"):
        protocols.check_fits(protocols.Translation(path="vertical", shape="square", span=500), 224)
    protocols.check_fits(protocols.Translation(), 224)  # the default fits


def test_tiny_images_get_a_clear_crop_error():
    import pytest

    tiny = image(1, 1)
    with pytest.raises(ValueError, match="too small"):
        protocols.Crop(fraction=0.1).make_frames(tiny, 32, "cpu")
    with pytest.raises(ValueError, match="too small"):
        protocols.Crop(shift_before_rescale=True).make_frames(tiny, 32, "cpu")


def test_grid_cells_and_whole_lines_must_fit():
    import pytest

    for cell, grid in (((3, 3), 2), ((-1, 0), 2), ((0, 0), 0)):
        with pytest.raises(ValueError, match="cell must be|grid must be"):
            protocols.GridTranslation(side=100, cell=cell, grid=grid)
    with pytest.raises(ValueError, match="room for 0 one-pixel steps"):  # one frame, no pairs
        protocols.check_fits(protocols.Translation(side=224, path="vertical", shape="square"), 224)


def test_geometry_gives_each_network_its_canvas_and_object_side():
    fake = [
        SimpleNamespace(label=f"net{n}", data_config=SimpleNamespace(input_size=n)) for n in (224, 240, 299)
    ]
    text = protocols.geometry(fake, protocols.Translation(shape="square"))
    assert text == {
        "net224": "224 px canvas, object 100 px square",
        "net240": "240 px canvas, object 107 px square",
        "net299": "299 px canvas, object 133 px square",
    }


def test_zoom_frames_are_centred_windows_of_growing_rescales():
    img = image(50, 50)
    p = protocols.Zoom(steps=3, margin=4)
    frames, covered = p.make_frames(img, 32, "cpu")
    assert frames.shape == (4, 3, 32, 32) and covered.all()
    x = to_float(img.pixels)[None]
    for k in range(4):  # the slow way: one explicit rescale to 36 + 2k px, then the centred window
        side = 32 + 4 + 2 * k
        big = torch.nn.functional.interpolate(x, size=(side, side), mode="bicubic", antialias=True)
        off = (side - 32) // 2
        assert off == 2 + k  # one more pixel cut at every edge per frame
        assert torch.allclose(frames[k], big[0, :, off : off + 32, off : off + 32].clamp(0, 1), atol=1e-6)
    # a left-right symmetric photo gives left-right symmetric frames: the windows are centred
    sym = SourceImage("sym", 3, torch.cat([img.pixels[:, :, :25], img.pixels[:, :, :25].flip(-1)], dim=-1))
    f, _ = protocols.Zoom(steps=2).make_frames(sym, 32, "cpu", covered=False)
    assert torch.allclose(f, f.flip(-1), atol=1e-5)
    with np.testing.assert_raises(ValueError):
        protocols.Zoom(margin=3)  # an odd margin cannot be centred
    with np.testing.assert_raises(ValueError):
        protocols.Zoom(steps=0)


def reference_frames(protocol, img: SourceImage, canvas: int, first_covered: torch.Tensor) -> torch.Tensor:
    """One image's frames the plain way, one frame at a time from the float source: resize, then paste
    (`embed`) or cut windows; Scale's top-left corner is read off its first covered mask."""
    x = to_float(img.pixels)
    if isinstance(protocol, protocols.Translation):
        src = protocol.source(img, canvas, "cpu")
        return transforms.embed(src, protocol.positions(img, tuple(src.shape[-2:]), canvas), canvas)[0]
    if isinstance(protocol, protocols.Scale):
        corner = torch.nonzero(first_covered[0]).min(dim=0).values[None]
        base = protocols.scaled(protocol.side, canvas)
        return torch.cat(
            [
                transforms.embed(transforms.resize_shorter(x, base + k), corner, canvas)[0]
                for k in range(protocol.steps + 1)
            ]
        )
    y0, x0, h, w = protocol.box(img)
    if protocol.shift_before_rescale:
        crops = [x[:, y0 + c : y0 + c + h, x0 + c : x0 + c + w] for c in range(protocol.steps + 1)]
        return transforms.resize(torch.stack(crops), (canvas, canvas))
    big = transforms.resize(x[:, y0 : y0 + h, x0 : x0 + w], (canvas + protocol.margin,) * 2)
    return torch.stack([big[:, c : c + canvas, c : c + canvas] for c in range(protocol.steps + 1)])


@pytest.mark.parametrize(
    "protocol",
    [
        protocols.Translation(side=30, steps=4),
        protocols.Translation(side=30, shape="square", path="vertical", background="mean"),
        protocols.GridTranslation(side=20, shape="square", cell=(1, 2), grid=3),
        protocols.Scale(side=30, steps=3),
        protocols.Crop(fraction=0.6, aspect="random"),
        protocols.Crop(fraction=0.5, shift_before_rescale=True),
    ],
    ids=lambda p: p.name,
)
def test_group_frames_equal_frames_built_one_at_a_time(protocol):
    """build_frames builds a group of images at once (fewer kernel launches): the same bits and layout as
    each image's own frames, and as the frames made one at a time the plain way, for images of different
    shapes; covered masks the same as a group of one."""
    imgs = [image(), image(80, 60, id_="tall"), image(50, 90, id_="wide")]
    frames, covered = protocol.make_group(imgs, 64, "cpu")
    k = frames.shape[0] // len(imgs)
    for i, img in enumerate(imgs):
        own, own_covered = protocol.make_frames(img, 64, "cpu")
        mine = frames[i * k : (i + 1) * k]
        assert torch.equal(mine, own) and mine.stride() == own.stride()
        assert torch.equal(covered[i * k : (i + 1) * k], own_covered)
        plain = reference_frames(protocol, img, 64, own_covered[0])
        assert torch.equal(own, plain)
        if not (isinstance(protocol, protocols.Crop) and protocol.shift_before_rescale):
            assert own.is_contiguous(memory_format=torch.channels_last)  # the networks' layout


@pytest.mark.parametrize(
    "protocol",
    [
        protocols.Translation(side=30, steps=4, background="mean"),
        protocols.Translation(side=30, shape="square", path="vertical", background="mean"),
        protocols.GridTranslation(side=20, shape="square", cell=(1, 2), grid=3, background="mean"),
        protocols.Scale(side=30, steps=3, background="mean"),
    ],
    ids=lambda p: p.name,
)
def test_mean_background_painted_before_the_paste_equals_filling_after(protocol):
    """build_frames paints mean-grey canvases before pasting: bit for bit the frames on black with their
    uncovered pixels filled afterwards."""
    imgs = [image(), image(80, 60, id_="tall"), image(50, 90, id_="wide")]
    mean = (0.485, 0.456, 0.406)
    frames = protocols.build_frames(protocol, imgs, 64, mean)
    black, covered = protocol.make_group(imgs, 64, "cpu")
    after = torch.where(covered, black, torch.tensor(mean).view(1, 3, 1, 1))
    assert torch.equal(frames.flatten(0, 1), after)
    assert frames.flatten(0, 1).is_contiguous(memory_format=torch.channels_last)


def test_build_frames_refuses_no_images():
    with pytest.raises(ValueError, match="at least one image"):
        protocols.build_frames(protocols.Translation(), [], 64)


def test_a_protocol_too_long_for_any_object_says_so():
    with pytest.raises(ValueError, match="at most 124 steps fit .no object could move that far."):
        protocols.check_fits(protocols.Scale(steps=500), 224)
    with pytest.raises(ValueError, match="or a side of at most 24$"):
        protocols.check_fits(protocols.Scale(steps=200), 224)
