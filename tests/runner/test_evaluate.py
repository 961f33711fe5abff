"""The runner: table layout, agreement across batch sizes and with a naive per-pair reference."""

import numpy as np
import pandas as pd
import pytest
import torch
from invariance.runner import evaluate, protocols
from invariance.sources import models
from invariance.sources.images import SourceImage
from PIL import Image


def test_pair_table_on_hand_made_probs():
    probs = torch.tensor([[[0.7, 0.3], [0.4, 0.6], [0.45, 0.55]]])  # 1 image, 3 frames, 2 classes
    t = evaluate.pair_table(probs, [SourceImage("x", 1, torch.zeros(3, 1, 1, dtype=torch.uint8))])
    assert list(t.columns) == evaluate.COLUMNS
    assert t.frame_a.tolist() == [0, 1] and t.top1_a.tolist() == [0, 1] and t.top1_b.tolist() == [1, 1]
    assert np.allclose(t.p_top_a, [0.7, 0.6]) and np.allclose(t.p_top_b, [0.4, 0.55])
    assert np.allclose(t.p_true_a, [0.3, 0.6]) and np.allclose(t.p_true_b, [0.6, 0.55])
    assert np.allclose(t.margin_a, [0.4, 0.2])  # top-1 minus top-2 of frames 0 and 1


def test_margin_is_top1_minus_top2_of_the_first_frame():
    torch.manual_seed(0)
    probs = torch.rand(3, 4, 7).softmax(-1)  # 3 images, 4 frames, 7 classes
    images = [SourceImage(str(i), 0, torch.zeros(3, 1, 1, dtype=torch.uint8)) for i in range(3)]
    t = evaluate.pair_table(probs, images)
    ranked = [sorted(probs[i, k].tolist()) for i in range(3) for k in range(3)]  # frames 0..2 of each image
    naive = [r[-1] - r[-2] for r in ranked]
    assert np.allclose(t.margin_a, naive, atol=1e-7)


def test_unknown_label_gives_nan_true_class():
    probs = torch.full((1, 2, 3), 1 / 3)
    t = evaluate.pair_table(probs, [SourceImage("x", -1, torch.zeros(3, 1, 1, dtype=torch.uint8))])
    assert t.p_true_a.isna().all()


@pytest.mark.slow
def test_batch_sizes_agree(lite0, few_images):
    p = protocols.Translation(steps=4)
    a = evaluate.run(lite0, p, few_images[:3], batch_size=15, cache=False, progress=False)
    b = evaluate.run(lite0, p, few_images[:3], batch_size=4, cache=False, progress=False)
    assert a[["top1_a", "top1_b"]].equals(b[["top1_a", "top1_b"]])
    for col in ["p_top_a", "p_top_b", "margin_a", "p_true_a", "p_true_b"]:
        assert np.abs(a[col] - b[col]).max() < 1e-5


def naive_translation_pairs(model, img, p, canvas):
    """The obvious way, as the official code: per pair, paste with PIL, normalise, a batch of two."""
    src = p.source(img, canvas, "cpu")
    pos = p.positions(img, tuple(src.shape[-2:]), canvas).tolist()
    arr = (src.permute(1, 2, 0).numpy() * 255).astype(np.float32)  # PIL 'F' planes keep exact values
    mean = torch.tensor(model.data_config.mean).view(3, 1, 1)
    std = torch.tensor(model.data_config.std).view(3, 1, 1)

    def frame(y, x):
        planes = []
        for ch in range(3):
            c = Image.new("F", (canvas, canvas), 0.0)
            c.paste(Image.fromarray(arr[:, :, ch]), (x, y))
            planes.append(torch.from_numpy(np.asarray(c, dtype=np.float32).copy()) / 255)
        return (torch.stack(planes) - mean) / std

    rows = []
    for k in range(len(pos) - 1):
        batch = torch.stack([frame(*pos[k]), frame(*pos[k + 1])])
        with torch.no_grad():
            probs = torch.softmax(model.module(batch), dim=-1)
        top = int(probs[0].argmax())
        rows.append((top, int(probs[1].argmax()), float(probs[0, top]), float(probs[1, top])))
    return rows


@pytest.mark.slow
def test_runner_matches_naive_reference(lite0, few_images):
    p = protocols.Translation(steps=3)
    table = evaluate.run(lite0, p, few_images[:2], batch_size=8, cache=False, progress=False)
    ref = [r for img in few_images[:2] for r in naive_translation_pairs(lite0, img, p, 224)]
    assert table.top1_a.tolist() == [r[0] for r in ref] and table.top1_b.tolist() == [r[1] for r in ref]
    assert np.abs(table.p_top_a.to_numpy() - [r[2] for r in ref]).max() < 1e-5
    assert np.abs(table.p_top_b.to_numpy() - [r[3] for r in ref]).max() < 1e-5


@pytest.mark.slow
def test_cached_run_is_reused(lite0, few_images):
    p = protocols.Crop(steps=2)
    first = evaluate.run(lite0, p, few_images[:2], progress=False, chunk_images=1)
    second = evaluate.run(lite0, p, few_images[:2], progress=False)
    assert first.equals(second) and len(first) == 4


