"""Benchmark suites: tasks x methods x seeds, one YAML file, validated before anything runs.

A suite names the runs and the settings they share; ``Suite.runs()`` expands it into one ``RunSpec``
per (task, method entry, seed), each holding a complete ``TrainConfig``. A method entry is a method
name, or a labelled variant of one with its own overrides (how the ablations sweep a setting)::

    name: cpu-small
    tasks: [cheetah-run, walker-walk]
    methods:
      - ppo
      - gorl-fm
      - {label: gorl-fm-pen0, method: gorl-fm, overrides: {schedule: {stage_overrides: [{penalty_coef: 0}]}}}
    seeds: [0, 1, 2]                                            # or per task: {cheetah-run: [0, 1, 2], ...}
    total_steps: {cheetah-run: 501760, walker-walk: 200704}   # or one number for every task
    eval_every: 50176
    overrides: {eval_envs: 8}                                   # any TrainConfig field, every run
    method_overrides: {ppo: {optimizer: {lr: 3e-4}}}            # per method (or label)

An entry may run fewer seeds than the suite (``seeds: [0, 1]`` in the entry: an arm kept to the seeds
it was measured on while the suite adds more); ``gorl bench`` writes the runs it expands to into
``suite.json``, and the report counts the others as not runs of the suite.

Overrides merge into the run config key by key (nested dicts merge, other values replace), in this
order: the suite's ``overrides``, ``method_overrides[method]``, ``method_overrides[label]``, the entry's
own ``overrides``; ``task``, ``method``, ``seed``, ``total_steps`` and ``eval_every`` come from the suite.
Every string value in the merged overrides (in nested dicts and lists too) is then formatted with the
run's ``{task}``, ``{seed}`` and ``{label}`` (``str.format``; ``{{`` and ``}}`` are literal braces), so
one entry can point each run at its own file::

    overrides: {schedule: {initial_decoder_from: "results/runs/{task}/gorl-fm/s{seed}/decoders/stage1.pt"}}

A paired suite need not train a GoRL arm's stage 0 again: ``share_stage0: {gorl-fm: ppo}`` starts each
``gorl-fm`` run at its first refit from the ``ppo`` run of the same task and seed (``gorl.stage0``: the
same numbers, bit for bit), checked at load time to share every stage-0 setting; the ``ppo`` runs keep a
checkpoint there, and ``gorl bench`` starts a linked run once that checkpoint exists.

Runs are validated with ``resolve(config, check_files=False)``: files a run reads may be written by
another suite's runs later; a run whose file is still missing when it starts fails (``failed.json``).
"""

from __future__ import annotations

import fnmatch
import string
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml
from pydantic import Field, ValidationError, field_validator, model_validator

import gorl.envs as envs
from gorl import stage0
from gorl.config import Config
from gorl.registry import RegistryError
from gorl.train_config import RunPlan, TrainConfig, merge, resolve


class MethodEntry(Config):
    """One column of the table: a method, under a label, with its own overrides."""

    label: str = Field(description="the name in the results and the report (directory-safe)")
    method: str = Field(description="a name from `gorl list`")
    overrides: dict[str, Any] = Field(default_factory=dict, description="TrainConfig fields for this entry")
    seeds: list[int] | None = Field(
        None, description="only these of the suite's seeds (an arm run on fewer seeds); None: all of them"
    )

    @field_validator("label")
    @classmethod
    def _safe(cls, v: str) -> str:
        if not v or any(c in v for c in "/\\ ") or v.startswith("."):
            raise ValueError(f"label {v!r} must be a non-empty name without slashes or spaces")
        return v


