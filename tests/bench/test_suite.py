"""Suite files: validation names the field, method entries and overrides expand into run configs."""

from pathlib import Path

import pytest

from gorl.bench import Suite, load_suite
from gorl.bench.suite import select_runs
from gorl.run_dir import write_config
from gorl.train_config import resolve

BASE = {"name": "t", "tasks": ["cheetah-run"], "methods": ["ppo"], "seeds": [0], "total_steps": 1000}


def test_entries_budgets_and_override_order():
    suite = Suite.model_validate(
        {
            **BASE,
            "tasks": ["cheetah-run", "walker-walk"],
            "methods": [
                "ppo",
                {"label": "ppo-lr", "method": "ppo", "overrides": {"optimizer": {"lr": 1e-4}}},
            ],
            "seeds": [0, 1],
            "total_steps": {"cheetah-run": 2000, "walker-walk": 1000},
            "overrides": {"eval_envs": 3, "optimizer": {"lr": 5e-4, "gamma": 0.98}},
            "method_overrides": {"ppo": {"optimizer": {"lr": 2e-4}}},
        }
    )
    runs = suite.runs()
    assert len(runs) == 8 and [r.seed for r in runs[:4]] == [0, 0, 0, 0]  # seed-major
    by = {(r.task, r.label, r.seed): r.config for r in runs}
    plain, swept = by[("cheetah-run", "ppo", 0)], by[("cheetah-run", "ppo-lr", 0)]
    # suite < method (ppo, which ppo-lr also is) < the entry's own overrides; nested dicts merge
    assert plain.optimizer == {"lr": 2e-4, "gamma": 0.98} and swept.optimizer == {"lr": 1e-4, "gamma": 0.98}
    assert plain.total_steps == 2000 and by[("walker-walk", "ppo", 1)].total_steps == 1000
    assert plain.eval_every == 200 and plain.eval_envs == 3 and not plain.progress
    assert runs[0].directory(__import__("pathlib").Path("R")).as_posix() == "R/runs/cheetah-run/ppo/s0"


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"seedz": [0]}, "seedz"),
        ({"total_steps": {"walker-walk": 10}}, "no budget for"),
        ({"methods": ["ppo", "ppo"]}, "labels must be unique"),
        ({"methods": [{"label": "a/b", "method": "ppo"}]}, "without slashes"),
        ({"method_overrides": {"sac": {}}}, "no method entry"),
        ({"seeds": []}, "seeds"),
        ({"seeds": {"walker-walk": [0]}}, r"no seeds for \['cheetah-run'\]"),
        ({"seeds": {"cheetah-run": [0, 0]}}, "distinct"),
        ({"methods": [{"label": "ppo", "method": "ppo", "seeds": [3]}]}, r"seeds \[3\] are not among"),
        ({"methods": [{"label": "ppo", "method": "ppo", "seeds": []}]}, "'ppo': seeds must be a non-empty"),
    ],
)
def test_bad_suites_name_the_problem(change, match):
    with pytest.raises(ValueError, match=match):
        Suite.model_validate({**BASE, **change})


def test_a_typo_in_a_nested_override_fails_before_any_run():
    suite = Suite.model_validate({**BASE, "overrides": {"optimizer": {"lrr": 1e-3}}})
    with pytest.raises(ValueError, match=r"(?s)run \(cheetah-run, ppo, seed 0\).*lrr"):
        suite.runs()
    suite = Suite.model_validate({**BASE, "methods": ["gorl-vae"]})
    with pytest.raises(ValueError, match="gorl-vae"):
        suite.runs()