def test_out_of_memory_halves_the_batch_and_goes_on(lite0):
    from invariance.sources.models import LoadedModel

    seen = []

    class Picky(torch.nn.Module):  # runs out of memory above 3 frames per batch, like a full GPU
        def forward(self, x):
            seen.append(x.shape[0])
            if x.shape[0] > 3:
                raise torch.OutOfMemoryError("CUDA out of memory (simulated)")
            return torch.zeros(x.shape[0], 5)

    model = LoadedModel("picky", Picky(), lite0.data_config, True, "none")
    probs = evaluate.forward_probs(model, torch.rand(7, 3, 8, 8), batch_size=8)
    assert probs.shape == (7, 5) and seen[:3] == [7, 4, 2] and sum(s for s in seen if s <= 3) == 7


def test_protocol_summary_of_no_networks_is_an_empty_table():
    table = evaluate.protocol_summary([], [])
    assert table.empty and list(table.columns[:3]) == ["model", "condition", "metric"]


# --- awkward input (issue 10) --------------------------------------------------------------------------


def test_same_name_different_pixels_never_share_a_cached_result(lite0, few_images):
    """Item 1: two different images named alike (two video folders) used to share one cached table."""
    p = protocols.Translation(steps=1, side=60)
    img = few_images[0]
    twin = SourceImage(img.id, img.label, torch.flip(img.pixels, dims=[-1]))  # same id, other content
    a = evaluate.run(lite0, p, [img], progress=False)
    b = evaluate.run(lite0, p, [twin], progress=False)
    assert not np.allclose(a.p_true_a, b.p_true_a)
    fresh = evaluate.run(lite0, p, [twin], progress=False, cache=False)
    assert np.allclose(b.p_true_a, fresh.p_true_a, atol=1e-6)


def test_bad_run_parameters_fail_fast(lite0, few_images):
    """Item 8: batch_size=-1 looped forever; chunk_images=0 wrote an empty table; [] crashed."""
    p = protocols.Translation(steps=1)
    with pytest.raises(ValueError, match="batch_size"):
        evaluate.run(lite0, p, few_images[:1], batch_size=-1, progress=False)
    with pytest.raises(ValueError, match="chunk_images"):
        evaluate.run(lite0, p, few_images[:1], chunk_images=0, progress=False)
    empty = evaluate.run(lite0, p, [], progress=False)
    assert empty.empty and list(empty.columns) == evaluate.COLUMNS


def test_frames_that_leave_the_canvas_are_refused(lite0, few_images):
    """Item 4: Translation(steps=500) made 277 of 501 frames all black and measured them."""
    with pytest.raises(ValueError, match="does not fit a 224 px canvas"):
        evaluate.run(lite0, protocols.Translation(steps=500), few_images[:1], progress=False)
    with pytest.raises(ValueError, match="does not fit"):
        evaluate.run(lite0, protocols.Translation(side=300, steps=1), few_images[:1], progress=False)


# --- the streamed runner (issue 17) ----------------------------------------------------------------------


class _Recorder(torch.nn.Module):
    """A per-frame network (no cross-frame mixing), so results cannot depend on batch composition:
    logits are the first 1,000 values of a 19x19 average-pooled frame. Records each batch's size."""

    def __init__(self):
        super().__init__()
        self.seen: list[int] = []
        self.dummy = torch.nn.Parameter(torch.zeros(()))

    def forward(self, x):
        self.seen.append(x.shape[0])
        return torch.nn.functional.adaptive_avg_pool2d(x, 19).flatten(1)[:, :1000] * 10


def _streamed_and_alone(config, images, steps: int, batch: int):
    """The recorder's batch sizes and table for images streamed together, and the table computed image by
    image, for a translation of `steps` one-pixel steps."""
    from invariance.sources.models import LoadedModel

    net = _Recorder()
    model = LoadedModel("recorder", net, config, True, "none")
    p = protocols.Translation(steps=steps, side=60)
    streamed = evaluate.evaluate_images(model, p, images, batch_size=batch)
    seen = list(net.seen)
    alone = [evaluate.evaluate_images(model, p, [img], batch_size=batch) for img in images]
    return seen, streamed, pd.concat(alone, ignore_index=True)


def test_frames_stream_in_full_batches_across_images(lite0, few_images):
    """5 images x 5 frames at batch 8: batches of 8, 8, 8, 1 (not 5 per image), and the table equals the
    one computed image by image."""
    seen, streamed, expected = _streamed_and_alone(lite0.data_config, few_images[:5], steps=4, batch=8)
    assert seen == [8, 8, 8, 1]
    assert list(streamed.columns) == evaluate.COLUMNS
    pd.testing.assert_frame_equal(streamed, expected, check_exact=True)


def test_model_input_equals_normalize_bitwise(lite0):
    frames = torch.rand(3, 3, 16, 16)
    ref = models.normalize(frames, lite0.data_config)
    for channels_last in (True, False):
        x = evaluate.model_input(frames, lite0.data_config, channels_last)
        assert torch.equal(x, ref)
        assert x.is_contiguous(memory_format=torch.channels_last) == channels_last


