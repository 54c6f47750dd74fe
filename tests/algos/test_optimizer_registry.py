"""The optimiser registry refuses a config model without a proper MUTABLE, naming what is wrong."""

from typing import ClassVar

import pytest
from pydantic import Field

import gorl.algos as algos
from gorl.config import Config


class NoMutable(Config):
    num_envs: int = Field(1, ge=1, description="envs")
    lr: float = Field(1e-3, gt=0.0, description="learning rate")


class MutableList(NoMutable):
    MUTABLE: ClassVar = ["lr"]


class MutableTypo(NoMutable):
    MUTABLE: ClassVar[frozenset[str]] = frozenset({"lr", "learning_rate"})


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (NoMutable, r"'mine': NoMutable needs a MUTABLE class attribute: a frozenset .* got None"),
        (MutableList, r"MutableList needs a MUTABLE class attribute: a frozenset .* got \['lr'\]"),
        (MutableTypo, r"MutableTypo.MUTABLE names learning_rate, which are not its fields"),
    ],
)
def test_a_config_without_a_frozenset_mutable_of_its_fields_is_refused_at_registration(config, message):
    with pytest.raises(TypeError, match=message):
        algos.register("mine", config=config)(object)
    assert "mine" not in algos.names()


def test_an_empty_mutable_registers_and_refuses_every_stage_override():
    class Fixed(NoMutable):
        MUTABLE: ClassVar[frozenset[str]] = frozenset()

    algos.register("fixed", config=Fixed)(object)
    try:
        spec = algos.spec("fixed")
        with pytest.raises(ValueError, match=r"stage 1: stage overrides may not change lr"):
            spec.check_overrides(Fixed(), {"lr": 1e-4}, "stage 1")
    finally:
        algos.REGISTRY.remove("fixed")
