"""The benchmark suite runner: suites (``suite``), ``gorl bench`` (``runner``, which runs on local
processes or on Ray, ``ray_engine``), one run in a process (``execute``, which both engines call);
``gorl.report`` reads what it writes."""

from gorl.bench.execute import execute
from gorl.bench.runner import BenchResult, bench
from gorl.bench.suite import MethodEntry, RunSpec, Suite, load_suite

__all__ = ["BenchResult", "MethodEntry", "RunSpec", "Suite", "bench", "execute", "load_suite"]
