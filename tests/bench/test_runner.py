"""gorl bench on a tiny suite: runs, skips finished runs, records failures, resumes killed runs to the
same numbers, and gives the same table on local processes and on a real local Ray."""

import csv
import io
import json
import re

import pytest

from gorl.bench import Suite, bench
from gorl.train import Trainer

TINY = {
    "name": "tiny",
    "tasks": ["cheetah-run"],
    "methods": ["ppo", "fpo"],
    "seeds": [0, 1],
    "total_steps": 160,
    "eval_every": 80,
    "overrides": {
        "episode_length": 50,
        "eval_envs": 2,
        "checkpoint_every_steps": 0,
        "plot": False,
        "optimizer": {"num_envs": 4, "rollout_length": 20, "unroll_length": 10, "num_minibatches": 2,
                      "update_epochs": 2, "critic_hidden": [32]},
    },
    "method_overrides": {"fpo": {"schedule": {"decoder_options": {"hidden": [16, 16]}}}},
}  # fmt: skip


def table(out):
    """table.csv without columns that depend on timing."""
    rows = list(csv.DictReader(io.StringIO((out / "table.csv").read_text())))
    return [{k: v for k, v in r.items() if "wall" not in k and "per_second" not in k} for r in rows]


@pytest.fixture(scope="module")
def local_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench") / "local"
    log = io.StringIO()
    result = bench(Suite.model_validate(TINY), out, parallel=2, threads=1, stream=log)
    return out, result, log.getvalue()


def test_bench_runs_every_run_and_writes_the_report(local_run):
    out, result, log = local_run
    assert not result.failed and len(result.records) == 4
    for method in ("ppo", "fpo"):
        for seed in (0, 1):
            summary = json.loads(
                (out / "runs" / "cheetah-run" / method / f"s{seed}" / "summary.json").read_text()
            )
            assert summary["env_steps"] == 160 and summary["method"] == method
    assert "4 runs, 0 already done, 4 to run" in log and "4/4 done" in log
    report = (out / "report.md").read_text()
    assert "fpo" in report and "ppo" in report
    assert {r["method"] for r in table(out)} == {"ppo", "fpo"}
    assert json.loads((out / "suite.json").read_text())["total_steps"] == {"cheetah-run": 160}


def test_a_second_bench_repeats_nothing(local_run):
    out, _, _ = local_run
    summary = out / "runs" / "cheetah-run" / "ppo" / "s0" / "summary.json"
    before = summary.stat().st_mtime_ns
    log = io.StringIO()
    result = bench(Suite.model_validate(TINY), out, parallel=2, threads=1, stream=log)
    assert "4 already done, 0 to run" in log.getvalue() and len(result.records) == 4
    assert summary.stat().st_mtime_ns == before


def test_a_failed_run_is_recorded_and_the_others_go_on(tmp_path):
    # a suite validates without the files its runs read (a snapshot a run of the suite may write): a run
    # whose snapshot never appears fails when it starts, and the other runs go on
    missing = str(tmp_path / "no-such-run" / "decoders" / "stage1.pt")
    broken = {
        "label": "broken",
        "method": "gorl-fm",
        "overrides": {
            "schedule": {
                "stage_fractions": [1.0],
                "decoder": None,
                "initial_decoder": "flow",
                "initial_decoder_from": missing,
            }
        },
    }
    suite = Suite.model_validate(
        {**TINY, "tasks": ["cheetah-run"], "methods": ["ppo", broken], "seeds": [0], "method_overrides": {}}
    )
    result = bench(suite, tmp_path, parallel=1, threads=1, stream=io.StringIO())
    assert len(result.failed) == 1 and "stage1.pt" in result.failed[0]["error"]
    assert json.loads((tmp_path / "runs/cheetah-run/broken/s0/failed.json").read_text())["status"] == "failed"
    assert (tmp_path / "runs/cheetah-run/ppo/s0/summary.json").exists()
    assert "broken" in (tmp_path / "report.md").read_text()


class Killed(Exception):
    pass


