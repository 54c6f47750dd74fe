"""write_report on a small synthetic suite directory, laid out as ``gorl bench`` writes it."""

import csv
import json
import sys
from pathlib import Path

import numpy as np
import pytest

from gorl.report.load import refit_records
from gorl.report.reference import PAPER_TASKS, REFERENCE
from gorl.report.report import common_prefix, load_curve, load_suite, write_report

TASKS = ["cheetah-run", "walker-walk"]
METHODS = ["ppo", "gorl-fm"]
SEEDS = [0, 1, 2]
# Final evaluation returns; None: walker-walk/ppo/s2 is unfinished, walker-walk/gorl-fm/s2 failed.
FINALS = {
    ("cheetah-run", "ppo"): [100.0, 200.0, 330.0],
    ("cheetah-run", "gorl-fm"): [800.0, 850.0, 900.0],
    ("walker-walk", "ppo"): [400.0, 500.0, None],
    ("walker-walk", "gorl-fm"): [900.0, 950.0, None],
}
FAILED = ("walker-walk", "gorl-fm", 2)


def _write_run(root: Path, task: str, method: str, seed: int, final: float | None) -> None:
    run = root / "runs" / task / method / f"s{seed}"
    run.mkdir(parents=True)
    steps = [0, 1000, 2000, 3000] if (task, method, seed) == ("cheetah-run", "ppo", 1) else [0, 1000, 2000]
    returns = np.linspace(0.0, final or 50.0, len(steps))
    lines = [{"kind": "iteration", "env_steps": 500, "loss": 1.0}]
    lines += [
        {"kind": "eval", "env_steps": s, "return_mean": r, "return_std": 1.0}
        for s, r in zip(steps, returns, strict=True)
    ]
    text = "".join(json.dumps(x) + "\n" for x in lines)
    if (task, method, seed) == FAILED:
        error = "RuntimeError: boom\nTraceback (most recent call last):\n  ..."
        (run / "failed.json").write_text(
            json.dumps({"task": task, "method": method, "seed": seed, "error": error})
        )
    elif final is None:
        text = text[: len(text) // 2]  # still running: a half-written last line
    else:
        summary = {
            "task": task,
            "method": method,
            "seed": seed,
            "env_steps": steps[-1],
            "wall_time": 120.0,
            "total_wall_time": 150.0,
            "env_steps_per_second": steps[-1] / 120.0,
            "final_return": final,
            "final_return_std": 1.0,
            "best_return": final,
        }
        (run / "summary.json").write_text(json.dumps(summary))
    (run / "metrics.jsonl").write_text(text)


def make_suite(root: Path, *, paper_setting: bool = False, seeds: list[int] = SEEDS) -> Path:
    """2 tasks x 2 methods x 3 seeds: 10 finished, one failed, one unfinished."""
    suite = {
        "name": "tiny",
        "description": "two tasks, two methods",
        "tasks": TASKS,
        "methods": METHODS,
        "seeds": seeds,
        "total_steps": {t: 2000 for t in TASKS},
        "paper_setting": paper_setting,
    }
    root.mkdir(parents=True, exist_ok=True)
    (root / "suite.json").write_text(json.dumps(suite))
    for (task, method), finals in FINALS.items():
        for seed, final in zip(SEEDS, finals, strict=True):
            _write_run(root, task, method, seed, final)
    return root


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    return write_report(make_suite(tmp_path_factory.mktemp("suite")))


def test_report_counts_runs_and_gives_the_cells(report):
    text = report.read_text()
    assert report.name == "report.md"
    assert "# Benchmark report: tiny" in text
    assert "two tasks, two methods" in text
    assert "Runs: 10 done, 1 failed, 1 unfinished (12 in all)" in text
    # cheetah-run / ppo: 100, 200, 330; mean 630 / 3 = 210; deviations -110, -10, 120, squares
    # 12100 + 100 + 14400 = 26600, sample variance 26600 / 2 = 13300, std sqrt(13300) = 115.33
    assert "210.0 ± 115.3 (3)" in text
    # walker-walk / ppo: the unfinished seed is left out: (400 + 500) / 2 = 450, std sqrt(2 * 50^2) = 70.7
    assert "450.0 ± 70.7 (2)" in text
    # ppo's IQM over both tasks, normalised: 0.1, 0.2, 0.33, 0.4, 0.5; n = 5 cuts floor(5/4) = 1 each side,
    # leaving 0.2, 0.33, 0.4, mean 0.93 / 3 = 0.31
    assert "| ppo | 210.0 ± 115.3 (3) | 450.0 ± 70.7 (2) | 0.310 [" in text
    assert "(5 runs, 2 tasks)" in text


def test_report_lists_failed_runs_and_links_pictures(report):
    text = report.read_text()
    assert "walker-walk / gorl-fm / seed 2: `RuntimeError: boom`" in text
    for name in ("curves_cheetah-run.png", "curves_walker-walk.png", "profile.png"):
        assert f"]({name})" in text
        assert (report.parent / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "Paper reference" not in text  # none given
    assert not [p.name for p in report.parent.iterdir() if p.name.startswith(".")]  # no temp files left


def test_report_csvs(report):
    table = _rows(report.parent / "table.csv")
    assert len(table) == len(TASKS) * len(METHODS)
    row = next(r for r in table if (r["task"], r["method"]) == ("cheetah-run", "ppo"))
    assert int(row["n"]) == 3 and float(row["mean"]) == pytest.approx(210.0)
    assert float(row["std"]) == pytest.approx(np.sqrt(13300.0))
    assert float(row["iqm"]) == pytest.approx(210.0)  # 3 seeds: nothing trimmed
    assert float(row["ci_low"]) <= 210.0 <= float(row["ci_high"])
    runs = _rows(report.parent / "runs.csv")
    assert len(runs) == 10
    assert {"final_return", "best_return", "env_steps", "wall_time", "env_steps_per_second"} <= set(runs[0])


def test_per_run_table(report):
    # task, method, seed, final, best, env steps, train min, total min, env steps/s
    assert "| cheetah-run | ppo | 1 | 200.0 | 200.0 | 3,000 | 2.0 | 2.5 | 25 |" in report.read_text()


def test_unstarted_runs_named_in_suite_json_count_as_unfinished(tmp_path):
    suite = load_suite(make_suite(tmp_path, seeds=[0, 1, 2, 3]))
    assert (suite.count("done"), suite.count("failed"), suite.count("unfinished")) == (10, 1, 5)


def test_the_runs_suite_json_names_are_the_suites_runs_when_seeds_differ_by_task_and_entry(tmp_path):
    # gorl bench names every run: hopper-stand has two more seeds than cheetah-run, and an arm kept to
    # two of them; only the runs named (or found on disk) are the suite's
    _write_run(tmp_path, "hopper-stand", "ppo", 3, 50.0)
    names = ["cheetah-run/ppo/s0", "hopper-stand/ppo/s0", "hopper-stand/old/s0", "hopper-stand/ppo/s3"]
    meta = {"name": "s", "tasks": ["cheetah-run", "hopper-stand"], "methods": ["ppo", "old"],
            "seeds": {"cheetah-run": [0], "hopper-stand": [0, 3]}, "runs": names}  # fmt: skip
    (tmp_path / "suite.json").write_text(json.dumps(meta))
    suite = load_suite(tmp_path)
    assert sorted(f"{r.task}/{r.method}/s{r.seed}" for r in suite.runs) == sorted(names)
    assert (suite.count("done"), suite.count("unfinished")) == (1, 3)
    (tmp_path / "suite.json").write_text(json.dumps({**meta, "runs": [*names, "hopper-stand/ppo"]}))
    with pytest.raises(
        ValueError, match=r"suite.json: run 'hopper-stand/ppo' is not named task/label/s<seed>"
    ):
        load_suite(tmp_path)


def test_curves_align_on_the_common_prefix(tmp_path):
    root = make_suite(tmp_path)
    runs = root / "runs" / "cheetah-run" / "ppo"
    curves = [load_curve(runs / f"s{s}") for s in SEEDS]
    assert [len(c[0]) for c in curves] == [3, 4, 3]
    steps, values = common_prefix(curves)
    np.testing.assert_array_equal(steps, [0, 1000, 2000])
    assert values.shape == (3, 3)
    shifted = (np.array([0, 1000, 2500, 3000]), np.zeros(4))
    steps, values = common_prefix([*curves, shifted])  # grids differ from index 2 on
    np.testing.assert_array_equal(steps, [0, 1000])
    assert values.shape == (4, 2)


def test_reference_shown_only_in_the_paper_setting(tmp_path):
    text = write_report(make_suite(tmp_path / "paper", paper_setting=True), reference=REFERENCE).read_text()
    assert "GoRL paper (Table 1)" in text
    assert "| ppo | 724.8 ± 155.7 | 825.7 ± 79.7 |" in text  # cheetah-run, walker-walk
    text = write_report(make_suite(tmp_path / "short"), reference=REFERENCE).read_text()
    assert "Not shown: this suite is not in the paper's setting" in text
    assert "724.8" not in text


def test_reference_data():
    assert set(REFERENCE) == {"ppo", "fpo", "dppo", "gorl-diff", "gorl-fm"}
    assert all(tuple(by_task) == PAPER_TASKS for by_task in REFERENCE.values())
    assert REFERENCE["gorl-fm"]["hopper-stand"] == (733.7, 223.8)


def test_without_matplotlib_writes_markdown_and_csvs(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib now raises ImportError
    report = write_report(make_suite(tmp_path))
    assert "Pictures need matplotlib" in report.read_text()
    assert (tmp_path / "table.csv").exists() and (tmp_path / "runs.csv").exists()
    assert not list(tmp_path.glob("*.png"))


def test_report_of_a_suite_with_no_finished_run(tmp_path):
    suite = {"name": "new", "tasks": TASKS, "methods": METHODS, "seeds": SEEDS, "paper_setting": True}
    (tmp_path / "suite.json").write_text(json.dumps(suite))
    text = write_report(tmp_path, reference=REFERENCE).read_text()
    assert "Runs: 0 done, 0 failed, 12 unfinished (12 in all)" in text
    assert "| ppo | — | — | — |" in text
    assert len(_rows(tmp_path / "table.csv")) == 4 and _rows(tmp_path / "runs.csv") == []
    assert not list(tmp_path.glob("*.png"))


def test_refits_are_tabulated_per_stage(tmp_path):
    # one finished GoRL run with two refits: the section shows each stage's figures (n/a where a record
    # lacks one: stage 1 has no fidelity figures)
    run = tmp_path / "runs" / "cheetah-run" / "gorl-fm" / "s0"
    run.mkdir(parents=True)
    summary = {"task": "cheetah-run", "method": "gorl-fm", "seed": 0, "env_steps": 100, "final_return": 5.0,
               "best_return": 6.0, "final_return_std": 0.0, "wall_time": 1.0, "total_wall_time": 2.0,
               "env_steps_per_second": 100.0}  # fmt: skip
    (run / "summary.json").write_text(json.dumps(summary))
    lines = [
        {"kind": "eval", "env_steps": 100, "return_mean": 5.0},
        {"kind": "refit", "stage": 1, "return_before_refit": 40.0, "return_after_refit": 30.0},
        {"kind": "refit", "stage": 2, "return_before_refit": 50.0, "return_after_refit": 55.0,
         "fidelity_mean_error": 0.125, "fidelity_spread_ratio": 0.98, "fidelity_det_error": 0.1,
         "fidelity_energy_distance": 0.0625, "return_data_det": 48.0, "return_refit_det": 47.0,
         "obs_drift_mean": 0.375, "fit_wall_time": 12.0, "data_evals_after": 2},
    ]  # fmt: skip
    (run / "metrics.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    text = write_report(tmp_path).read_text()
    assert "## Decoder refits" in text
    row1 = "| cheetah-run | gorl-fm | 1 | 1 | n/a | n/a | n/a | n/a | n/a | n/a | 40.0 | 30.0 | n/a | n/a | n/a |"  # noqa: E501
    row2 = "| cheetah-run | gorl-fm | 2 | 1 | 0.12 | 0.98 | 0.10 | 0.062 | 48.0 | 47.0 | 50.0 | 55.0 | 2.0 | 0.38 | 12 |"  # noqa: E501
    assert row1 in text and row2 in text


def test_unfinished_runs_are_listed_with_how_far_they_got_and_drawn_dashed(tmp_path):
    suite = {"name": "s", "tasks": ["cheetah-run"], "methods": ["ppo"], "seeds": [0, 1],
             "total_steps": {"cheetah-run": 5000}}  # fmt: skip
    (tmp_path / "suite.json").write_text(json.dumps(suite))
    _write_run(tmp_path, "cheetah-run", "ppo", 0, 300.0)
    running = tmp_path / "runs" / "cheetah-run" / "ppo" / "s1"
    running.mkdir(parents=True)
    evals = [(1000, 10.0), (2000, 30.0), (3000, 20.0)]
    lines = [{"kind": "eval", "env_steps": s, "return_mean": r, "return_std": 0.0} for s, r in evals]
    (running / "metrics.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    text = write_report(tmp_path).read_text()
    assert "Runs: 1 done, 0 failed, 1 unfinished (2 in all)" in text
    assert "| cheetah-run | ppo | 1 | 3,000 of 5,000 | 20.0 | 30.0 |" in text
    assert "| ppo | 300.0 (1) |" in text  # the finished run only; one seed has no std to show
    assert (tmp_path / "curves_cheetah-run.png").stat().st_size > 0


def test_a_suite_whose_only_runs_are_unfinished_still_gets_its_curves(tmp_path):
    suite = {"name": "s", "tasks": ["cheetah-run"], "methods": ["ppo"], "seeds": [0]}
    (tmp_path / "suite.json").write_text(json.dumps(suite))
    run = tmp_path / "runs" / "cheetah-run" / "ppo" / "s0"
    run.mkdir(parents=True)
    record = {"kind": "eval", "env_steps": 10, "return_mean": 1.0}
    (run / "metrics.jsonl").write_text(json.dumps(record) + "\n")
    text = write_report(tmp_path).read_text()
    assert "![curves_cheetah-run](curves_cheetah-run.png)" in text and "## Unfinished runs" in text


def test_tasks_without_a_0_1000_scale_get_no_iqm_and_no_profile(tmp_path):
    # Gymnasium's returns are unbounded: return / 1000 would be no 0-1 score, so no cross-task aggregate
    root = tmp_path / "gym"
    root.mkdir()
    (root / "suite.json").write_text(
        json.dumps(
            {
                "name": "g",
                "tasks": ["gym:Hopper-v5"],
                "methods": ["ppo"],
                "seeds": [0],
                "total_steps": {"gym:Hopper-v5": 2000},
            }
        )
    )
    _write_run(root, "gym:Hopper-v5", "ppo", 0, 2500.0)
    text = write_report(root).read_text()
    assert "| ppo | 2500.0 (1) |" in text and "No IQM across tasks" in text
    assert "IQM (normalised)" not in text and not (root / "profile.png").exists()
    # dm_control's tasks keep theirs
    assert "IQM (normalised)" in write_report(make_suite(tmp_path / "dmc")).read_text()


def test_training_returns_leave_out_the_first_report_after_each_refit():
    from gorl.report.load import training_returns

    def it(steps: int, value: float | None) -> dict:
        return {"kind": "iteration", "env_steps": steps, "train_return": value}

    records = [
        it(10, 1.0),
        it(20, 2.0),  # the last iteration of stage 0: at the refit's step, kept
        {"kind": "refit", "env_steps": 20},
        it(30, None),  # no episode ended: nothing to leave out yet
        it(40, 500.0),  # the first report after the refit: left out
        it(50, 5.0),
        {"kind": "eval", "env_steps": 50, "return_mean": 7.0},
        {"kind": "refit", "env_steps": 60},
        {"kind": "refit", "env_steps": 70},  # two refits with no report between: one left out
        it(80, 800.0),
        it(90, 9.0),
    ]
    assert training_returns(records) == [(10, 1.0), (20, 2.0), (50, 5.0), (90, 9.0)]
    assert training_returns([it(10, 1.0)]) == [(10, 1.0)]  # a run without refits keeps all


@pytest.mark.parametrize(
    ("from_best", "returns", "before", "after"),
    [
        (True, (3.3, 4.6, 2.7, 2.2), 4.6, 2),  # hopper-stand s1's first refit in gorl-sac-paired
        (False, (3.3, 4.6, 2.7, 2.2), 2.2, 0),
        (
            False,
            (3.3, 4.6, 2.7, 2.2),
            4.6,
            2,
        ),  # a run branched after its best-encoder refit: the record rules
        (True, (0.0, 0.0, 0.0), 0.0, 2),  # ties: the config says which (the first of equals) ...
        (False, (0.0, 0.0, 0.0), 0.0, 0),  # ... or the last
    ],
)
def test_refit_records_written_before_data_evals_after_get_it_from_the_stage_evaluations(
    tmp_path, from_best, returns, before, after
):
    (tmp_path / "config.json").write_text(json.dumps({"schedule": {"data_from_best": from_best}}))
    lines = [{"kind": "eval", "stage": 0, "return_mean": x} for x in returns]
    lines += [
        {"kind": "refit", "stage": 1, "return_before_refit": before},
        {"kind": "eval", "stage": 1, "return_mean": 9.0},
        {"kind": "refit", "stage": 2, "return_before_refit": 9.0, "data_evals_after": 5},  # recorded: kept
        {"kind": "refit", "stage": 3, "return_before_refit": 1.0},  # no evaluation has it: left alone
    ]
    (tmp_path / "metrics.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    assert [r.get("data_evals_after") for r in refit_records(tmp_path)] == [after, 5, None]
