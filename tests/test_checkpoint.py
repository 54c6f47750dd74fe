import os
import stat

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


def test_atomic_files_get_the_mode_a_plain_write_gives(tmp_path):
    """mkstemp creates 0600 files; results and reports must be readable like any file the user writes."""
    old = os.umask(0o027)
    try:
        atomic_write_text(tmp_path / "a.md", "x")
        plain = tmp_path / "b.md"
        plain.write_text("x")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "a.md").stat().st_mode) == stat.S_IMODE(plain.stat().st_mode) == 0o640
