"""The README's own-env example (examples/custom_env.py) runs as written and learns."""

import runpy
from pathlib import Path

from gorl.envs.torchrl_env import FACTORIES

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "custom_env.py"


def test_custom_env_example_runs_and_beats_random_actions(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    try:
        ns = runpy.run_path(str(EXAMPLE), run_name="__main__")
    finally:
        FACTORIES.remove("reach")
    out = capsys.readouterr().out
    assert "check_env: passed" in out and "final evaluation return" in out
    assert (tmp_path / "runs" / "example-reach" / "summary.json").exists()
    # measured here: -41.0 after 6,144 steps against -52.9 for uniformly random actions
    assert ns["margin"] > 5.0
