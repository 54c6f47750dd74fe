"""A GoRL run on disk: config, schedule, evaluation, metrics, checkpoints and resume.

The Trainer resolves names (method, optimizer, encoder, decoders, env) through their registries and
drives the loop through the ``LatentOptimizer`` protocol; it imports no algorithm. GoRL's method (the
stage plan, the refit, its records) is ``gorl.twotimescale.TwoTimescale``: the Trainer asks it what comes
next and keeps I/O, evaluation, checkpoints and stop handling.

Run directory::

    <out>/config.json        the TrainConfig and its resolved plan (optimizer config, schedule, encoder)
    <out>/metrics.jsonl      one JSON line per iteration, refit and evaluation
    <out>/checkpoint.pt      the latest checkpoint (written atomically)
    <out>/checkpoints/steps-<n>.pt  copies kept at ``keep_checkpoints`` (a GoRL run's ``stage0_from``)
    <out>/summary.json       final and best evaluation return, env steps/s (at the end)
    <out>/learning_curve.png evaluation return against env steps (at the end, with matplotlib)
    <out>/error.json         what stopped the run, if a guard did (the checkpoint stays the last good one)
    <out>/decoders/stage<k>.pt the decoder fitted by the refit before stage k (k >= 1; written atomically):
                             its registry name, options and weights (``gorl.decoders.snapshot.read``); a
                             later run starts from one with ``schedule.initial_decoder_from``
    <out>/tensorboard/, <out>/wandb/  the optional loggers' files (``TrainConfig.loggers``)

``Trainer.resume`` continues a run; ``Trainer.load`` rebuilds one (finished or still running) for
inspection and writes nothing into its directory.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm

import gorl.algos as algos
import gorl.encoders as encoders
from gorl import loggers, run_decoders, stage0
from gorl.algos.evaluate import FreshEpisodes, evaluate
from gorl.algos.guards import NonFiniteError
from gorl.checkpoint import (
    CheckpointError,
    atomic_write_bytes,
    atomic_write_json,
    rng_state,
    save_checkpoint,
    seed_everything,
    set_rng_state,
)
from gorl.composite import CompositePolicy
from gorl.envs import make_env
from gorl.interfaces.decoder import GenerativeDecoder
from gorl.interfaces.env import BatchedEnv
from gorl.interfaces.optimizer import LatentOptimizer
from gorl.interfaces.policy import ActingPolicy
from gorl.run_decoders import RunDecoders
from gorl.run_dir import FORMAT, MetricsLog, read_run, write_config
from gorl.stop import RunStopped, StopRequest
from gorl.train_config import TrainConfig, resolve
from gorl.twotimescale import ScheduleConfig, TwoTimescale


class Trainer:
    """Builds everything from a ``TrainConfig`` and runs (or resumes) it in ``out``.

    Building writes nothing: ``out`` is created by ``run``. Files the config reads (a decoder snapshot)
    and the packages of its loggers are checked before any env is built.
    """

    def __init__(self, config: TrainConfig, out: str | Path) -> None:
        self.config, self.out = config, Path(out)
        self.plan = resolve(config)  # every nested field validated before anything is built
        self.read_only = False  # set by ``load``: ``run`` refuses
        sinks = [loggers.make(n, self.out, config) for n in config.loggers]
        self.metrics = MetricsLog(self.out / "metrics.jsonl", sinks)
        initial_snapshot = run_decoders.read_initial(self.plan.schedule)  # checked before building an env
        if config.device.startswith("cuda") and not torch.cuda.is_available():
            raise ValueError(f"device {config.device!r} asked for, but this machine has no CUDA device")
        if config.threads:
            torch.set_num_threads(config.threads)
        seed_everything(config.seed)
        env_kw: dict[str, Any] = {"seed": config.seed, "device": config.device, "options": config.env_options}
        if config.episode_length is not None:
            env_kw["episode_length"] = config.episode_length
        self.env = make_env(config.task, self.plan.optimizer.num_envs, backend=config.backend, **env_kw)
        self.eval_length = config.eval_episode_length or config.episode_length or self.env.episode_length
        eval_kw = {**env_kw, "seed": config.seed + 1_000_003, "episode_length": self.eval_length}
        self.eval_env = make_env(config.task, config.eval_envs, backend=config.backend, **eval_kw)
        self.eval_start = self.eval_env.env_state()  # every evaluation starts from the same episodes
        self.device = torch.device(config.device)
        origin = {"task": config.task, "method": config.method, "seed": config.seed}
        dims = (self.env.obs_dim, self.env.action_dim)
        self.decoders = RunDecoders(self.plan.schedule, initial_snapshot, dims, self.device, origin)
        encoder = encoders.make(
            self.plan.encoder_name,
            obs_dim=self.env.obs_dim,
            latent_dim=self.env.action_dim,
            **self.plan.encoder_options,
        )
        self.policy: ActingPolicy = CompositePolicy(
            encoder,
            self.decoders.initial(),
            self.env.action_low.cpu(),
            self.env.action_high.cpu(),
        ).to(self.device)
        self.decoder_name = self.schedule.initial_decoder  # the registry name of the policy's decoder
        self.learner: LatentOptimizer = algos.make(
            self.plan.optimizer_name, self.env, self.policy, self.plan.optimizer
        )
        self.timescale = TwoTimescale(
            self.schedule, config.total_steps, lambda: self.make_decoder(self.schedule.decoder), config.seed
        )
        self.timescale.check(self.learner)
        self.timescale.bind(self.learner, self.policy)
        self.evals: list[dict[str, Any]] = []
        self.fresh = FreshEpisodes(self._fresh_env, self.eval_length)  # the refits' own episodes
        self.iterations = 0
        self.next_eval = config.eval_every
        self.last_checkpoint_steps = 0
        self._checkpointed_at: tuple[int, int, str] | None = None  # the loop position of the last one
        self.wall = 0.0
        self.total_wall = 0.0
        self._t_start: float | None = None
        self._stop = StopRequest()

    # -- public ----------------------------------------------------------------------------------
    @classmethod
    def resume(cls, out: str | Path, **changes: Any) -> Trainer:
        """Rebuilds a run from ``out/config.json`` and its checkpoint, to continue it with ``run``.

        ``metrics.jsonl`` is cut back to its size at the checkpoint (the lines after it will be written
        again). ``changes`` replace ``TrainConfig`` fields (e.g. ``progress``, ``threads``).
        """
        config, ckpt = read_run(Path(out), changes)
        trainer = cls(config, out)
        trainer._restore(ckpt)
        trainer.metrics.truncate()
        return trainer

    @classmethod
    def load(cls, out: str | Path, kept: int | None = None, **changes: Any) -> Trainer:
        """Rebuilds a finished or still running run from ``out/config.json`` and its checkpoint (or the
        copy it kept at ``kept`` env steps, ``keep_checkpoints``), read-only.

        Nothing in ``out`` is written or truncated (a run still training there is not disturbed); the
        returned Trainer holds the checkpoint's policy, optimiser state (observation normaliser too) and
        envs, for inspection, and its ``run`` refuses. Its loggers are off (``loggers=[]``). Like
        ``resume`` it seeds the global RNGs and sets them to the checkpoint's, and applies ``threads``.
        ``changes`` replace ``TrainConfig`` fields (e.g. ``progress=False``, ``device``).
        """
        path = None if kept is None else stage0.kept_path(out, kept)
        config, ckpt = read_run(Path(out), {"loggers": [], **changes}, path)
        trainer = cls(config, out)
        trainer._restore(ckpt)
        trainer.read_only = True
        return trainer

    @property
    def schedule(self) -> ScheduleConfig:
        """The run's schedule, held once by its decoders: replacing it changes every decoder built after."""
        return self.decoders.schedule

    @schedule.setter
    def schedule(self, value: ScheduleConfig) -> None:
        self.decoders.schedule = value

    @property
    def env_steps(self) -> int:
        """Training env steps so far."""
        return self.learner.env_steps

    def run(self) -> dict[str, Any]:
        """Runs to the end of the budget; returns the summary (also in ``summary.json``).

        SIGTERM or a first Ctrl-C stops the run at its next iteration with a checkpoint and raises
        ``gorl.stop.RunStopped``; ``Trainer.resume`` continues it exactly (``gorl.stop``)."""
        if self.read_only:
            raise RuntimeError(
                f"this Trainer was loaded read-only (Trainer.load({str(self.out)!r})); "
                "continue the run with Trainer.resume instead"
            )
        self.out.mkdir(parents=True, exist_ok=True)
        write_config(self.out, self.config, self.plan)
        if self.config.stage0_from is not None and self.iterations == 0:  # nothing trained yet
            self._start_from_stage0()
        bar = tqdm(
            total=self.config.total_steps,
            initial=self.env_steps,
            unit="step",
            disable=not self.config.progress,
            dynamic_ncols=True,
            desc=f"{self.config.method} {self.config.task}",
        )
        try:
            with self._stop:
                self._loop(bar)
        except NonFiniteError as e:
            atomic_write_json(
                self.out / "error.json", {"error": str(e), "where": e.where, "env_steps": self.env_steps}
            )
            raise
        finally:
            bar.close()
            self.fresh.close()
            self.metrics.close()
        return self._finish()

    # -- the loop --------------------------------------------------------------------------------
    def _loop(self, bar: tqdm) -> None:
        """Runs stages to the end. ``self.wall`` counts training iterations only (collection and
        updates); ``self.total_wall`` counts everything (refits, evaluations, checkpoints too)."""
        t_start = self._t_start = time.perf_counter() - self.total_wall
        ts = self.timescale
        while not ts.done:
            self._stop_if_asked()  # a stage's end: before its refit, which may take minutes
            if ts.phase == "refit":
                self._refit()
                self.total_wall = time.perf_counter() - t_start
                self._checkpoint()
            end = ts.stage_end()
            while self.env_steps < end:
                self._stop_if_asked()  # where a regular checkpoint would be: resume continues exactly
                t0, before = time.perf_counter(), self.env_steps
                metrics = self.learner.iterate()
                self.wall += time.perf_counter() - t0
                self.iterations += 1
                self._log({"kind": "iteration", "stage": ts.stage, **metrics})
                bar.update(self.env_steps - bar.n)
                if self.env_steps >= min(self.next_eval, self.config.total_steps):
                    self._evaluate(bar)
                self.total_wall = time.perf_counter() - t_start
                kept = [n for n in self.config.keep_checkpoints if before < n <= self.env_steps]
                if kept:  # where a GoRL run's stage 0 would end: after the iteration and its evaluation
                    self._checkpoint(keep=kept)
                elif self.env_steps < end and self._checkpoint_due():
                    self._checkpoint()
            ts.end_stage()
            self.total_wall = time.perf_counter() - t_start
            self._checkpoint()

    def _stop_if_asked(self) -> None:
        if self._stop.signum is not None:
            if self._checkpointed_at != self._position():  # not just written (after a refit, a stage end)
                self._checkpoint()
            raise RunStopped(self.out, self.env_steps, self._stop.signum)

    def _position(self) -> tuple[int, int, str]:
        """Where the loop is: iterations (an evaluation follows its iteration), stage and phase."""
        return self.iterations, self.timescale.stage, self.timescale.phase

    def _checkpoint_due(self) -> bool:
        recent = self.env_steps - self.last_checkpoint_steps < self.config.checkpoint_every_steps
        return not recent and self.iterations % self.config.checkpoint_every == 0

    def _refit(self) -> None:
        """The decoder phase before the current stage (``TwoTimescale.refit``), its snapshot and record."""
        self.policy, record = self.timescale.refit(
            self.learner, self.policy, episodes=self.fresh_returns, progress=self.config.progress
        )
        if record is None:  # nothing to fit: the stage goes on with the same decoder
            return
        self.decoder_name = str(self.schedule.decoder)
        self.decoders.write(self.out, self.policy.decoder, self.timescale.stage, self.env_steps)
        # the refitted policy on the run's own evaluation episodes, as its stage starts
        record["return_after_refit"] = self.eval_returns().mean().item()
        self._log(record)

    def fresh_returns(self, policy: ActingPolicy, deterministic: bool) -> torch.Tensor:
        """Returns ``(schedule.fidelity_episodes,)`` of ``policy`` on the current refit's fresh episodes:
        the same start states for every policy compared at one refit, other ones at the next refit (and
        never the run's evaluation episodes)."""
        return self.fresh.returns(self.timescale.stage, policy, self.learner.normalize, deterministic)

    def _fresh_env(self, stage: int) -> BatchedEnv:
        return make_env(
            self.config.task,
            self.schedule.fidelity_episodes,
            backend=self.config.backend,
            episode_length=self.eval_length,
            seed=self.config.seed + 2_000_003 + 7919 * stage,
            device=self.config.device,
            options=self.config.env_options,
        )

    def make_decoder(self, name: str | None) -> GenerativeDecoder:
        """A freshly initialised decoder ``name`` with the run's decoder options, on the run's device (what
        a refit fits); writes nothing."""
        return self.decoders.make(name)

    def eval_returns(self) -> torch.Tensor:
        """Deterministic returns ``(eval_envs,)`` of the current policy from the run's fixed evaluation
        start states, as the run's evaluations measure it; writes nothing."""
        self.eval_env.load_env_state(self.eval_start)
        return evaluate(self.policy, self.eval_env, self.learner.normalize, self.eval_length)

    def _evaluate(self, bar: tqdm) -> None:
        returns = self.eval_returns()
        mean, std = returns.mean().item(), returns.std(unbiased=False).item()
        rec = {
            "kind": "eval",
            "stage": self.timescale.stage,
            "env_steps": self.env_steps,
            "return_mean": mean,
            "return_std": std,
            "episodes": int(returns.numel()),
        }
        self.timescale.observe(self.policy, mean)
        self.evals.append(rec)
        self._log(rec)
        bar.set_postfix(ret=f"{mean:.1f}", sps=f"{self.env_steps / max(self.wall, 1e-9):.0f}")
        while self.next_eval <= self.env_steps:
            self.next_eval += self.config.eval_every

    # -- files -----------------------------------------------------------------------------------
    def _log(self, record: dict[str, Any]) -> None:
        if self._t_start is not None:
            self.total_wall = time.perf_counter() - self._t_start
        times = {"wall_time": round(self.wall, 3), "total_wall_time": round(self.total_wall, 3)}
        self.metrics.write({**record, "env_steps": self.env_steps, **times})

    def _checkpoint(self, keep: list[int] | None = None) -> None:
        """Writes ``checkpoint.pt``, and the same state as ``checkpoints/steps-<n>.pt`` for each ``n`` in
        ``keep`` (``TrainConfig.keep_checkpoints``)."""
        state = {
            "format": FORMAT,
            "schedule_state": self.timescale.state_dict(),
            "decoder_name": self.decoder_name,
            "encoder": self.policy.encoder.state_dict(),
            "decoder": self.policy.decoder.state_dict(),
            "optimizer": self.learner.state_dict(),
            "rng": rng_state(),
            "evals": self.evals,
            "iterations": self.iterations,
            "next_eval": self.next_eval,
            "metrics_bytes": self.metrics.size,
            "wall": self.wall,
            "total_wall": self.total_wall,
        }
        save_checkpoint(self.out / "checkpoint.pt", state)
        for n in keep or []:
            save_checkpoint(stage0.kept_path(self.out, n), state)
        self.last_checkpoint_steps = self.env_steps
        self._checkpointed_at = self._position()

    def _restore(self, ckpt: dict[str, Any]) -> None:
        """Puts the checkpoint's state into this Trainer (memory only: writes no file)."""
        self.timescale.load_state_dict(ckpt["schedule_state"])
        if ckpt["decoder_name"] != self.decoder_name:
            if ckpt["decoder_name"] != self.schedule.decoder:
                raise CheckpointError(
                    f"checkpoint holds a {ckpt['decoder_name']!r} decoder but this run's schedule has "
                    f"{self.decoder_name!r} and fits {self.schedule.decoder!r}"
                )
            self.policy = self.policy.with_decoder(self.make_decoder(self.schedule.decoder))
            self.decoder_name = ckpt["decoder_name"]
        self.policy.encoder.load_state_dict(ckpt["encoder"])
        self.policy.decoder.load_state_dict(ckpt["decoder"])
        self.policy = self.timescale.restore(self.policy, self.learner)  # the decoder's observations
        self.timescale.bind(self.learner, self.policy)  # freezes the decoder again
        self.learner.load_state_dict(ckpt["optimizer"])
        self.evals, self.next_eval, self.wall = ckpt["evals"], ckpt["next_eval"], ckpt["wall"]
        self.iterations, self.total_wall = ckpt["iterations"], ckpt["total_wall"]
        self.metrics.size = ckpt["metrics_bytes"]
        self.last_checkpoint_steps = self.env_steps
        self._checkpointed_at = self._position()
        set_rng_state(ckpt["rng"])

    def _start_from_stage0(self) -> None:
        """Takes stage 0 from the baseline's run (``gorl.stage0``): its state where this run's stage 0
        ends, its metrics up to there; the first refit is next, as in a run checkpointed at that stage's
        end. The summary's wall times include the baseline's time up to there."""
        ckpt, metrics = stage0.read_stage0(self.config, self.plan)
        atomic_write_bytes(self.metrics.path, metrics)
        self._restore(ckpt)
        first = stage0.first_refit(self.plan, self.config.total_steps)
        if self.env_steps < first:
            raise CheckpointError(
                f"stage0_from: the checkpoint kept for {first} env steps holds {self.env_steps}"
            )
        self.timescale.end_stage()
        self._checkpoint()  # a run stopped before its refit resumes from here

    def _finish(self) -> dict[str, Any]:
        final = self.evals[-1] if self.evals else None
        best = max(self.evals, key=lambda r: r["return_mean"]) if self.evals else None
        summary = {
            "task": self.config.task,
            "method": self.config.method,
            "seed": self.config.seed,
            "env_steps": self.env_steps,
            "wall_time": self.wall,
            "total_wall_time": self.total_wall,
            "env_steps_per_second": self.env_steps / max(self.wall, 1e-9),
            "final_return": final and final["return_mean"],
            "final_return_std": final and final["return_std"],
            "best_return": best and best["return_mean"],
        }
        atomic_write_json(self.out / "summary.json", summary)
        if self.config.plot and self.evals:
            from gorl.plots import learning_curve

            learning_curve(self.out / "metrics.jsonl", self.out / "learning_curve.png")
        return summary
