"""Reports of benchmark suites: robust aggregate statistics (IQM, stratified bootstrap, performance
profiles) and ``write_report``, which turns a ``gorl bench`` output directory into Markdown, CSV and PNG."""

from gorl.report.reference import REFERENCE
from gorl.report.report import load_suite, write_report
from gorl.report.stats import (
    bootstrap_mean_band,
    iqm,
    normalise,
    performance_profile,
    performance_profile_ci,
    stratified_bootstrap_ci,
)

__all__ = [
    "REFERENCE",
    "bootstrap_mean_band",
    "iqm",
    "load_suite",
    "normalise",
    "performance_profile",
    "performance_profile_ci",
    "stratified_bootstrap_ci",
    "write_report",
]
