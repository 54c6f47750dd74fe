import os

import pytest
import torch

from gorl.checkpoint import CheckpointError, atomic_write_text, load_checkpoint, save_checkpoint


def test_round_trip(tmp_path):
    save_checkpoint(tmp_path / "c.pt", {"format": 1, "w": torch.arange(3)})
    assert torch.equal(load_checkpoint(tmp_path / "c.pt")["w"], torch.arange(3))


def test_missing_and_corrupt_checkpoints_raise_naming_the_file(tmp_path):
    with pytest.raises(CheckpointError, match=r"no checkpoint at .*nope.pt"):
        load_checkpoint(tmp_path / "nope.pt")
    bad = tmp_path / "bad.pt"
    save_checkpoint(bad, {"format": 1, "w": torch.randn(1000)})
    bad.write_bytes(bad.read_bytes()[:100])  # truncated
    with pytest.raises(CheckpointError, match=r"bad\.pt is unreadable"):
        load_checkpoint(bad)
    other = tmp_path / "other.pt"
    torch.save([1, 2], other)
    with pytest.raises(CheckpointError, match="not a gorl checkpoint"):
        load_checkpoint(other)


def test_a_failed_write_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "f.txt"
    atomic_write_text(path, "old")

    def boom(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError, match="disk full"):
        atomic_write_text(path, "new")
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["f.txt"]  # no temporary left behind
