"""The command line end to end, as a user runs it: real subprocesses, real files."""

import json
import re
import signal
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest
import torch

from labcore.recipes import docs as recipe_docs
from labcore.schema import describe

TOY_DIR = Path(__file__).parents[1] / "toy_plugins"
TOY = TOY_DIR / "toy.toml"


@pytest.fixture
def cli(labcore_cli):
    def call(*args, check=0, **kwargs):
        return labcore_cli("--plugins-dir", TOY_DIR, *args, check=check, **kwargs)

    return call


def weights(run_dir: Path) -> dict:
    return torch.load(run_dir / "checkpoints" / "last.pt", weights_only=True)["model"]


def same_weights(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_run_writes_a_complete_run_folder(cli, run_folder, tmp_path):
    result = cli("run", TOY, "--out", tmp_path)
    folder = run_folder(tmp_path)
    assert folder.parent.name == "toy"
    assert "test/accuracy:" in result.stdout
    # the end of a run says how long it took and where its report is; the evaluation is not silent
    assert re.search(r"finished 20 steps in [0-9.]+ s; report: (.+)\n", result.stdout)
    assert f"report: {folder / 'report.html'}" in result.stdout
    assert "final evaluation: the model's metrics on the test split" in result.stderr
    log = [json.loads(line) for line in (folder / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log if "loss" in r] == [5, 10, 15, 20]
    env = json.loads((folder / "env.json").read_text())
    assert env["versions"]["torch"] and env["device"] == "cpu"
    metrics = json.loads((folder / "metrics.json").read_text())
    assert metrics["step"] == 20 and metrics["metrics"]["test/accuracy"] > 0.8
    assert json.loads((folder / "status.json").read_text())["status"] == "finished"
    assert "test/accuracy" in (folder / "report.md").read_text()

    # the saved, resolved recipe reproduces the run exactly
    cli("run", folder / "recipe.toml", "--out", tmp_path / "again")
    assert same_weights(weights(folder), weights(run_folder(tmp_path / "again")))


def test_resume_to_a_larger_budget_is_bitwise_identical(cli, run_folder, tmp_path):
    cli("run", TOY, "--out", tmp_path / "straight", "--set", "train.max_steps=40")
    cli("run", TOY, "--out", tmp_path / "split", "--set", "train.max_steps=20")
    folder = run_folder(tmp_path / "split")
    result = cli("resume", folder, "--set", "train.max_steps=40")
    assert "at step 20 of 40" in result.stderr
    assert same_weights(weights(run_folder(tmp_path / "straight")), weights(folder))
    assert "max_steps = 40" in (folder / "recipe.toml").read_text()


def _wait_for(path: Path, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.time() + timeout
    while not path.exists():
        assert process.poll() is None, process.communicate()
        assert time.time() < deadline, f"{path} did not appear"
        time.sleep(0.02)


def _start(tmp_path: Path, *overrides: str) -> subprocess.Popen:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "labcore",
            "--plugins-dir",
            str(TOY_DIR),
            "run",
            str(TOY),
            "--out",
            str(tmp_path),
            *[a for o in overrides for a in ("--set", o)],
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_killed_run_resumes_bitwise_identical(cli, run_folder, tmp_path):
    steps = ["train.max_steps=60", "train.checkpoint_every=10", "train.keep_checkpoints=2"]
    cli("run", TOY, "--out", tmp_path / "straight", *[a for s in steps for a in ("--set", s)])
    process = _start(tmp_path / "killed", *steps, "model.step_delay=0.02")
    _wait_for(tmp_path / "killed", process)
    folder = next((tmp_path / "killed").glob("toy/*"))
    _wait_for(folder / "checkpoints" / "step-20.pt", process)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert json.loads((folder / "status.json").read_text())["status"] == "running"
    cli("resume", folder)
    assert same_weights(weights(run_folder(tmp_path / "straight")), weights(folder))
    assert sorted(p.name for p in (folder / "checkpoints").glob("step-*")) == [
        "step-50.pt",
        "step-60.pt",
    ]


def test_sigint_saves_a_checkpoint_and_says_how_to_resume(tmp_path):
    process = _start(tmp_path, "train.max_steps=100000", "model.step_delay=0.01")
    _wait_for(tmp_path / "toy", process)
    folder = next((tmp_path / "toy").iterdir())
    _wait_for(folder / "log.jsonl", process)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 128 + signal.SIGINT
    assert f"Resume with: labcore resume {folder}" in stderr
    assert json.loads((folder / "status.json").read_text())["status"] == "interrupted"
    assert (folder / "checkpoints" / "last.pt").is_file()


def test_nan_loss_stops_the_run_and_keeps_the_last_good_checkpoint(cli, run_folder, tmp_path):
    result = cli(
        "run",
        TOY,
        "--out",
        tmp_path,
        "--set",
        "model.nan_at_step=7",
        "--set",
        "train.checkpoint_every=5",
        check=1,
    )
    assert "the 'main' loss is nan at step 7" in result.stderr
    assert "Traceback" not in result.stderr
    folder = run_folder(tmp_path)
    assert torch.load(folder / "checkpoints" / "last.pt", weights_only=True)["step"] == 5
    assert json.loads((folder / "status.json").read_text())["status"] == "failed"


def test_corrupt_checkpoint_is_named_and_fallback_is_explicit(cli, run_folder, tmp_path):
    cli("run", TOY, "--out", tmp_path, "--set", "train.checkpoint_every=10")
    folder = run_folder(tmp_path)
    last = folder / "checkpoints" / "last.pt"
    last.unlink()
    last.write_bytes(b"not a checkpoint")
    result = cli("resume", folder, "--set", "train.max_steps=30", check=1)
    assert "last.pt cannot be read" in result.stderr and "--fallback" in result.stderr
    result = cli("resume", folder, "--set", "train.max_steps=30", "--fallback")
    assert "resumed from step-20.pt" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", TOY, "--set", "model.hiden=3"], "did you mean model.hidden?"),
        (["run", TOY, "--set", "model.nam=3"], "did you mean model.name?"),
        (["run", TOY, "--set", "data.nme=3"], "did you mean data.name?"),
        (["run", TOY, "--set", 'model.name="toy-mpl"'], "Did you mean 'toy-mlp'?"),
        (["run", TOY, "--set", "trian.max_steps=3"], "did you mean train?"),
        (["run", TOY, "--set", "train.max_step=3"], "did you mean train.max_steps?"),
        (["run", TOY, "--set", "optimizer.lrr=3"], "did you mean optimizer.lr?"),
        (["run", TOY, "--set", "schedule.nme=3"], "did you mean schedule.name?"),
        (["run", TOY, "--set", "evaluate.splt=3"], "did you mean evaluate.split?"),
        (["run", TOY, "--set", "evaluate.extractor.nam=3"],
         "did you mean evaluate.extractor.name?"),
        (["run", TOY, "--set", 'evaluate.extractor.name="clasifier"'],
         "Did you mean 'classifier'?"),
        (["run", TOY, "--set", "train.batch_size=1000"], "lower train.batch_size"),
        (["run", "no-such-recipe"], "no recipe file 'no-such-recipe'"),
        (["run", "gan-digit"], "did you mean gan-digits?"),
        (["run", TOY, "--set", "run.precision=16-mixed"], "needs CUDA"),
        (["run", TOY, "--seeds", "x"], "expected seeds like 0-9"),
        (["run", TOY, "--set", 'evaluate.metrics=["fid"]', "--set",
          'evaluate.extractor.name="inception-v3-fid"'], "cannot sample"),
    ],
)
def test_usage_errors_exit_2_with_a_clear_message(cli, tmp_path, args, message):
    result = cli(*args, "--out", tmp_path, check=2)
    assert message in result.stderr and "Traceback" not in result.stderr
    assert not list(tmp_path.glob("*/*")), "a run folder was left behind"


def test_a_wrong_extractor_fails_before_training(cli, tmp_path):
    result = cli("run", "gan-digits", "--set", 'evaluate.extractor.name="classifier"',
                 "--set", f"evaluate.extractor.run={str(tmp_path)!r}", "--out", tmp_path / "out",
                 check=2)
    assert "[evaluate.extractor]" in result.stderr and "classifier-digits" in result.stderr
    assert not list((tmp_path / "out").glob("*/*"))


def test_resume_refuses_to_change_the_model(cli, run_folder, tmp_path):
    cli("run", TOY, "--out", tmp_path)
    result = cli("resume", run_folder(tmp_path), "--set", "model.hidden=4", check=2)
    assert "only train.* and evaluate.*" in result.stderr


def test_sample_needs_a_generative_model(cli, run_folder, tmp_path):
    cli("run", TOY, "--out", tmp_path)
    result = cli("sample", run_folder(tmp_path), "-o", tmp_path / "x.png", check=2)
    assert "cannot sample" in result.stderr


def test_seeds_run_each_seed_and_summarise(cli, tmp_path):
    result = cli("run", TOY, "--out", tmp_path, "--seeds", "0-2")
    summary = json.loads(next((tmp_path / "toy").glob("seeds-*.json")).read_text())
    assert [r["seed"] for r in summary["runs"]] == [0, 1, 2]
    mean, std = summary["summary"]["test/accuracy"]
    values = [r["test/accuracy"] for r in summary["runs"]]
    assert mean == pytest.approx(sum(values) / 3) and std >= 0
    assert "3 seeds" in result.stdout
    page = next((tmp_path / "toy").glob("seeds-*/comparison.html"))
    assert result.stdout.rstrip().endswith(f"runs compared in {page}")
    markdown = (page.parent / "comparison.md").read_text()
    row = next(line for line in markdown.splitlines() if line.startswith("| toy |"))
    assert "| 3 finished |" in row  # one configuration: a row with its three seeds
    for seed, run in enumerate(summary["runs"]):
        assert f"[{seed}](../{Path(run['run']).name}/report.html)" in row


def test_help_and_module_entry_point(labcore_cli):
    result = labcore_cli("--help", check=0)
    for command in ("run", "resume", "evaluate", "sample", "report", "plugins", "recipes"):
        assert command in result.stdout
    assert "--set" in labcore_cli("run", "--help", check=0).stdout


def test_recipes_lists_one_sentence_and_the_time_of_each_recipe(labcore_cli):
    lines = labcore_cli("recipes", check=0).stdout.splitlines()
    families = r"\[(gan|vae|graph|sequence|classifier)\]"
    bundled = [line for line in lines if re.search(families, line)]
    assert len(bundled) >= 30
    for line in bundled:
        name, time, rest = re.fullmatch(r"(\S+)\s+(.+?)\s+\[\w+\] (.*)", line).groups()
        assert re.fullmatch(r"[0-9.]+ (s|min|h|days?|weeks?)", time), (
            f"{name}: no expected time ({time})"
        )
        assert rest.endswith(".") and "…" not in rest, f"{name}: not one sentence: {rest}"


def test_recipes_name_prints_the_whole_description_and_the_toml(labcore_cli):
    text = labcore_cli("recipes", "gan-digits", check=0).stdout
    head, _, body = text.partition("\n[run]")
    assert "gan-digits  [gan] " in head and "Time: about" in head
    assert len(head.strip().splitlines()) >= 3  # the name, the description, the time
    assert tomllib.loads("[run]" + body)["model"]["name"] == "gan"


def test_a_misspelled_recipe_name_gets_a_suggestion(labcore_cli):
    result = labcore_cli("recipes", "gan-digit", check=2)
    assert "did you mean gan-digits?" in result.stderr and "Traceback" not in result.stderr


def test_print_recipe_shows_the_resolved_recipe_and_trains_nothing(cli, tmp_path):
    result = cli("run", TOY, "--print-recipe", "--set", "model.hidden=7", "--out", tmp_path)
    recipe = tomllib.loads(result.stdout)
    assert recipe["model"]["hidden"] == 7 and recipe["model"]["dropout"] == 0.2  # a default
    assert recipe["train"]["max_steps"] == 20 and recipe["train"]["keep_checkpoints"] == 3
    assert not tmp_path.exists() or not any(tmp_path.iterdir())


def test_dry_run_builds_the_dataset_and_model_and_says_their_sizes(cli, tmp_path):
    result = cli("run", TOY, "--dry-run", "--set", "model.hidden=7", "--out", tmp_path)
    tomllib.loads(result.stdout)  # the summary lines are TOML comments
    # toy-mlp: Linear(4, 7) + Linear(7, 2); toy-blobs: 256 examples per split
    assert "# model toy-mlp: 51 parameters (51 trainable); optimizers: main" in result.stdout
    assert "# dataset toy-blobs: train 256, val 256, test 256" in result.stdout
    assert "# training: 20 steps of batch 32 (8 steps per epoch)" in result.stdout
    assert not tmp_path.exists() or not any(tmp_path.iterdir())
    failed = cli("run", TOY, "--dry-run", "--set", "train.batch_size=1000", check=2)
    assert "lower train.batch_size" in failed.stderr


def test_recipe_keys_list_every_key_of_the_host_sections(labcore_cli):
    text = labcore_cli("recipes", "--keys", check=0).stdout
    for section, schema in recipe_docs.section_schemas().items():
        block = text.split(f"[{section}]", 1)[1].split("\n\n", 1)[0]
        for name, type_name, _, doc in describe(schema):
            assert f"  {name}: {type_name} = " in block and doc in block
    assert '  name: str = "adam"' in text and 'name = "sgd": lr = ' in text


def test_docs_recipes_md_is_generated_from_the_schemas():
    committed = (Path(__file__).parents[3] / "docs" / "recipes.md").read_text()
    assert committed == recipe_docs.keys_markdown(), (
        "docs/recipes.md is out of date: labcore recipes --keys --markdown > docs/recipes.md"
    )


@pytest.mark.parametrize(("recipe", "root"), [("lenet5-mnist", "mnist"), ("gcn-cora", "planetoid")])
def test_missing_data_files_exit_2_and_leave_no_run_folder(labcore_cli, tmp_path, recipe, root):
    empty = tmp_path / root
    empty.mkdir()
    result = labcore_cli("run", recipe, "--set", f"data.root={str(empty)!r}",
                         "--out", tmp_path / "out", check=2)
    assert "set data.root" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_generative_commands_asked_the_impossible_exit_2(labcore_cli, run_folder, tmp_path):
    steps = ["--set", "train.max_steps=2", "--set", "train.sample_every=0"]
    labcore_cli("run", "gan-digits", *steps, "--set", "evaluate.metrics=[]",
                "--out", tmp_path / "gan", check=0)
    gan = run_folder(tmp_path / "gan")
    result = labcore_cli("sample", gan, "-o", tmp_path / "x.png", "--class", "3", check=2)
    assert "unconditional" in result.stderr and "--class" in result.stderr
    missing = tmp_path / "no-classifier"
    result = labcore_cli("evaluate", gan, "--set", 'evaluate.metrics=["fid"]',
                         "--set", 'evaluate.extractor.name="classifier"',
                         "--set", f"evaluate.extractor.run={str(missing)!r}", check=2)
    assert "labcore run classifier-digits" in result.stderr and "Traceback" not in result.stderr

    labcore_cli("run", "pix2pix-edges2digits", *steps, "--out", tmp_path / "p2p", check=0)
    result = labcore_cli("sample", run_folder(tmp_path / "p2p"), "-o", tmp_path / "y.png", check=2)
    assert "labcore translate" in result.stderr and "Traceback" not in result.stderr
