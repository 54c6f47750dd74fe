"""``check_env``: the batched env contract (``gorl.interfaces.env``) as a conformance check.

Runs on any backend, a plug-in's included::

    from gorl.testing import check_env
    check_env("gym:Hopper-v5")                                   # a task name, built by make_env
    check_env(lambda n, seed, episode_length: MyEnv(n, seed=seed, episode_length=episode_length))

Checks, in order (``ENV_CHECKS``; each failure is an ``AssertionError`` starting with the check's name):

* ``specs``: the ``BatchedEnv`` attributes, their dims against the reset observation and the asked N and
  episode length; bounds ``low < high``; reset flags all False.
* ``step``: ``("next", ...)`` keys, shapes and dtypes; ``done == terminated | truncated``, never both
  terminated and truncated; the returned root has all-False flags and keeps the next observation of
  envs that did not finish.
* ``truncation``: an env is truncated exactly when its episode reaches ``episode_length`` steps (and not
  terminated), never before.
* ``final_observation``: at an episode's end ``("next", OBSERVATION)`` is the episode's last observation,
  not the reset one that the root carries.
* ``reset_mask``: ``reset`` with a ``"_reset"`` mask resets the masked envs only (the others continue
  as a twin env's that was not reset).
* ``seeding``: the same seed gives bit-identical episodes; another seed other first observations (where
  the copies of one batch start apart, i.e. resets are random).
* ``state``: with ``exact_resume``, a pickled ``env_state`` loaded into a fresh env (another seed)
  continues bit-identically across an episode end; without, two fresh envs loading one state continue
  identically after their reset (restarts are deterministic).
"""

from __future__ import annotations

import pickle
from collections.abc import Callable
from typing import Any

import torch

from gorl.interfaces.env import BatchedEnv
from gorl.interfaces.keys import ACTION, DONE, NEXT, OBSERVATION, REWARD, TERMINATED, TRUNCATED

Make = Callable[[int, int, int], Any]  # make(num_envs, seed, episode_length) -> BatchedEnv


def _fail(check: str, message: str) -> None:
    raise AssertionError(f"{check}: {message}")


def _actions(env: Any, generator: torch.Generator) -> torch.Tensor:
    low, high = env.action_low.cpu(), env.action_high.cpu()
    u = torch.rand(env.num_envs, env.action_dim, generator=generator)
    return low + u * (high - low)


def _run(env: Any, td: Any, steps: int, seed: int = 123) -> tuple[Any, list[dict[str, torch.Tensor]]]:
    """Steps ``env`` from root ``td`` with seeded random actions; returns the last root and per step the
    next observation, reward, flags and the root observation after the step (all on the CPU)."""
    g = torch.Generator().manual_seed(seed)
    out = []
    for _ in range(steps):
        td[ACTION] = _actions(env, g).to(td[OBSERVATION].device)
        stepped, td = env.step_and_maybe_reset(td)
        nxt = stepped[NEXT]
        out.append({k: nxt[k].cpu().clone() for k in (OBSERVATION, REWARD, DONE, TERMINATED, TRUNCATED)})
        out[-1]["root"] = td[OBSERVATION].cpu().clone()
    return td, out


def _same(a: list[dict[str, torch.Tensor]], b: list[dict[str, torch.Tensor]]) -> str | None:
    for t, (x, y) in enumerate(zip(a, b, strict=True)):
        for k in x:
            if not torch.equal(x[k], y[k]):
                return f"{k!r} differs at step {t}"
    return None


def check_specs(make: Make, n: int, length: int) -> None:
    env = make(n, 0, length)
    if not isinstance(env, BatchedEnv):
        _fail("specs", f"{type(env).__name__} lacks part of BatchedEnv (gorl.interfaces.env)")
    if env.num_envs != n or env.episode_length != length:
        _fail("specs", f"num_envs={env.num_envs}, episode_length={env.episode_length}; asked {n}, {length}")
    if env.action_low.shape != (env.action_dim,) or env.action_high.shape != (env.action_dim,):
        _fail("specs", f"action bounds {tuple(env.action_low.shape)} are not (action_dim={env.action_dim},)")
    if not bool((env.action_low < env.action_high).all()):
        _fail("specs", f"action_low {env.action_low} is not below action_high {env.action_high}")
    td = env.reset()
    obs = td[OBSERVATION]
    if obs.shape != (n, env.obs_dim) or obs.dtype != torch.float32 or not bool(obs.isfinite().all()):
        _fail(
            "specs",
            f"reset observation {tuple(obs.shape)} {obs.dtype}; expected ({n}, {env.obs_dim}) float32",
        )
    for key in (DONE, TERMINATED, TRUNCATED):
        if key in td and bool(td[key].any()):
            _fail("specs", f"reset sets {key!r}")


