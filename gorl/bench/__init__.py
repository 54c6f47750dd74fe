"""The benchmark suite runner: suites (``suite``), ``gorl bench`` (``runner``); ``gorl.report`` reads
what it writes."""

from gorl.bench.runner import BenchResult, bench, execute
from gorl.bench.suite import MethodEntry, RunSpec, Suite, load_suite

__all__ = ["BenchResult", "MethodEntry", "RunSpec", "Suite", "bench", "execute", "load_suite"]