class Suite(Config):
    """A benchmark suite; every field is documented, unknown fields are errors."""

    name: str = Field(description="the suite's name, shown in the report")
    description: str = Field("", description="what the suite measures (shown in the report)")
    tasks: list[str] = Field(
        min_length=1, description="[backend:]task names, e.g. cheetah-run, gym:Hopper-v5 (gorl list)"
    )
    methods: list[MethodEntry] = Field(
        min_length=1, description="method names or {label, method, overrides} entries"
    )
    seeds: list[int] | dict[str, list[int]] = Field(
        description="seeds, or seeds per task (every task needs some); each (task, method, seed) is one run"
    )
    total_steps: int | dict[str, int] = Field(
        description="env-step budget per run: one number, or one per task (every task needs one)"
    )
    eval_every: int | None = Field(
        None, ge=1, description="evaluate every this many env steps; None: a tenth of the budget"
    )
    overrides: dict[str, Any] = Field(default_factory=dict, description="TrainConfig fields for every run")
    method_overrides: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="TrainConfig fields per method name or label"
    )
    out: str | None = Field(None, description="results directory; `gorl bench --out` takes precedence")
    paper_setting: bool = Field(
        False, description="the paper's setting (180M steps, its tasks): the report shows its numbers beside"
    )
    gpus_per_run: float = Field(
        0.0, ge=0.0, description="GPUs a run declares to Ray (--engine ray); 0 on a CPU"
    )
    share_stage0: dict[str, str] = Field(
        default_factory=dict,
        description="{label: baseline label}: each run of the label starts at its first refit from the "
        "baseline's run of the same task and seed, which keeps a checkpoint there (gorl.stage0); their "
        "stage 0 settings must agree",
    )

    @field_validator("methods", mode="before")
    @classmethod
    def _entries(cls, v: Any) -> Any:
        if not isinstance(v, list):
            return v
        return [{"label": m, "method": m} if isinstance(m, str) else m for m in v]

    @model_validator(mode="after")
    def _consistent(self) -> Suite:
        labels = [m.label for m in self.methods]
        if len(set(labels)) != len(labels):
            raise ValueError(f"methods: labels must be unique, got {labels}")
        self._check_per_task("seeds", self.seeds, "seeds")
        for where, seeds in [("seeds", s) for s in self._seed_lists()] + [
            (f"methods: {m.label!r}: seeds", m.seeds) for m in self.methods if m.seeds is not None
        ]:
            if not seeds or len(set(seeds)) != len(seeds) or any(s < 0 for s in seeds):
                raise ValueError(f"{where} must be a non-empty list of distinct seeds >= 0, got {seeds}")
        for m in self.methods:
            unknown_seeds = sorted(set(m.seeds or []) - set(self.all_seeds()))
            if unknown_seeds:
                raise ValueError(
                    f"methods: {m.label!r}: seeds {unknown_seeds} are not among the suite's seeds"
                )
        self._check_per_task("total_steps", self.total_steps, "budget", "budgets")
        backend = self.overrides.get("backend")
        for task in self.tasks:  # a misspelled task fails here, naming it and the known ones
            try:
                envs.check(task, backend)
            except (ValueError, RegistryError) as e:
                raise ValueError(f"tasks: {e}") from e
        unknown = set(self.method_overrides) - set(labels) - {m.method for m in self.methods}
        if unknown:
            raise ValueError(f"method_overrides names {sorted(unknown)}, which no method entry has")
        for label, base in self.share_stage0.items():
            if label not in labels or base not in labels:
                raise ValueError(f"share_stage0: {label!r}: {base!r} names a label the suite does not have")
            if base in self.share_stage0:
                raise ValueError(
                    f"share_stage0: {label!r}'s baseline {base!r} takes its own stage 0 elsewhere"
                )
        return self

    def _check_per_task(self, field: str, value: Any, what: str, plural: str | None = None) -> None:
        """A per-task ``field`` (a dict) must name exactly the suite's tasks."""
        if not isinstance(value, dict):
            return
        missing = [t for t in self.tasks if t not in value]
        extra = [t for t in value if t not in self.tasks]
        if missing or extra:
            raise ValueError(f"{field}: no {what} for {missing}; {plural or what} for tasks not run: {extra}")

    def _seed_lists(self) -> list[list[int]]:
        return list(self.seeds.values()) if isinstance(self.seeds, dict) else [self.seeds]

    def all_seeds(self) -> list[int]:
        """Every seed any task runs, in the order the suite names them."""
        return list(dict.fromkeys(s for seeds in self._seed_lists() for s in seeds))

    def seeds_of(self, task: str, entry: MethodEntry) -> list[int]:
        """The seeds ``entry`` runs on ``task`` (an entry may run fewer), in the suite's order."""
        seeds = self.seeds[task] if isinstance(self.seeds, dict) else self.seeds
        return [s for s in seeds if entry.seeds is None or s in entry.seeds]

    def steps(self, task: str) -> int:
        """The env-step budget of ``task``."""
        return self.total_steps[task] if isinstance(self.total_steps, dict) else self.total_steps

    def runs(self) -> list[RunSpec]:
        """Every run, seed-major (all tasks and methods of seed 0 first), each config validated."""
        out: list[RunSpec] = []
        plans: dict[str, RunPlan] = {}
        for seed in self.all_seeds():
            for task in self.tasks:
                for entry in self.methods:
                    if seed not in self.seeds_of(task, entry):
                        continue
                    fields: dict[str, Any] = {}
                    for extra in (
                        self.overrides,
                        self.method_overrides.get(entry.method, {}),
                        self.method_overrides.get(entry.label, {}) if entry.label != entry.method else {},
                        entry.overrides,
                    ):
                        fields = merge(fields, extra)
                    where = f"run ({task}, {entry.label}, seed {seed})"
                    names = {"task": task, "seed": seed, "label": entry.label}
                    fields = fill_placeholders(fields, names, where)
                    steps = self.steps(task)
                    fields |= {
                        "task": task,
                        "method": entry.method,
                        "seed": seed,
                        "total_steps": steps,
                        "eval_every": self.eval_every or max(1, steps // 10),
                        "progress": False,
                    }
                    try:
                        config = TrainConfig.model_validate(fields)
                        # every nested field, before any run starts; the files runs read may come later
                        plan = resolve(config, check_files=False)
                    except (ValidationError, ValueError, RegistryError) as e:
                        raise ValueError(f"{where}: {e}") from e
                    out.append(RunSpec(task, entry.label, seed, config))
                    plans[out[-1].name] = plan
        return self._share_stage0(out, plans)

    def _share_stage0(self, specs: list[RunSpec], plans: dict[str, RunPlan]) -> list[RunSpec]:
        """``specs`` with each ``share_stage0`` run linked to its baseline's run (checked to share its
        stage 0), and each baseline keeping a checkpoint at the first refit of the runs linked to it.
        ``plans``: each run's resolved plan, by run name."""
        if not self.share_stage0:
            return specs
        keep: dict[str, set[int]] = {}
        linked: dict[str, tuple[str, int]] = {}
        by_name = {s.name: s for s in specs}
        for spec in specs:
            if spec.label not in self.share_stage0:
                continue
            base_name = f"{spec.task}/{self.share_stage0[spec.label]}/s{spec.seed}"
            if base_name not in by_name:
                raise ValueError(
                    f"share_stage0: run {spec.name} takes its stage 0 from {base_name}, which the suite does "
                    "not run (give the baseline's entry that seed)"
                )
            base = by_name[base_name]
            plan = plans[spec.name]
            try:
                stage0.check_shareable(spec.config, plan, base.config, plans[base.name])
            except ValueError as e:
                where = f"run ({spec.task}, {spec.label}, seed {spec.seed})"
                raise ValueError(f"share_stage0, {where}: {e}") from e
            first = stage0.first_refit(plan, spec.config.total_steps)
            keep.setdefault(base.name, set()).add(first)
            linked[spec.name] = (base.label, first)
        out = []
        for spec in specs:
            if spec.name in keep:
                kept = sorted(set(spec.config.keep_checkpoints) | keep[spec.name])
                spec = replace(spec, config=spec.config.model_copy(update={"keep_checkpoints": kept}))
            out.append(replace(spec, stage0_source=linked.get(spec.name)))
        return out


def fill_placeholders(value: Any, names: dict[str, Any], where: str = "overrides") -> Any:
    """``value`` with every string in it (recursively through dicts and lists; keys are left alone)
    formatted with ``names`` (``str.format``: ``{task}``, ``{seed:02d}``; ``{{``/``}}`` are braces).

    Raises:
        ValueError: a string names a placeholder outside ``names`` (or indexes one), naming ``where``.
    """
    if isinstance(value, dict):
        return {k: fill_placeholders(v, names, where) for k, v in value.items()}
    if isinstance(value, list):
        return [fill_placeholders(v, names, where) for v in value]
    if not isinstance(value, str):
        return value
    try:
        fields = [f for _, f, _, _ in string.Formatter().parse(value) if f is not None]
    except ValueError as e:  # an unmatched brace
        raise ValueError(f"{where}: {value!r} is not a valid template ({e}); write {{{{ for a brace") from e
    unknown = [f for f in fields if f not in names]
    if unknown:
        raise ValueError(
            f"{where}: {value!r} has the placeholder(s) {unknown}; known: "
            f"{', '.join('{' + n + '}' for n in names)} (write {{{{ and }}}} for literal braces)"
        )
    try:
        return value.format(**names)
    except (KeyError, IndexError, AttributeError, ValueError) as e:  # e.g. a bad format spec
        raise ValueError(f"{where}: {value!r} does not format ({type(e).__name__}: {e})") from e


@dataclass(frozen=True)
class RunSpec:
    """One run of a suite: where it goes and its config."""

    task: str
    label: str
    seed: int
    config: TrainConfig
    # (baseline label, env steps): the run starts at its first refit, at these env steps, from the
    # baseline's run of its task and seed (``Suite.share_stage0``)
    stage0_source: tuple[str, int] | None = None

    @property
    def name(self) -> str:
        """``<task>/<label>/s<seed>``: what ``select_runs`` patterns match."""
        return f"{self.task}/{self.label}/s{self.seed}"

    def directory(self, root: Path) -> Path:
        """``root/runs/<task>/<label>/s<seed>``."""
        return root / "runs" / self.name

    @property
    def baseline_name(self) -> str | None:
        """The ``name`` of the run this run takes its stage 0 from (None: it trains its own)."""
        return None if self.stage0_source is None else f"{self.task}/{self.stage0_source[0]}/s{self.seed}"

    def baseline_directory(self, root: Path) -> Path | None:
        """The run directory this run takes its stage 0 from (None: it trains its own)."""
        return None if self.baseline_name is None else root / "runs" / self.baseline_name

    def placed(self, root: Path) -> RunSpec:
        """This run with its config's ``stage0_from`` pointing into the results directory ``root``; or,
        where the baseline's run will never have that checkpoint (it started before its suite shared
        stage 0, or finished and the file is gone: results are committed without checkpoints), this
        run unlinked: it trains its own stage 0, the same numbers."""
        base = self.baseline_directory(root)
        if base is None or self.stage0_source is None:
            return self
        if not stage0.will_keep(base, self.stage0_source[1]):
            return replace(self, stage0_source=None)
        return replace(self, config=self.config.model_copy(update={"stage0_from": str(base)}))

    def stage0_ready(self, root: Path) -> bool:
        """True when the baseline's kept checkpoint is there (or the run takes no stage 0)."""
        base = self.baseline_directory(root)
        if base is None or self.stage0_source is None:
            return True
        return stage0.kept_path(base, self.stage0_source[1]).is_file()


def select_runs(specs: list[RunSpec], only: list[str] | None) -> list[RunSpec]:
    """The runs of ``specs`` whose ``name`` matches one of the shell patterns ``only`` (all for None),
    in their order; a pattern that matches no run is a ValueError that lists the runs."""
    if only is None:
        return specs
    unmatched = [p for p in only if not any(fnmatch.fnmatchcase(s.name, p) for s in specs)]
    if unmatched:
        raise ValueError(
            f"--only {', '.join(map(repr, unmatched))} matches no run of the suite; its runs are "
            f"{', '.join(s.name for s in specs)}"
        )
    return [s for s in specs if any(fnmatch.fnmatchcase(s.name, p) for p in only)]


def load_suite(path: str | Path) -> Suite:
    """Reads and validates a suite YAML file; errors name the file and the field. A file without
    ``name:`` is named after itself (``cpu-small.yaml``: ``cpu-small``)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"suite file {path} does not exist")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as e:
        raise ValueError(f"{path}: not valid YAML: {e}") from e
    if not isinstance(data, dict):
        raise ValueError(f"{path}: a suite is a mapping of fields, got {type(data).__name__}")
    data.setdefault("name", path.stem)
    try:
        return Suite.model_validate(data)
    except ValidationError as e:
        raise ValueError(f"{path}: {e}") from e