def check_step(make: Make, n: int, length: int) -> None:
    env = make(n, 0, length)
    td = env.reset()
    g = torch.Generator().manual_seed(0)
    for t in range(length + 2):
        td[ACTION] = _actions(env, g).to(td[OBSERVATION].device)
        stepped, root = env.step_and_maybe_reset(td)
        nxt = stepped[NEXT]
        shapes = {OBSERVATION: ((n, env.obs_dim), torch.float32), REWARD: ((n, 1), torch.float32)}
        shapes |= {k: ((n, 1), torch.bool) for k in (DONE, TERMINATED, TRUNCATED)}
        for key, (shape, dtype) in shapes.items():
            if key not in nxt or nxt[key].shape != shape or nxt[key].dtype != dtype:
                got = (tuple(nxt[key].shape), nxt[key].dtype) if key in nxt else "missing"
                _fail("step", f"('next', {key!r}) is {got}, expected {shape} {dtype}")
        done, term, trunc = nxt[DONE], nxt[TERMINATED], nxt[TRUNCATED]
        if not torch.equal(done, term | trunc):
            _fail("step", f"done != terminated | truncated at step {t}")
        if bool((term & trunc).any()):
            _fail("step", f"an env is both terminated and truncated at step {t}")
        if any(bool(root[k].any()) for k in (DONE, TERMINATED, TRUNCATED) if k in root):
            _fail("step", "the root returned by step_and_maybe_reset has done flags set")
        live = ~done.reshape(n)
        if not torch.equal(root[OBSERVATION][live], nxt[OBSERVATION][live]):
            _fail("step", "the root observation of an env that did not finish is not its next observation")
        td = root


def check_truncation(make: Make, n: int, length: int) -> None:
    env = make(n, 0, length)
    _, steps = _run(env, env.reset(), 2 * length + 1)
    count = torch.zeros(n, dtype=torch.int64)
    limit_reached = False
    for t, s in enumerate(steps):
        count += 1
        term, trunc = s[TERMINATED].reshape(n), s[TRUNCATED].reshape(n)
        due = (count >= length) & ~term
        if not torch.equal(trunc, due):
            _fail(
                "truncation",
                f"step {t}: truncated {trunc.tolist()} but episode lengths {count.tolist()} of {length} "
                f"(terminated {term.tolist()})",
            )
        limit_reached |= bool(trunc.any())
        count[s[DONE].reshape(n)] = 0
    if not limit_reached:  # every episode that reached the limit was called terminated
        _fail(
            "truncation", f"no episode of {n} envs x {2 * length + 1} steps was truncated at its time limit"
        )


def check_final_observation(make: Make, n: int, length: int) -> None:
    env = make(n, 0, length)
    _, steps = _run(env, env.reset(), length)
    ended = [s for s in steps if bool(s[DONE].any())]
    if not ended:
        _fail("final_observation", f"no episode ended in {length} steps (episode_length={length})")
    for s in ended:
        done = s[DONE].reshape(n)
        if torch.equal(s[OBSERVATION][done], s["root"][done]):
            _fail("final_observation", "('next', observation) at an episode end equals the reset observation")