def test_load_suite_errors_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_suite(tmp_path / "none.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("- a list\n")
    with pytest.raises(ValueError, match=r"bad\.yaml: a suite is a mapping"):
        load_suite(bad)
    bad.write_text("name: x\ntasks: [cheetah-run]\nmethods: [ppo]\nseeds: [0]\n")
    with pytest.raises(ValueError, match="total_steps"):
        load_suite(bad)


def test_a_suite_file_without_a_name_is_named_after_the_file(tmp_path):
    body = "tasks: [cheetah-run]\nmethods: [ppo]\nseeds: [0]\ntotal_steps: 1000\n"
    (tmp_path / "my-sweep.yaml").write_text(body)
    assert load_suite(tmp_path / "my-sweep.yaml").name == "my-sweep"
    (tmp_path / "named.yaml").write_text("name: other\n" + body)
    assert load_suite(tmp_path / "named.yaml").name == "other"  # a name: of its own wins


def test_the_shipped_suites_load_and_expand():
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "benchmarks" / "suites"
    files = sorted(root.glob("*.yaml"))
    assert {f.stem for f in files} >= {"paper", "cpu-small", "generative-cpu", "sac-cpu", "ablation-penalty"}
    for f in files:
        suite = load_suite(f)
        assert suite.runs(), f
    paper = load_suite(root / "paper.yaml")
    assert (
        len(paper.runs()) == 6 * 5 * 5 and paper.paper_setting and paper.steps("cheetah-run") == 180_000_000
    )


def test_placeholders_format_every_string_of_the_overrides():
    from gorl.bench.suite import fill_placeholders

    names = {"task": "cheetah-run", "seed": 2, "label": "x"}
    value = {"a": ["{task}/s{seed}", {"b": "{label}-{seed:02d}"}], "k{seed}": "{{literal}}", "n": 3}
    assert fill_placeholders(value, names) == {
        "a": ["cheetah-run/s2", {"b": "x-02"}],
        "k{seed}": "{literal}",  # keys are left alone
        "n": 3,
    }
    snap = "R/runs/{task}/gorl-fm/s{seed}/decoders/{label}.pt"
    entry = {
        "label": "stage2",
        "method": "gorl-fm",
        "overrides": {"schedule": {"initial_decoder_from": snap}},
    }
    frozen = {"schedule": {"initial_decoder": "flow", "decoder": None, "stage_fractions": [1.0]}}
    suite = Suite.model_validate(
        {**BASE, "methods": [entry], "seeds": [0, 1], "method_overrides": {"gorl-fm": frozen}}
    )
    runs = suite.runs()  # the snapshot files do not exist (yet): expanding a suite does not read them
    assert [r.config.schedule["initial_decoder_from"] for r in runs] == [
        "R/runs/cheetah-run/gorl-fm/s0/decoders/stage2.pt",
        "R/runs/cheetah-run/gorl-fm/s1/decoders/stage2.pt",
    ]
    known = r"known: \{task\}, \{seed\}, \{label\}"
    bad_templates = [
        ("{sead}", r"placeholder\(s\) \['sead'\]; " + known),
        ("{task", "not a valid template"),
        ("{}", r"placeholder\(s\) \[''\]"),
    ]
    for bad, match in bad_templates:
        suite = Suite.model_validate({**BASE, "overrides": {"device": bad}})
        with pytest.raises(ValueError, match=r"(?s)run \(cheetah-run, ppo, seed 0\).*" + match):
            suite.runs()


def test_the_decoder_stage_suite_points_each_seed_at_its_snapshot():
    from pathlib import Path

    suite = load_suite(Path(__file__).resolve().parents[2] / "benchmarks" / "suites" / "ablation-stages.yaml")
    runs = {(r.label, r.seed): r.config for r in suite.runs()}
    assert len(runs) == 12 and {r.task for r in suite.runs()} == {"cheetah-run"}
    assert runs[("stage0", 1)].schedule.get("initial_decoder_from") is None
    assert runs[("stage2", 1)].schedule["initial_decoder_from"] == (
        "benchmarks/results/generative_cpu/runs/cheetah-run/gorl-fm/s1/decoders/stage2.pt"
    )
    from gorl.train_config import resolve

    plan = resolve(runs[("stage3", 0)], check_files=False).schedule
    assert plan.decoder is None and plan.initial_decoder == "flow" and plan.stage_fractions == [1.0]
    assert plan.stage_overrides == [{"penalty_coef": 1.0e-3}]
    assert runs[("stage3", 0)].total_steps == 501760 and runs[("stage3", 0)].eval_envs == 8


def test_select_runs_keeps_the_suite_order_and_names_a_pattern_that_matches_nothing():
    specs = Suite.model_validate({**BASE, "methods": ["ppo", "fpo"], "seeds": [0, 1]}).runs()
    assert [s.name for s in specs][:2] == ["cheetah-run/ppo/s0", "cheetah-run/fpo/s0"]
    assert specs[0].directory(Path("out")) == Path("out/runs/cheetah-run/ppo/s0")
    assert [s.name for s in select_runs(specs, ["*/fpo/*", "cheetah-run/ppo/s1"])] == [
        "cheetah-run/fpo/s0",
        "cheetah-run/ppo/s1",
        "cheetah-run/fpo/s1",
    ]  # in the suite's order (seed, task, method), not the patterns'
    assert select_runs(specs, None) == specs
    with pytest.raises(ValueError, match=r"'\*/sac/\*' matches no run .* cheetah-run/ppo/s0"):
        select_runs(specs, ["*/fpo/*", "*/sac/*"])


def test_share_stage0_links_each_run_to_its_baseline_and_refuses_other_stage_0_settings(tmp_path):
    shared = {**BASE, "methods": ["ppo", "gorl-fm", "gorl-diff"], "seeds": [0, 1], "total_steps": 30000,
              "share_stage0": {"gorl-fm": "ppo", "gorl-diff": "ppo"}}  # fmt: skip
    runs = Suite.model_validate(shared).runs()
    by = {(r.label, r.seed): r for r in runs}
    first = 10000  # the cpu schedule's stage 0: a third of the budget
    assert by[("gorl-fm", 1)].stage0_source == ("ppo", first) and by[("ppo", 1)].stage0_source is None
    assert by[("ppo", 0)].config.keep_checkpoints == [first]  # once for both arms
    placed = by[("gorl-diff", 1)].placed(Path("R"))
    assert Path(placed.config.stage0_from).as_posix() == "R/runs/cheetah-run/ppo/s1"
    assert not placed.stage0_ready(Path("R")) and by[("ppo", 0)].placed(Path("R")) == by[("ppo", 0)]
    # a baseline that finished without the file (kept checkpoints are not committed with results):
    # the run trains its own stage 0 instead of failing on the missing file
    base_dir = by[("ppo", 1)].directory(tmp_path)
    base_dir.mkdir(parents=True)
    write_config(base_dir, by[("ppo", 1)].config, resolve(by[("ppo", 1)].config))
    assert by[("gorl-diff", 1)].placed(tmp_path).config.stage0_from == str(base_dir)  # will keep it
    (base_dir / "summary.json").write_text("{}")
    unlinked = by[("gorl-diff", 1)].placed(tmp_path)
    assert unlinked.stage0_source is None and unlinked.config.stage0_from is None
    other = {**shared, "method_overrides": {"gorl-fm": {"optimizer": {"lr": 1e-4}}}}
    with pytest.raises(ValueError, match=r"\(cheetah-run, gorl-fm, seed 0\).*differ in optimizer\.lr"):
        Suite.model_validate(other).runs()
    with pytest.raises(ValueError, match="'sac' names a label the suite does not have"):
        Suite.model_validate({**shared, "share_stage0": {"gorl-fm": "sac"}})


def test_seeds_per_task_and_per_entry_choose_the_runs_and_baselines_must_cover_their_linked_runs():
    # hopper-stand gets two more seeds for sac and the default GoRL arm; an older arm stays on its two
    suite = {**BASE, "tasks": ["cheetah-run", "hopper-stand"], "total_steps": 30000,
             "seeds": {"cheetah-run": [0, 1], "hopper-stand": [0, 1, 2, 3]},
             "methods": ["sac", "gorl-sac-fm", {"label": "old", "method": "gorl-sac-fm", "seeds": [0, 1]}],
             "share_stage0": {"gorl-sac-fm": "sac", "old": "sac"}}  # fmt: skip
    runs = Suite.model_validate(suite).runs()
    names = [r.name for r in runs]
    assert len(names) == 3 * 2 + 3 * 2 + 2 * 2  # cheetah-run 3 entries x 2 seeds; hopper-stand 3+3+2+2
    assert [r.seed for r in runs] == sorted(r.seed for r in runs)  # seed-major
    assert "hopper-stand/gorl-sac-fm/s3" in names and "hopper-stand/old/s2" not in names
    assert "cheetah-run/sac/s2" not in names
    assert {r.name: r.stage0_source for r in runs}["hopper-stand/gorl-sac-fm/s3"] == ("sac", 10000)
    short = {**suite, "methods": [{"label": "sac", "method": "sac", "seeds": [0, 1]}, "gorl-sac-fm"],
             "share_stage0": {"gorl-sac-fm": "sac"}}  # fmt: skip
    with pytest.raises(
        ValueError, match="hopper-stand/gorl-sac-fm/s2 takes its stage 0 from hopper-stand/sac/s2"
    ):
        Suite.model_validate(short).runs()