def test_a_killed_run_resumes_from_its_checkpoint_to_the_same_numbers(
    tmp_path, monkeypatch, numbers, local_run
):
    ref_dir = local_run[0] / "runs" / "cheetah-run" / "ppo" / "s0"
    suite = Suite.model_validate({**TINY, "methods": ["ppo"], "seeds": [0], "method_overrides": {}})
    (spec,) = suite.runs()
    trainer = Trainer(spec.config.model_copy(update={"threads": 1}), spec.directory(tmp_path))
    calls = {"n": 0}
    original = trainer.learner.iterate

    def dying():
        calls["n"] += 1
        if calls["n"] == 2:  # inside the second (last) iteration
            raise Killed
        return original()

    monkeypatch.setattr(trainer.learner, "iterate", dying)
    with pytest.raises(Killed):
        trainer.run()
    assert not (spec.directory(tmp_path) / "summary.json").exists()
    result = bench(suite, tmp_path, parallel=1, threads=1, stream=io.StringIO(), report=False)
    assert not result.failed
    assert numbers(spec.directory(tmp_path)) == numbers(ref_dir)


def test_ray_gives_the_same_table_as_local_processes(tmp_path, local_run):
    pytest.importorskip("ray")
    out = tmp_path / "ray"
    result = bench(Suite.model_validate(TINY), out, engine="ray", threads=1, stream=io.StringIO())
    assert not result.failed and len(result.records) == 4
    assert table(out) == table(local_run[0])


def _running_counts(log):
    return [int(m) for m in re.findall(r"done, (\d+) running", log)]


def test_ray_on_one_cpu_shows_one_run_running_and_the_others_queued(tmp_path, monkeypatch):
    # four one-CPU tasks on a one-CPU Ray: Ray starts one at a time, and the progress says so (it used
    # to count every submitted task as running: "1/4 done, 3 running" while one ran)
    ray = pytest.importorskip("ray")
    monkeypatch.setenv("RAY_worker_niceness", "0")
    ray.init(num_cpus=1, include_dashboard=False, log_to_driver=False)
    try:
        log = io.StringIO()
        result = bench(Suite.model_validate(TINY), tmp_path / "ray", engine="ray", threads=1, stream=log)
    finally:
        ray.shutdown()
    assert not result.failed and len(result.records) == 4
    counts = _running_counts(log.getvalue())
    assert counts and max(counts) <= 1, log.getvalue()
    assert re.search(r"done, [01] running, [1-4] queued", log.getvalue()), log.getvalue()


def test_the_local_engine_shows_runs_beyond_parallel_as_queued(local_run):
    # parallel=2 over 4 runs: never more than 2 running, the other 2 queued at the start
    log = local_run[2]
    assert max(_running_counts(log)) == 2 and "2 running, 2 queued" in log, log


def test_the_progress_line_counts_queued_runs_apart_from_running_ones(tmp_path):
    from gorl.bench.progress import Progress

    spec = Suite.model_validate(TINY).runs()[0]
    stream = io.StringIO()
    Progress(8, stream).show([(spec, tmp_path)], force=True, queued=7)
    assert "0/8 done, 1 running, 7 queued, 0 failed" in stream.getvalue()
    Progress(8, stream).show([(spec, tmp_path)], force=True)
    assert stream.getvalue().splitlines()[-1].split("] ")[1].startswith("0/8 done, 1 running, 0 failed")


def test_a_stopped_ray_bench_checkpoints_its_runs_and_the_same_command_resumes_them(tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time

    import yaml

    pytest.importorskip("ray")
    # 20,000 steps: several seconds a run even on idle cores, longer than the stop takes to reach the
    # tasks (with 2,000, a run made in 0.8 s finished before its cancel arrived)
    steps = 20_000
    suite = {**TINY, "methods": ["ppo"], "method_overrides": {}, "total_steps": steps, "eval_every": 4000}
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(suite))
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "gorl.cli", "bench", str(tmp_path / "s.yaml"), "--out", str(out)]
    cmd += ["--engine", "ray", "--threads", "1"]
    runs = [out / "runs" / "cheetah-run" / "ppo" / f"s{seed}" for seed in (0, 1)]
    driver = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 300
    while not any((d / "metrics.jsonl").exists() for d in runs) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert driver.poll() is None, driver.communicate()[0]
    os.kill(driver.pid, signal.SIGTERM)  # a run is training (it wrote metrics); the other may be too
    log = driver.communicate(timeout=330)[0]
    assert driver.returncode == 130, log
    assert "stopping 2 Ray task(s)" in log and "interrupted" in log and "Traceback" not in log
    for d in runs:  # each stopped, with a checkpoint (one still being built stops at its first iteration)
        assert (d / "checkpoint.pt").exists() and not (d / "failed.json").exists(), log
        assert not (d / "summary.json").exists()
    steps_at_stop = {  # where the runs that were training stopped
        d: json.loads((d / "metrics.jsonl").read_text().splitlines()[-1])["env_steps"]
        for d in runs
        if (d / "metrics.jsonl").exists() and (d / "metrics.jsonl").read_text()
    }
    assert steps_at_stop, log

    again = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "0 already done, 2 to run" in again.stdout
    for d in runs:
        assert json.loads((d / "summary.json").read_text())["env_steps"] == steps
    for d, at in steps_at_stop.items():  # it resumed from the stop's checkpoint: its metrics go on from there
        rows = [json.loads(x) for x in (d / "metrics.jsonl").read_text().splitlines()]
        done = [r["env_steps"] for r in rows if r["kind"] == "iteration"]
        assert done == sorted(set(done)) and 0 < at < steps and at in done