def check_reset_mask(make: Make, n: int, length: int) -> None:
    if n < 2:
        return
    a, b = make(n, 0, length), make(n, 0, length)  # twins: b is never reset by mask
    k = max(1, length // 2)
    td_a, _ = _run(a, a.reset(), k)
    td_b, _ = _run(b, b.reset(), k)
    mask = torch.zeros(n, 1, dtype=torch.bool)
    mask[0] = True
    td_a = a.reset(td_a.clone().set("_reset", mask.to(td_a[OBSERVATION].device)))
    _, after_a = _run(a, td_a, 2)
    _, after_b = _run(b, td_b, 2)
    for s_a, s_b in zip(after_a, after_b, strict=True):
        if not torch.equal(s_a[OBSERVATION][1:], s_b[OBSERVATION][1:]):
            _fail("reset_mask", "after a reset masked to env 0, other envs do not continue their episodes")
    if torch.equal(after_a[0][OBSERVATION][0], after_b[0][OBSERVATION][0]):
        _fail("reset_mask", "after a reset masked to env 0, env 0 continues its old episode")


def check_seeding(make: Make, n: int, length: int) -> None:
    a, b, c = make(n, 7, length), make(n, 7, length), make(n, 8, length)
    td_a, td_b = a.reset(), b.reset()
    first_a, first_c = td_a[OBSERVATION].cpu().clone(), c.reset()[OBSERVATION].cpu()
    if not torch.equal(first_a, td_b[OBSERVATION].cpu()):
        _fail("seeding", "two envs with seed 7 reset to different first observations")
    _, run_a = _run(a, td_a, 2 * length)
    _, run_b = _run(b, td_b, 2 * length)
    diff = _same(run_a, run_b)
    if diff is not None:
        _fail("seeding", f"two envs with seed 7 and the same actions differ: {diff}")
    random_starts = not torch.equal(first_a, first_a[:1].expand_as(first_a))  # copies start apart
    if random_starts and torch.equal(first_a, first_c):
        _fail("seeding", "seeds 7 and 8 give the same first observations")


def check_state(make: Make, n: int, length: int) -> None:
    env = make(n, 0, length)
    td, _ = _run(env, env.reset(), length // 2 + 1, seed=1)
    state = pickle.loads(pickle.dumps(env.env_state()))
    if env.exact_resume:
        saved_td = td.clone()
        _, expected = _run(env, td, length + 2, seed=2)  # crosses an episode end
        fresh = make(n, 99, length)
        fresh.reset()
        fresh.load_env_state(state)
        _, got = _run(fresh, saved_td, length + 2, seed=2)
        diff = _same(expected, got)
        if diff is not None:
            _fail(
                "state",
                f"exact_resume is True, but a fresh env loading env_state() continues otherwise: {diff}",
            )
        return
    runs = []
    for seed in (99, 100):
        fresh = make(n, seed, length)
        fresh.load_env_state(state)
        _, out = _run(fresh, fresh.reset(), length + 2, seed=2)
        runs.append(out)
    diff = _same(runs[0], runs[1])
    if diff is not None:
        _fail("state", f"two envs restarted from one env_state() differ: {diff}")


ENV_CHECKS: dict[str, Callable[[Make, int, int], None]] = {
    "specs": check_specs,
    "step": check_step,
    "truncation": check_truncation,
    "final_observation": check_final_observation,
    "reset_mask": check_reset_mask,
    "seeding": check_seeding,
    "state": check_state,
}


def check_env(
    env: str | Make,
    *,
    num_envs: int = 3,
    episode_length: int = 8,
    checks: list[str] | None = None,
    **make_kwargs: Any,
) -> None:
    """Runs ``ENV_CHECKS`` (all, or the names in ``checks``) on a backend's env.

    Args:
        env: a task name for ``gorl.envs.make_env`` (``"cheetah-run"``, ``"gym:Hopper-v5"``), or
            ``make(num_envs, seed, episode_length)`` returning a batched env.
        num_envs: N of every env built.
        episode_length: the time limit the envs are built with (short: truncation is checked).
        checks: the checks to run; None: all.
        **make_kwargs: passed to ``make_env`` with a task name (``options=``, ``device=``).

    Raises:
        AssertionError: the first failed check, its name first.
    """
    if isinstance(env, str):
        from gorl.envs import make_env

        task = env

        def by_name(n: int, seed: int, length: int) -> Any:
            return make_env(task, n, seed=seed, episode_length=length, **make_kwargs)

        make: Make = by_name
    else:
        make = env
    unknown = set(checks or ()) - set(ENV_CHECKS)
    if unknown:
        raise ValueError(f"unknown env checks {sorted(unknown)}; known: {', '.join(ENV_CHECKS)}")
    for name, check in ENV_CHECKS.items():
        if checks is None or name in checks:
            check(make, num_envs, episode_length)
