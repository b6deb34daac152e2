"""The torch dataset view of the renderer."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from video2stylegan.errors import InvalidOptionError  # noqa: E402
from video2stylegan.synthetic import render, sample_params  # noqa: E402
from video2stylegan.synthetic.dataset import SyntheticHeads  # noqa: E402


def test_items_are_the_seeded_renders_as_tensors():
    ds = SyntheticHeads(5, size=32, seed_offset=100, with_masks=True)
    assert len(ds) == 5
    item = ds[2]
    r = render(sample_params(102), 32)
    assert item["image"].shape == (3, 32, 32) and item["image"].dtype == torch.float32
    assert -1.0 <= item["image"].min() and item["image"].max() <= 1.0
    back = ((item["image"].numpy().transpose(1, 2, 0) + 1.0) * 127.5).round().astype(np.uint8)
    assert np.array_equal(back, r.image)
    assert np.allclose(item["landmarks"].numpy(), r.landmarks, atol=1e-4)
    assert np.allclose(item["params"].numpy(), sample_params(102).to_unit(), atol=1e-6)
    assert item["masks"].shape == (8, 32, 32)
    assert torch.equal(ds[-1]["image"], ds[4]["image"])
    with pytest.raises(IndexError):
        ds[5]
    with pytest.raises(InvalidOptionError):
        SyntheticHeads(0)


def test_works_with_a_dataloader():
    loader = torch.utils.data.DataLoader(SyntheticHeads(4, size=24), batch_size=2)
    batches = list(loader)
    assert len(batches) == 2 and batches[0]["image"].shape == (2, 3, 24, 24)
    assert batches[1]["params"].shape == (2, 37)