def test_only_runs_the_runs_matching_its_patterns(tmp_path, local_run):
    with pytest.raises(ValueError, match=r"'\*/sac/\*' matches no run .* cheetah-run/ppo/s0"):
        bench(Suite.model_validate(TINY), tmp_path / "none", only=["*/fpo/*", "*/sac/*"])
    assert not (tmp_path / "none").exists()  # nothing is written before the patterns are checked
    log = io.StringIO()
    result = bench(Suite.model_validate(TINY), local_run[0], only=["*/ppo/s1"], stream=log)
    assert "1 runs, 1 already done, 0 to run" in log.getvalue() and len(result.records) == 1
    meta = json.loads((local_run[0] / "suite.json").read_text())
    assert meta["seeds"] == [0, 1]  # the whole suite, every run of it named for the report
    assert meta["runs"] == [r.name for r in Suite.model_validate(TINY).runs()] and len(meta["runs"]) == 4


def test_bad_engine_and_parallel_are_errors(tmp_path):
    with pytest.raises(ValueError, match="engine"):
        bench(Suite.model_validate(TINY), tmp_path, engine="slurm")
    with pytest.raises(ValueError, match="parallel"):
        bench(Suite.model_validate(TINY), tmp_path, parallel=0)


def test_the_cli_benches_reports_and_plots(tmp_path, local_run, capsys):
    import yaml

    from gorl.cli import main

    out = local_run[0]
    suite_file = tmp_path / "tiny.yaml"
    suite_file.write_text(yaml.safe_dump(TINY))
    assert main(["bench", str(suite_file), "--out", str(out), "--parallel", "2", "--threads", "1"]) == 0
    assert "4 already done, 0 to run" in capsys.readouterr().out
    only = ["--only", "*/fpo/s0", "--only", "*/ppo/s0"]
    assert main(["bench", str(suite_file), "--out", str(out), *only]) == 0
    assert "2 runs, 2 already done, 0 to run" in capsys.readouterr().out
    assert main(["bench", str(suite_file)]) == 1  # the suite names no out: and none was given
    assert "--out" in capsys.readouterr().err
    assert main(["report", str(out)]) == 0 and (out / "report.md").exists()
    assert main(["report", str(tmp_path)]) == 1
    assert "no runs/" in capsys.readouterr().err
    png = tmp_path / "actions.png"
    runs = [str(out / "runs/cheetah-run" / m / "s0") for m in ("ppo", "fpo")]
    assert (
        main(["plot", "actions", *runs, "--out", str(png), "--samples", "300", "--warmup-steps", "10"]) == 0
    )
    assert png.exists() and png.with_suffix(".json").exists()


def test_killing_the_bench_and_running_it_again_repeats_no_finished_run(tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time

    import yaml

    # 60 iterations a run with one evaluation at the end: seed 1 is still training when the signal lands
    # (with 6 iterations, a loaded machine could finish it between the poll and the kill)
    suite = {**TINY, "methods": ["ppo"], "method_overrides": {}, "total_steps": 4800, "eval_every": 4800}
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(suite))
    out = tmp_path / "out"
    cmd = [
        sys.executable,
        "-m",
        "gorl.cli",
        "bench",
        str(tmp_path / "s.yaml"),
        "--out",
        str(out),
        "--threads",
        "1",
    ]
    bench_proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    first = out / "runs" / "cheetah-run" / "ppo" / "s0" / "summary.json"
    second = out / "runs" / "cheetah-run" / "ppo" / "s1" / "metrics.jsonl"
    deadline = time.monotonic() + 300
    while not (first.exists() and second.exists()) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert first.exists(), bench_proc.communicate()[0]
    os.kill(bench_proc.pid, signal.SIGTERM)  # seed 1 is running
    log = bench_proc.communicate(timeout=60)[0]
    assert "stopping 1 run(s): each writes a checkpoint" in log and "interrupted" in log
    assert bench_proc.returncode == 130 and "Traceback" not in log
    s1 = second.parent  # it was training (it had written metrics): it stopped with a checkpoint
    assert "SIGTERM received" in (s1 / "stdout.log").read_text()
    assert (s1 / "checkpoint.pt").exists() and not (s1 / "failed.json").exists()
    before = first.stat().st_mtime_ns
    again = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "1 already done, 1 to run" in again.stdout
    assert first.stat().st_mtime_ns == before
    assert json.loads((out / "runs/cheetah-run/ppo/s1/summary.json").read_text())["env_steps"] == 4800


