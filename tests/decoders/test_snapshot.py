"""Decoder snapshots round-trip a decoder exactly; a file that is not one, or of another format, fails."""

import pytest
import torch

import gorl.decoders as decoders
from gorl.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from gorl.decoders import snapshot


def test_a_snapshot_rebuilds_its_decoder_bit_for_bit(tmp_path):
    torch.manual_seed(0)
    options = {"hidden": [32, 32]}
    decoder = decoders.make("flow", obs_dim=5, action_dim=3, **options)
    path = tmp_path / "stage1.pt"
    snapshot.write(path, decoder, "flow", options, task="t", stage=1)
    options["hidden"].append(64)  # the snapshot holds a copy of the options, not the caller's dict
    snap = snapshot.read(path)
    assert (snap["name"], snap["options"], snap["task"], snap["stage"]) == (
        "flow",
        {"hidden": [32, 32]},
        "t",
        1,
    )
    rebuilt = snapshot.build(snap)
    s, z = torch.randn(4, 5), torch.randn(4, 3)
    assert torch.equal(decoder.decode(s, z), rebuilt.decode(s, z))  # deterministic Euler decode


def test_a_file_that_is_not_a_snapshot_or_of_another_format_is_named(tmp_path):
    other = tmp_path / "checkpoint.pt"
    save_checkpoint(other, {"format": 2})
    with pytest.raises(CheckpointError, match="not a decoder snapshot"):
        snapshot.read(other)
    decoder = decoders.make("flow", obs_dim=2, action_dim=1)
    path = tmp_path / "stage1.pt"
    snapshot.write(path, decoder, "flow", {})
    save_checkpoint(path, {**load_checkpoint(path), "format": 99})
    with pytest.raises(CheckpointError, match="format 99"):
        snapshot.read(path)
    with pytest.raises(CheckpointError, match="no checkpoint"):
        snapshot.read(tmp_path / "missing.pt")
