"""The scripts in benchmarks/ are not a package: tests load one by file name."""

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from gorl.testing.tiny import tiny_sac_run
from gorl.train import Trainer
from gorl.train_config import TrainConfig, resolve

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.fixture
def load_script():
    """``load_script(name)``: the module ``benchmarks/<name>.py``, registered in ``sys.modules`` while the
    test runs (dataclasses and pickling look their module up there)."""
    loaded: list[str] = []

    def load(name: str) -> ModuleType:
        spec = importlib.util.spec_from_file_location(name, BENCHMARKS / f"{name}.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        loaded.append(name)
        spec.loader.exec_module(module)
        return module

    yield load
    for name in loaded:
        sys.modules.pop(name, None)


@pytest.fixture(scope="session")
def kept_sac_run(tmp_path_factory):
    """A tiny GoRL(SAC) run (``tiny_sac_run``: 4 stages over 320 env steps) that kept its checkpoint
    before its second refit: ``(run directory, that env-step count, its TrainConfig)``. Trained once and
    shared, so the tests that take it only read it (``Trainer.load`` is read-only)."""
    cfg = TrainConfig(**tiny_sac_run())
    second = resolve(cfg).schedule.stage_ends(cfg.total_steps)[1]
    run = tmp_path_factory.mktemp("kept_sac") / "run"
    Trainer(TrainConfig(**{**tiny_sac_run(), "keep_checkpoints": [second]}), run).run()
    return run, second, cfg