def test_a_cuda_suite_on_a_machine_without_cuda_fails_before_any_run(tmp_path):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    suite = Suite.model_validate({**TINY, "overrides": {**TINY["overrides"], "device": "cuda"}})
    with pytest.raises(ValueError, match="no CUDA device"):
        bench(suite, tmp_path / "out", stream=io.StringIO())
    assert not (tmp_path / "out" / "runs").exists()


def test_run_status_gives_the_last_evaluation_the_steps_and_the_recent_rate(tmp_path):
    from gorl.bench.progress import run_status

    assert run_status(tmp_path, 1000) == "starting"
    # 100 env steps per line; 10 steps/s for the first 1,000 s of run time, then 20 steps/s for 700 s
    walls = [10.0 * i if i <= 100 else 1000.0 + 5.0 * (i - 100) for i in range(1, 241)]  # seconds
    lines: list[dict] = [
        {"kind": "iteration", "env_steps": 100 * i, "total_wall_time": t} for i, t in enumerate(walls, 1)
    ]
    lines.insert(50, {"kind": "eval", "env_steps": 5000, "return_mean": 123.45})
    (tmp_path / "metrics.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    # the rate is over the last 600 s of run time only
    assert run_status(tmp_path, 100_000) == "ret 123.5 @ 5,000, 24,000/100,000 steps (20/s, 1.1 h left)"
    assert run_status(tmp_path, 25_200) == "ret 123.5 @ 5,000, 24,000/25,200 steps (20/s, 1 min left)"
    (tmp_path / "metrics.jsonl").write_text(json.dumps(lines[0]) + "\n")  # one line: no rate yet
    assert run_status(tmp_path, 1000) == "no evaluation yet, 100/1,000 steps"


def test_a_just_launched_run_shows_as_resuming_or_starting_not_by_its_old_metrics(tmp_path, monkeypatch):
    import gorl.bench.progress as progress_mod
    from gorl.bench.progress import Progress

    spec = Suite.model_validate(TINY).runs()[0]
    d = tmp_path / "run"
    d.mkdir()
    old = {"kind": "iteration", "env_steps": 900, "total_wall_time": 9.0}  # written past the checkpoint
    (d / "metrics.jsonl").write_text(json.dumps(old) + "\n")
    (d / "checkpoint.pt").write_bytes(b"")
    clock = [1000.0]
    monkeypatch.setattr(progress_mod.time, "monotonic", lambda: clock[0])
    stream = io.StringIO()
    p = Progress(1, stream)
    p.launched(d)
    p.show([(spec, d)], force=True)
    assert f"{spec.name} resuming from its checkpoint" in stream.getvalue()
    assert "900/" not in stream.getvalue()
    (d / "checkpoint.pt").unlink()
    p.launched(d)
    (d / "checkpoint.pt").write_bytes(b"")  # its own first checkpoint: it did not resume from it
    p.show([(spec, d)], force=True)
    assert stream.getvalue().splitlines()[-1].endswith(f"{spec.name} starting")
    clock[0] += progress_mod.SETTLE_S  # settled: the run's own file is its state again
    p.show([(spec, d)], force=True)
    assert f"{spec.name} no evaluation yet, 900/" in stream.getvalue().splitlines()[-1]


def test_a_run_stopped_on_its_own_is_recorded_as_stopped_not_failed(tmp_path):
    import multiprocessing as mp
    import time

    from gorl.bench.progress import Progress
    from gorl.bench.runner import STOP_EXIT_CODES, BenchResult, _process_main, stopped_record

    spec = Suite.model_validate(
        {**TINY, "methods": ["ppo"], "method_overrides": {}, "total_steps": 4000}
    ).runs()[0]
    d = spec.directory(tmp_path)
    p = mp.get_context("spawn").Process(
        target=_process_main, args=(spec.config.model_dump(), str(d), 1, True)
    )
    p.start()
    deadline = time.monotonic() + 120
    while not (d / "metrics.jsonl").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    p.terminate()  # `kill PID` of this one run, not of a bench
    p.join(120)
    assert p.exitcode == 128 + 15, (d / "stdout.log").read_text()
    assert p.exitcode in STOP_EXIT_CODES
    record = stopped_record(d, p.exitcode - 128)
    assert record is not None and record["status"] == "stopped"
    assert (d / "checkpoint.pt").exists() and not (d / "failed.json").exists()
    assert 1 not in STOP_EXIT_CODES  # a crash is not a stop

    stream = io.StringIO()
    progress = Progress(2, stream)
    progress.finished(spec, record)
    progress.finished(spec, {"status": "failed", "error": ""})  # an empty error is still reported
    progress.show([], force=True)
    line = stream.getvalue().strip()
    assert "0/2 done, 0 running, 1 failed, 1 stopped" in line and "FAILED: no error recorded" in line
    result = BenchResult(tmp_path, [record, {"status": "done"}])
    assert result.stopped == [record] and not result.failed


def test_a_shared_stage_0_waits_for_the_baselines_checkpoint_and_starts_from_it(tmp_path, numbers):
    # gorl-fm comes first in the suite but starts only once ppo has kept its checkpoint at the first
    # refit (160 of 320 env steps); its metrics up to there are ppo's, then its refit and stage 1
    from gorl.testing.tiny import TINY_REFITS

    refits = {**TINY_REFITS, "stage_fractions": [0.5, 0.5]}
    suite = {**TINY, "methods": ["gorl-fm", "ppo"], "seeds": [0], "total_steps": 320,
             "method_overrides": {"gorl-fm": {"schedule": refits}},
             "share_stage0": {"gorl-fm": "ppo"}}  # fmt: skip
    log = io.StringIO()
    result = bench(Suite.model_validate(suite), tmp_path, parallel=2, threads=1, stream=log)
    assert not result.failed, result.failed
    runs = tmp_path / "runs" / "cheetah-run"
    assert (runs / "ppo" / "s0" / "checkpoints" / "steps-160.pt").is_file()
    config = json.loads((runs / "gorl-fm" / "s0" / "config.json").read_text())["train"]
    assert config["stage0_from"] == str(runs / "ppo" / "s0")
    ours, base = numbers(runs / "gorl-fm" / "s0"), numbers(runs / "ppo" / "s0")
    k = next(i for i, r in enumerate(ours) if r["kind"] == "refit")
    assert ours[:k] == [r for r in base if r["env_steps"] <= 160] and ours[k]["env_steps"] == 160
    assert ours[-1]["env_steps"] == 320 and ours[-1]["kind"] == "eval"


def test_a_run_whose_baseline_kept_no_checkpoint_trains_its_own_stage_0(tmp_path, numbers):
    # ppo ran before its suite shared stage 0 (it kept nothing): gorl-fm trains stage 0 itself
    from gorl.testing.tiny import TINY_REFITS

    refits = {**TINY_REFITS, "stage_fractions": [0.5, 0.5]}
    suite = {**TINY, "methods": ["ppo", "gorl-fm"], "seeds": [0], "total_steps": 320,
             "method_overrides": {"gorl-fm": {"schedule": refits}}}  # fmt: skip
    alone = {**suite, "methods": ["ppo"], "method_overrides": {}}
    bench(Suite.model_validate(alone), tmp_path, threads=1, stream=io.StringIO())
    log = io.StringIO()
    shared = Suite.model_validate({**suite, "share_stage0": {"gorl-fm": "ppo"}})
    assert not bench(shared, tmp_path, threads=1, stream=log).failed
    assert "share_stage0: 1 of the runs to do train their own stage 0" in log.getvalue()
    runs = tmp_path / "runs" / "cheetah-run"
    assert json.loads((runs / "gorl-fm" / "s0" / "config.json").read_text())["train"]["stage0_from"] is None
    ours = [r for r in numbers(runs / "gorl-fm" / "s0") if r["env_steps"] <= 160 and r["kind"] != "refit"]
    assert ours == [r for r in numbers(runs / "ppo" / "s0") if r["env_steps"] <= 160]
