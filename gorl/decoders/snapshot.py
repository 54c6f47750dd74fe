"""Decoder snapshots: a fitted decoder on disk, by registry name, options and weights.

A run writes one per refit (``<run>/decoders/stage<k>.pt``, atomically); ``read`` checks one and
``build`` rebuilds its decoder. A later run starts from one with ``schedule.initial_decoder_from``:
``read_initial`` and ``build_initial`` are those checks, with errors that name the schedule's fields.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import torch

import gorl.decoders as decoders
from gorl.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from gorl.interfaces.decoder import GenerativeDecoder

FORMAT = 1
KIND = "gorl-decoder"


def write(
    path: str | Path, decoder: GenerativeDecoder, name: str, options: dict[str, Any], **origin: Any
) -> None:
    """Writes ``decoder`` (registry ``name``, built with ``options``) to ``path`` atomically; ``origin``
    (task, method, seed, stage, env_steps) says where it came from."""
    snapshot = {
        "format": FORMAT,
        "kind": KIND,
        "name": name,
        "options": copy.deepcopy(options),
        "obs_dim": decoder.obs_dim,
        "action_dim": decoder.action_dim,
        "latent_dim": decoder.latent_dim,
        "state_dict": {k: v.detach().cpu().clone() for k, v in decoder.state_dict().items()},
        **origin,
    }
    save_checkpoint(Path(path), snapshot)


def read(path: str | Path) -> dict[str, Any]:
    """Reads a decoder snapshot.

    Returns:
        The snapshot: ``name`` (the decoder's registry name), ``options`` (its config options),
        ``obs_dim``, ``action_dim``, ``latent_dim``, ``state_dict`` (CPU tensors), and where it came
        from (``task``, ``method``, ``seed``, ``stage``, ``env_steps``).

    Raises:
        CheckpointError: the file is missing, unreadable, or not a decoder snapshot of this format.
    """
    path = Path(path)
    snap = load_checkpoint(path)
    if snap.get("kind") != KIND:
        raise CheckpointError(f"{path} is not a decoder snapshot (a <run>/decoders/stage<k>.pt file)")
    if snap["format"] != FORMAT:
        raise CheckpointError(
            f"decoder snapshot {path} has format {snap['format']}; this gorl reads format {FORMAT}"
        )
    return snap


def build(snapshot: dict[str, Any], device: torch.device | str = "cpu") -> GenerativeDecoder:
    """The decoder a snapshot holds: built by its name and options, its weights loaded, on ``device``."""
    decoder = decoders.make(
        snapshot["name"],
        obs_dim=snapshot["obs_dim"],
        action_dim=snapshot["action_dim"],
        latent_dim=snapshot["latent_dim"],
        **snapshot["options"],
    )
    decoder.load_state_dict(snapshot["state_dict"])
    return decoder.to(device)  # type: ignore[attr-defined, no-any-return]


def read_initial(path: str | Path, initial_decoder: str) -> dict[str, Any]:
    """The snapshot ``schedule.initial_decoder_from`` names, checked to hold ``schedule.initial_decoder``.

    Raises:
        CheckpointError: the file is missing, unreadable or not a snapshot.
        ValueError: it holds another decoder than ``initial_decoder`` (the message says what to set).
    """
    try:
        snap = read(path)
    except CheckpointError as e:
        raise CheckpointError(f"schedule.initial_decoder_from: {e}") from e
    if snap["name"] != initial_decoder:
        raise ValueError(
            f"schedule.initial_decoder is {initial_decoder!r}, but the snapshot that "
            f"schedule.initial_decoder_from names ({path}) holds a {snap['name']!r} decoder: set "
            f"initial_decoder: {snap['name']}"
        )
    return snap


def build_initial(
    snap: dict[str, Any], path: Any, dims: tuple[int, int, int], task: str, device: torch.device | str
) -> GenerativeDecoder:
    """``build(snap)`` for a run on ``task`` with ``dims`` = (obs_dim, action_dim, latent_dim).

    Raises:
        ValueError: the snapshot was fitted with other dimensions (on another task).
        CheckpointError: its weights do not load into the decoder its name and options build.
    """
    if (snap["obs_dim"], snap["action_dim"], snap["latent_dim"]) != dims:
        raise ValueError(
            f"schedule.initial_decoder_from: the snapshot {path} was fitted on {snap.get('task')} "
            f"(obs_dim, action_dim, latent_dim = {snap['obs_dim']}, {snap['action_dim']}, "
            f"{snap['latent_dim']}); this run's task {task} has {dims}"
        )
    try:
        return build(snap, device)
    except (RuntimeError, ValueError, TypeError) as e:  # load_state_dict: missing or mis-shaped weights
        raise CheckpointError(f"schedule.initial_decoder_from: {path} does not load: {e}") from e
