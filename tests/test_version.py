"""One version number: pyproject.toml's is the package's."""

from pathlib import Path

import pytest

import gorl


def test_the_package_and_pyproject_give_the_same_version():
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    pyproject = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text())
    assert gorl.__version__ == pyproject["project"]["version"]
