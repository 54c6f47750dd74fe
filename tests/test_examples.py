"""The README's example runs as written."""

import runpy
from pathlib import Path

import gorl.decoders as D

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "custom_decoder.py"


def test_custom_decoder_example_runs(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    try:
        ns = runpy.run_path(str(EXAMPLE), run_name="__main__")
    finally:
        D.REGISTRY.remove("affine")
    out = capsys.readouterr().out
    assert "conformance: passed" in out and "final evaluation return" in out
    assert (tmp_path / "runs" / "example-affine" / "summary.json").exists()
    # the fitted decoder's output depends on z (the example asserts a margin; check it ran)
    assert "mean |decode(s, z) - decode(s, -z)|" in out
    assert ns["spread"] > 0.5
