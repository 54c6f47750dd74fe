"""benchmarks/refit_budget.py on a tiny run: it reloads the checkpoint's data policy exactly (its return is
the run's own last evaluation) and writes one row per variant."""

import json
import math

from gorl.testing.tiny import TINY_REFITS, tiny_run
from gorl.train import Trainer
from gorl.train_config import TrainConfig


def test_refit_budget_reloads_the_data_policy_and_tabulates_each_variant(tmp_path, load_script):
    # a one-stage gorl-fm run stands in for a stage 0, as in docs/sac.md; the script fits the flow
    schedule = {**TINY_REFITS, "decoder": None, "stage_fractions": [1.0], "decoder_options": {}}
    run = tmp_path / "run"
    Trainer(TrainConfig(**tiny_run("gorl-fm", schedule=schedule)), run).run()
    last_eval = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()][-1]
    assert last_eval["kind"] == "eval"

    out = tmp_path / "table.md"
    args = ["--decoder", "flow", "--steps", "3", "6", "--pairs", "64", "--fit-seeds", "0", "--out", str(out)]
    assert load_script("refit_budget").main([str(run), *args]) == 0
    text = out.read_text()
    assert f"returns **{last_eval['return_mean']:.1f}**" in text
    rows = [line for line in text.splitlines() if line.startswith("| 64 |")]
    assert [r.split("|")[2].strip() for r in rows] == ["3", "6"]
    for r in rows:
        cells = [c.strip() for c in r.strip("|").split("|")]
        assert int(cells[4]) in (3, 6) and math.isfinite(float(cells[7])) and math.isfinite(float(cells[8]))