def test_frames_left_over_from_one_group_join_the_next(lite0, few_images):
    """batch 16, 9 frames per image: groups of 2 images (18 frames) leave 2, 4, 6 frames for the next group;
    every batch but the last is full, and the table equals the one computed image by image."""
    seen, streamed, expected = _streamed_and_alone(lite0.data_config, few_images[:6], steps=8, batch=16)
    assert seen == [16, 16, 16, 6]
    pd.testing.assert_frame_equal(streamed, expected, check_exact=True)


def test_default_chunks_hold_whole_batches_of_frames():
    """Each cached chunk is run on its own, so by default its frames fill whole batches (no partial batch
    at every chunk's end); an explicit chunk_images is kept as given."""
    assert evaluate.chunk_size(None, 8, 9) == 56  # 50 rounded up to 7 groups of 8 images (72 frames)
    assert evaluate.chunk_size(None, 256, 9) == 256  # 2,304 frames = 9 batches of 256
    assert evaluate.chunk_size(None, 8, 2) == 52  # 4 images fill a batch of 8
    assert evaluate.chunk_size(3, 256, 9) == 3
    for batch, k in [(8, 9), (256, 9), (8, 49), (64, 25), (8, 2)]:
        chunk = evaluate.chunk_size(None, batch, k)
        assert chunk >= evaluate.CHUNK_IMAGES and chunk * k % batch == 0


def test_freed_memory_is_reused_without_page_faults(monkeypatch):
    import resource

    from invariance.core import allocator

    if not allocator.is_glibc():
        pytest.skip("mallopt is glibc's")
    monkeypatch.delenv(allocator.ENV, raising=False)
    assert allocator.keep_freed_memory()
    # 64 MB of float32: 16,384 pages, each faulted in again if the block went back to the kernel
    n = 16 * 2**20
    # The first allocations pay for their pages; glibc may settle on two neighbouring blocks that it then
    # alternates between (PyTorch's aligned allocations ask for a little more than 64 MB).
    for _ in range(6):
        torch.empty(n).fill_(1.0)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(5):
        torch.empty(n).fill_(1.0)
    # with glibc's defaults every round faults the whole block again: 5 x 16,384 (81,925 measured)
    assert resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before < 2 * 16_384


def test_freed_memory_setting_can_be_turned_off(monkeypatch):
    from invariance.core import allocator

    monkeypatch.setattr(allocator, "_state", None)  # restored after the test
    for off in ("0", "off", "false"):
        monkeypatch.setenv(allocator.ENV, off)
        allocator._state = None
        assert allocator.keep_freed_memory() is False


def test_labels_outside_the_networks_classes_are_refused(few_images):
    from invariance.sources.images import SourceImage

    bad = SourceImage(few_images[0].id, 5000, few_images[0].pixels)
    with pytest.raises(ValueError, match="labels are not classes of this network .0-999.*5000"):
        evaluate.check_images([bad], 1000)
    evaluate.check_images(few_images, 1000)  # labelled and unlabelled (-1) images pass


# --- misuse (issue 29) -----------------------------------------------------------------------------------


def test_a_model_in_training_mode_is_evaluated_in_eval_mode_and_given_back_unchanged(lite0, few_images):
    """Item 1: a model left in training mode gave batch-statistics outputs (0% top-1 agreement), updated its
    BatchNorm running statistics, and its table was then served from the cache to eval-mode runs."""
    import copy

    from invariance.sources.models import LoadedModel

    module = copy.deepcopy(lite0.module).train()
    frozen = next(m for m in module.modules() if isinstance(m, torch.nn.BatchNorm2d))
    frozen.eval()  # one layer left in eval mode: each layer's own mode must come back
    before = {k: v.clone() for k, v in module.state_dict().items()}
    modes = [m.training for m in module.modules()]
    trained = LoadedModel(lite0.name, module, lite0.data_config, lite0.pretrained, lite0.weights)
    p = protocols.Translation(steps=1)
    table = evaluate.run(trained, p, few_images[:2], progress=False)  # cached under the shared key
    assert [m.training for m in module.modules()] == modes and not frozen.training
    assert all(torch.equal(v, module.state_dict()[k]) for k, v in before.items())  # BatchNorm stats too
    eval_mode = evaluate.run(lite0, p, few_images[:2], progress=False, cache=False)
    pd.testing.assert_frame_equal(table, eval_mode, check_exact=False, atol=1e-6)
    assert not lite0.module.training


def test_frames_of_the_wrong_kind_are_refused_by_name(lite0):
    with pytest.raises(
        ValueError, match=r"float tensor \(M, 3, H, W\) with values in \[0, 1\], not torch.uint8"
    ):
        evaluate.forward_probs(lite0, torch.zeros(2, 3, 8, 8, dtype=torch.uint8))
    with pytest.raises(ValueError, match=r"3 \(RGB\) channels.*\(2, 8, 8, 3\)"):
        evaluate.forward_probs(lite0, torch.zeros(2, 8, 8, 3))
