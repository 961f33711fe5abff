"""Video clips for Figure 1's natural change: the staged DAVIS clips, a user's folder, and the download."""

import shutil

import pytest
from invariance.core import paths
from invariance.sources import datasets, video
from invariance.sources.images import ImageDecodeError


@pytest.mark.parametrize("name", ["dog", "bear"])
def test_staged_clips_load_in_frame_order_with_their_class(name):
    info = video.CLIPS[name]
    clip = video.load_clip(name)
    assert len(clip) == info.frames and clip.label == info.label
    assert [f.id for f in clip.frames] == [f"{name}/{k:05d}" for k in range(info.frames)]
    assert all(f.label == info.label for f in clip.frames)
    assert clip.frames[0].pixels.shape == (3, 480, 854)
    # the recorded class index is the clip's wnid (golden retriever 207, brown bear 294)
    assert datasets.label_of_wnid(info.wnid) == info.label
    assert datasets.folder_digest(paths.find_data(video.VIDEO_NAME) / name) == video.CLIP_SHA256[name]


def test_first_frames_and_a_folder_of_your_own(tmp_path):
    assert [f.id for f in video.load_clip("bear", n_frames=3).frames] == [
        "bear/00000",
        "bear/00001",
        "bear/00002",
    ]
    src = paths.find_data(video.VIDEO_NAME) / "dog"
    own = tmp_path / "walk"
    own.mkdir()
    for k, name in enumerate(["00010.jpg", "00002.jpg", "00003.jpg"]):  # copied out of order
        shutil.copy(src / f"{k:05d}.jpg", own / name)
    (own / "notes.txt").write_text("not a frame")
    clip = video.load_clip(own)
    assert clip.name == "walk" and clip.label == -1
    assert [f.id for f in clip.frames] == ["walk/00002", "walk/00003", "walk/00010"]  # name order
    assert video.load_clip(own, label=207).label == 207
    with pytest.raises(ValueError, match="n_frames"):
        video.load_clip(own, n_frames=1)


def test_bad_clips_get_clear_errors(tmp_path, monkeypatch):
    with pytest.raises(FileNotFoundError, match="neither a staged clip"):
        video.load_clip(tmp_path / "missing")
    one = tmp_path / "one"
    one.mkdir()
    (one / "00000.jpg").write_bytes(b"")
    with pytest.raises(FileNotFoundError, match="at least two"):
        video.load_clip(one)
    (one / "00001.jpg").write_bytes(b"not a jpeg")
    with pytest.raises(ImageDecodeError, match="00000.jpg"):
        video.load_clip(one)
    staged = tmp_path / "data" / video.VIDEO_NAME / "dog"
    staged.mkdir(parents=True)
    shutil.copy(paths.find_data(video.VIDEO_NAME) / "dog" / "00000.jpg", staged / "00000.jpg")
    monkeypatch.setenv("INVARIANCE_DATA", str(tmp_path / "data"))
    with pytest.raises(ValueError, match="holds 1 frames, not the clip's 60"):
        video.load_clip("dog")


def test_fetch_clips_from_file_urls_checks_every_clip(tmp_path):
    source = paths.find_data(video.VIDEO_NAME)
    base = source.as_uri() + "/"
    out = video.fetch_clips(tmp_path / "data", base_url=base)  # checked against the recorded digests
    for name, info in video.CLIPS.items():
        assert len(video.frame_files(out / name)) == info.frames
        assert datasets.folder_digest(out / name) == video.CLIP_SHA256[name]
    wrong = {name: "0" * 64 for name in video.CLIPS}
    with pytest.raises(datasets.ChecksumError, match="nothing was written"):
        video.fetch_clips(tmp_path / "other", base_url=base, sha256=wrong)
    assert not list((tmp_path / "other" / video.VIDEO_NAME).iterdir())
