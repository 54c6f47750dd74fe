"""benchmarks/refit_fidelity.py's refit of a loaded run: a variant's decoder options reach the decoder it
fits (they once stopped at the Trainer's schedule, and every variant fitted the run's own decoder)."""

from gorl.testing.tiny import TINY_REFITS, tiny_run
from gorl.train import Trainer
from gorl.train_config import TrainConfig


def test_a_variants_decoder_options_build_the_refitted_decoder(tmp_path, load_script):
    script = load_script("refit_fidelity")
    run = tmp_path / "run"
    schedule = {**TINY_REFITS, "stage_fractions": [1.0]}
    Trainer(TrainConfig(**tiny_run("gorl-fm", schedule=schedule)), run).run()
    trainer = Trainer.load(run, progress=False)
    sched = script.fit_variant(trainer.schedule.model_dump(), "5:1e-3:constant:obs_norm=fit")
    record = script.refit_loaded(trainer, sched, stage=1, total_steps=1280, seed=0, episodes=False)
    decoder = trainer.policy.decoder
    assert decoder.config.obs_norm == "fit" and decoder.config.hidden == [16, 16]  # the run's option kept
    assert record["fit_steps"] == 5
    assert not (decoder.net.obs_std == 1).all()  # standardised to the refit's states


def test_parse_decoder_reads_numbers_lists_and_words(load_script):
    parse = load_script("refit_fidelity").parse_decoder
    assert parse("flow:hidden=256x256x256,steps=20,obs_norm=fit,lr=1e-3") == (
        "flow",
        {"hidden": [256, 256, 256], "steps": 20, "obs_norm": "fit", "lr": 1e-3},
    )
