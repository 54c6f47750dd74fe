"""Optional loggers: every metrics.jsonl record reaches each sink once, in order; missing packages are
named at construction; the TensorBoard and W&B sinks against stand-ins of their packages."""

import importlib.util
import json
import sys
import types

import pydantic
import pytest

from gorl import loggers
from gorl.checkpoint import load_checkpoint
from gorl.testing.tiny import tiny_run
from gorl.train import Trainer
from gorl.train_config import TrainConfig

# 4 envs x 20 steps = 80 env steps per iteration; GoRL(FM): 4 stages, 3 refits over 640 steps
TINY = tiny_run(plot=False)


class FakeSink:
    """Keeps every record (as JSON would round-trip it) and counts closes."""

    def __init__(self):
        self.records, self.closes = [], 0

    def write(self, record):
        self.records.append(json.loads(json.dumps(record, sort_keys=True)))

    def close(self):
        self.closes += 1


def lines(out):
    return [json.loads(s) for s in (out / "metrics.jsonl").read_text().splitlines()]


@pytest.fixture
def fake(monkeypatch):
    """A ``FakeSink`` registered as the ``tensorboard`` logger (no package needed)."""
    sink = FakeSink()
    monkeypatch.setitem(loggers.FACTORIES, "tensorboard", lambda out, config: sink)
    return sink


def test_every_metrics_line_reaches_the_sink_once_in_order(tmp_path, fake):
    trainer = Trainer(TrainConfig(**TINY, loggers=["tensorboard"]), tmp_path)
    assert isinstance(fake, loggers.MetricsSink) and trainer.metrics.sinks == [fake]
    trainer.run()
    assert fake.records == lines(tmp_path) and fake.closes == 1
    assert {r["kind"] for r in fake.records} == {"iteration", "refit", "eval"}
    assert Trainer(TrainConfig(**TINY), tmp_path / "none").metrics.sinks == []  # off by default


def test_a_resumed_run_logs_on_from_its_checkpoint(tmp_path, fake, monkeypatch):
    cfg = TrainConfig(
        **{**TINY, "method": "ppo", "schedule": {}, "total_steps": 480}, loggers=["tensorboard"]
    )
    trainer = Trainer(cfg, tmp_path)
    original, calls = trainer.learner.iterate, {"n": 0}

    def dying():
        calls["n"] += 1
        if calls["n"] == 5:
            raise KeyboardInterrupt
        return original()

    monkeypatch.setattr(trainer.learner, "iterate", dying)
    with pytest.raises(KeyboardInterrupt):
        trainer.run()
    before = list(fake.records)
    kept = load_checkpoint(tmp_path / "checkpoint.pt")["metrics_bytes"]
    Trainer.resume(tmp_path).run()
    written = lines(tmp_path)
    ckpt_lines = len((tmp_path / "metrics.jsonl").read_bytes()[:kept].splitlines())
    # the lines after the checkpoint were sent before the kill and again after the resume
    assert fake.records == before + written[ckpt_lines:] and fake.closes == 2
    assert before == written[: len(before)]


def test_loggers_are_validated():
    with pytest.raises(pydantic.ValidationError, match="loggers"):
        TrainConfig(loggers=["mlflow"])
    with pytest.raises(ValueError, match="unknown logger 'mlflow'"):
        loggers.make("mlflow", __import__("pathlib").Path("x"), TrainConfig())


@pytest.mark.parametrize("name", ["tensorboard", "wandb"])
def test_a_logger_without_its_package_names_the_extra(tmp_path, monkeypatch, capsys, name):
    if importlib.util.find_spec(name) is not None:
        pytest.skip(f"{name} is installed")
    import gorl.train as train_mod

    def no_env(*a, **k):
        raise AssertionError("an env was built before the loggers were checked")

    monkeypatch.setattr(train_mod, "make_env", no_env)
    with pytest.raises(ImportError, match=rf"needs the {name} package.*pip install 'gorl\[{name}\]'"):
        Trainer(TrainConfig(**TINY, loggers=[name]), tmp_path)
    assert not tmp_path.joinpath(name).exists()
    from gorl.cli import main

    assert main(["train", "--set", f"loggers=[{name}]", "--out", str(tmp_path / "cli")]) == 1
    assert f"pip install 'gorl[{name}]'" in capsys.readouterr().err


def test_scalars_are_named_kind_slash_key():
    record = {"kind": "eval", "env_steps": 160, "return_mean": 1.5, "stage": 0, "note": "x", "v": None}
    assert loggers.scalars(record) == {"eval/return_mean": 1.5, "eval/stage": 0.0}


def test_the_tensorboard_sink_writes_scalars_at_env_steps(tmp_path, monkeypatch):
    calls = []

    class Writer:
        def __init__(self, log_dir):
            calls.append(("open", log_dir))

        def add_scalar(self, tag, value, global_step):
            calls.append((tag, value, global_step))

        def close(self):
            calls.append(("close",))

    monkeypatch.setattr(loggers, "require", lambda *a: None)
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", types.SimpleNamespace(SummaryWriter=Writer))
    sink = loggers.make("tensorboard", tmp_path, TrainConfig())
    sink.write({"kind": "iteration", "env_steps": 80, "loss": 0.5})
    sink.write({"kind": "eval", "env_steps": 160, "return_mean": 2.0})
    sink.close()
    assert calls == [
        ("open", str(tmp_path / "tensorboard")),
        ("iteration/loss", 0.5, 80),
        ("eval/return_mean", 2.0, 160),
        ("close",),
    ]


def test_the_wandb_sink_is_offline_and_continues_its_run_id(tmp_path, monkeypatch):
    calls = []

    class Run:
        def define_metric(self, name, **kw):
            calls.append(("define_metric", name, kw))

        def log(self, values):
            calls.append(("log", values))

        def finish(self):
            calls.append(("finish",))

    def init(**kw):
        calls.append(("init", kw))
        return Run()

    monkeypatch.setattr(loggers, "require", lambda *a: None)
    monkeypatch.setitem(sys.modules, "wandb", types.SimpleNamespace(init=init))
    config = TrainConfig(seed=3)
    for _ in range(2):  # a run, then its resumption: the same id
        sink = loggers.make("wandb", tmp_path / "s3", config)
        sink.write({"kind": "eval", "env_steps": 160, "return_mean": 2.0})
        sink.close()
    inits = [c[1] for c in calls if c[0] == "init"]
    assert inits[0] == inits[1] and inits[0]["id"] == (tmp_path / "s3" / "wandb_run_id").read_text().strip()
    assert {k: v for k, v in inits[0].items() if k not in ("id", "config")} == {
        "mode": "offline",
        "dir": str(tmp_path / "s3"),
        "project": "gorl",
        "name": "s3",
        "resume": "allow",
    }
    assert inits[0]["config"] == config.model_dump()
    assert ("log", {"env_steps": 160, "eval/return_mean": 2.0}) in calls and calls[-1] == ("finish",)
    assert ("define_metric", "*", {"step_metric": "env_steps"}) in calls
