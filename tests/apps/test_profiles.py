"""Profiles: merging a notebook's parameters with its profile, refusing bad ones, the numerics policy."""

import pytest
import torch
from invariance.apps import profiles


def test_profiles_merge_and_refuse():
    s = profiles.settings("03_jaggedness_maps", "default", n_images=None, models=["lite0"])
    assert s.models == ("lite0",) and s.n_images == 64 and s.span == 48
    with pytest.raises(AttributeError):
        _ = s.no_such_setting
    with pytest.raises(ValueError, match="profile"):
        profiles.settings("03_jaggedness_maps", "fast")
    paper_s = profiles.settings("04_protocol_table", "paper")
    with pytest.raises(FileNotFoundError, match="val_dir"):
        profiles.load_images(paper_s)
    assert "UNTRAINED" in profiles.settings("04_protocol_table", "smoke", pretrained=False).describe()


def test_settings_apply_the_numerics_policy():
    torch.backends.cudnn.allow_tf32 = True
    torch.backends.cuda.matmul.allow_tf32 = True
    profiles.settings("02_protocols", "smoke", seed=3)
    assert not torch.backends.cudnn.allow_tf32 and not torch.backends.cuda.matmul.allow_tf32
    first = torch.rand(2)
    profiles.settings("02_protocols", "smoke", seed=3)
    assert torch.equal(first, torch.rand(2))  # seeded by the settings' seed


def test_misspelt_settings_are_errors_that_suggest_the_right_name():
    """Issue 10, item 6: n_imagse=5 used to be ignored silently."""
    with pytest.raises(TypeError, match="did you mean 'n_images'"):
        profiles.settings("03_jaggedness_maps", "smoke", n_imagse=5)
    with pytest.raises(ValueError, match="unknown notebook"):
        profiles.settings("99_nothing", "smoke")
    with pytest.raises(FileNotFoundError, match="INVARIANCE_IMAGENET_VAL"):
        profiles.load_images(profiles.settings("04_protocol_table", "paper"))


def test_describe_names_only_the_plotted_networks():
    s = profiles.settings("07_sampling_theorem", "default")
    assert "lite1" in s.describe(4) and "lite1" not in s.describe(4, models=["lite0", "vgg16 (untrained)"])
    assert s.describe(4, models=["lite0"]).startswith("profile default | lite0 | 4 images")
