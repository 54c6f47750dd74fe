"""A GoRL run on disk: config, schedule, evaluation, metrics, checkpoints and resume.

Run directory::

    <out>/config.json        the resolved TrainConfig (and the resolved PPO and schedule configs)
    <out>/metrics.jsonl      one JSON line per iteration, refit and evaluation
    <out>/checkpoint.pt      the latest checkpoint (written atomically after iterations)
    <out>/summary.json       final and best evaluation return, env steps/s (at the end)
    <out>/error.json         what stopped the run, if a guard did (the checkpoint stays the last good one)
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm

import gorl.decoders as decoders
import gorl.encoders as encoders
from gorl.algos import methods
from gorl.algos.evaluate import evaluate
from gorl.algos.guards import NonFiniteError
from gorl.algos.ppo import PPOLatentOptimizer
from gorl.algos.ppo_config import preset
from gorl.algos.schedule import ScheduleConfig, ScheduleState
from gorl.checkpoint import (
    CheckpointError,
    atomic_write_json,
    load_checkpoint,
    rng_state,
    save_checkpoint,
    seed_everything,
    set_rng_state,
)
from gorl.composite import CompositePolicy
from gorl.decoders.fit import fit_decoder
from gorl.envs import make_env
from gorl.train_config import TrainConfig

FORMAT = 1


class Trainer:
    """Builds everything from a ``TrainConfig`` and runs (or resumes) it in ``out``."""

    def __init__(self, config: TrainConfig, out: str | Path) -> None:
        self.config, self.out = config, Path(out)
        if config.threads:
            torch.set_num_threads(config.threads)
        spec = methods.get(config.method)
        self.ppo_config = preset(config.ppo_preset or spec.ppo_preset, **config.ppo)
        self.schedule = ScheduleConfig(**{**spec.schedule, **config.schedule})
        if self.schedule.decoder is not None:
            decoders.REGISTRY.get(self.schedule.decoder)  # fail now on an unknown decoder
        seed_everything(config.seed)
        env_kw: dict[str, Any] = {"seed": config.seed, "device": config.device}
        if config.episode_length is not None:
            env_kw["episode_length"] = config.episode_length
        self.env = make_env(config.task, self.ppo_config.num_envs, backend=config.backend, **env_kw)
        self.eval_length = config.eval_episode_length or config.episode_length or self.env.episode_length
        eval_kw = {**env_kw, "seed": config.seed + 1_000_003, "episode_length": self.eval_length}
        self.eval_env = make_env(config.task, config.eval_envs, backend=config.backend, **eval_kw)
        self.eval_start = self.eval_env.env_state()  # every evaluation starts from the same episodes
        obs_dim, act_dim = self.env.obs_dim, self.env.action_dim
        encoder = encoders.make("gaussian", obs_dim=obs_dim, latent_dim=act_dim, **config.encoder)
        identity = decoders.make("identity", obs_dim=obs_dim, action_dim=act_dim)
        self.device = torch.device(config.device)
        self.policy = CompositePolicy(
            encoder, identity, self.env.action_low.cpu(), self.env.action_high.cpu()
        )
        self.policy.to(self.device)
        self.opt = PPOLatentOptimizer(self.env, self.policy, self.ppo_config)
        self.opt.bind(self.policy, self.schedule.at(self.schedule.stage_overrides, 0))
        self.state = ScheduleState()
        self.stage_ends = self.schedule.stage_ends(config.total_steps)
        self.evals: list[dict[str, Any]] = []
        self.next_eval = config.eval_every
        self.metrics_bytes = 0
        self.wall = 0.0
        self.total_wall = 0.0
        self._t_start: float | None = None

    # -- public ----------------------------------------------------------------------------------
    @classmethod
    def resume(cls, out: str | Path, **changes: Any) -> Trainer:
        """Rebuilds a run from ``out/config.json`` and its checkpoint."""
        out = Path(out)
        cfg_path = out / "config.json"
        if not cfg_path.exists():
            raise CheckpointError(f"{out} is not a run directory (no config.json)")
        cfg = TrainConfig(**{**json.loads(cfg_path.read_text())["train"], **changes})
        trainer = cls(cfg, out)
        trainer._load(load_checkpoint(out / "checkpoint.pt"))
        return trainer

    def run(self) -> dict[str, Any]:
        """Runs to the end of the budget; returns the summary (also in ``summary.json``)."""
        self.out.mkdir(parents=True, exist_ok=True)
        self._write_config()
        bar = tqdm(
            total=self.config.total_steps,
            initial=self.opt.env_steps,
            unit="step",
            disable=not self.config.progress,
            dynamic_ncols=True,
            desc=f"{self.config.method} {self.config.task}",
        )
        try:
            self._loop(bar)
        except NonFiniteError as e:
            atomic_write_json(
                self.out / "error.json", {"error": str(e), "where": e.where, "env_steps": self.opt.env_steps}
            )
            bar.close()
            raise
        bar.close()
        return self._finish()

    # -- the loop --------------------------------------------------------------------------------
    def _loop(self, bar: tqdm) -> None:
        """Runs stages to the end. ``self.wall`` counts training iterations only (collection and
        updates); ``self.total_wall`` counts everything (refits, evaluations, checkpoints too)."""
        t_start = self._t_start = time.perf_counter() - self.total_wall
        while self.state.stage < len(self.stage_ends):
            if self.state.phase == "refit":
                self._refit()
                self.state.phase = "encoder"
                self.total_wall = time.perf_counter() - t_start
                self._checkpoint()
            end = self.stage_ends[self.state.stage]
            while self.opt.env_steps < end:
                t0 = time.perf_counter()
                metrics = self.opt.iterate()
                self.wall += time.perf_counter() - t0
                self._log({"kind": "iteration", "stage": self.state.stage, **metrics})
                bar.update(self.opt.env_steps - bar.n)
                if self.opt.env_steps >= min(self.next_eval, self.config.total_steps):
                    self._evaluate(bar)
                self.total_wall = time.perf_counter() - t_start
                if self.opt.env_steps < end and self.opt.iterations % self.config.checkpoint_every == 0:
                    self._checkpoint()
            self.state.stage += 1
            self.state.phase = "refit"
            self.total_wall = time.perf_counter() - t_start
            self._checkpoint()

    def _refit(self) -> None:
        stage = self.state.stage
        if self.schedule.decoder is None:
            return
        t0 = time.perf_counter()
        obs, act = self.opt.decoder_data(self.schedule.decoder_pairs)
        if stage > 1 and not self.schedule.reinit_decoder:  # keep refining the decoder fitted at stage 1
            decoder = self.policy.decoder
        else:
            decoder = self._new_decoder()
        decoder.requires_grad_(True)
        fit_cfg = self.schedule.fit.model_copy(
            update={"seed": self.config.seed * 1000 + stage, "progress": self.config.progress}
        )
        report = fit_decoder(decoder, obs, act, fit_cfg)
        self.policy = self.policy.with_decoder(decoder)
        if self.schedule.at(self.schedule.reset_encoder, stage):
            self.policy.encoder.reset_to_prior()
        self.opt.bind(self.policy, self.schedule.at(self.schedule.stage_overrides, stage))
        self._log(
            {
                "kind": "refit",
                "stage": stage,
                "pairs": int(obs.shape[0]),
                "seconds": time.perf_counter() - t0,
                **report.summary(),
            }
        )

    def _new_decoder(self) -> Any:
        """A freshly initialised decoder of the schedule's kind, on the run's device."""
        assert self.schedule.decoder is not None
        return decoders.make(
            self.schedule.decoder,
            obs_dim=self.env.obs_dim,
            action_dim=self.env.action_dim,
            **self.schedule.decoder_options,
        ).to(self.device)

    def _evaluate(self, bar: tqdm) -> None:
        self.eval_env.load_env_state(self.eval_start)
        returns = evaluate(self.policy, self.eval_env, self.opt.normalize, self.eval_length)
        mean, std = returns.mean().item(), returns.std(unbiased=False).item()
        rec = {
            "kind": "eval",
            "stage": self.state.stage,
            "env_steps": self.opt.env_steps,
            "return_mean": mean,
            "return_std": std,
            "episodes": int(returns.numel()),
        }
        self.evals.append(rec)
        self._log(rec)
        bar.set_postfix(ret=f"{mean:.1f}", sps=f"{self.opt.env_steps / max(self.wall, 1e-9):.0f}")
        while self.next_eval <= self.opt.env_steps:
            self.next_eval += self.config.eval_every

    # -- files -----------------------------------------------------------------------------------
    def _log(self, record: dict[str, Any]) -> None:
        if self._t_start is not None:
            self.total_wall = time.perf_counter() - self._t_start
        record = {
            **record,
            "env_steps": self.opt.env_steps,
            "wall_time": round(self.wall, 3),
            "total_wall_time": round(self.total_wall, 3),
        }
        line = (json.dumps(record, sort_keys=True) + "\n").encode()
        with open(self.out / "metrics.jsonl", "ab") as f:
            f.write(line)
        self.metrics_bytes += len(line)

    def _write_config(self) -> None:
        atomic_write_json(
            self.out / "config.json",
            {
                "train": self.config.model_dump(),
                "ppo": self.ppo_config.model_dump(),
                "schedule": self.schedule.model_dump(),
            },
        )

    def _checkpoint(self) -> None:
        state = {
            "format": FORMAT,
            "schedule_state": self.state.to_dict(),
            "decoder_name": type(self.policy.decoder).__name__,
            "encoder": self.policy.encoder.state_dict(),
            "decoder": self.policy.decoder.state_dict(),
            "optimizer": self.opt.state_dict(),
            "rng": rng_state(),
            "evals": self.evals,
            "next_eval": self.next_eval,
            "metrics_bytes": self.metrics_bytes,
            "wall": self.wall,
            "total_wall": self.total_wall,
        }
        save_checkpoint(self.out / "checkpoint.pt", state)

    def _load(self, ckpt: dict[str, Any]) -> None:
        self.state = ScheduleState(**ckpt["schedule_state"])
        if ckpt["decoder_name"] != type(self.policy.decoder).__name__:
            if self.schedule.decoder is None:
                raise CheckpointError(
                    f"checkpoint holds a {ckpt['decoder_name']} decoder but the method has none"
                )
            self.policy = self.policy.with_decoder(self._new_decoder())
        self.policy.encoder.load_state_dict(ckpt["encoder"])
        self.policy.decoder.load_state_dict(ckpt["decoder"])
        self.opt.policy = self.policy
        self.opt.load_state_dict(ckpt["optimizer"])  # re-binds the policy: the decoder is frozen again
        self.evals, self.next_eval, self.wall = ckpt["evals"], ckpt["next_eval"], ckpt["wall"]
        self.total_wall = ckpt["total_wall"]
        self.metrics_bytes = ckpt["metrics_bytes"]
        path = self.out / "metrics.jsonl"
        if path.exists():  # drop lines written after the checkpoint: they will be written again
            with open(path, "r+b") as f:
                f.truncate(self.metrics_bytes)
        set_rng_state(ckpt["rng"])

    def _finish(self) -> dict[str, Any]:
        final = self.evals[-1] if self.evals else None
        best = max(self.evals, key=lambda r: r["return_mean"]) if self.evals else None
        summary = {
            "task": self.config.task,
            "method": self.config.method,
            "seed": self.config.seed,
            "env_steps": self.opt.env_steps,
            "wall_time": self.wall,
            "total_wall_time": self.total_wall,
            "env_steps_per_second": self.opt.env_steps / max(self.wall, 1e-9),
            "final_return": final and final["return_mean"],
            "final_return_std": final and final["return_std"],
            "best_return": best and best["return_mean"],
        }
        atomic_write_json(self.out / "summary.json", summary)
        return summary
