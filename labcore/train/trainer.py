"""The one training loop every model family shares.

It knows a model only through the model contract (:mod:`labcore.model`): named optimizers,
``training_step`` calling ``ctx.step(name, loss)`` for each update, optional ``evaluate`` and
``sample``. Everything else here is the trainer's own business: device, precision, seeding, the
data order, gradient clipping, logging, checkpoints, sample grids, signals and non-finite losses.
"""

from __future__ import annotations

import contextlib
import json
import math
import random
import signal
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch

from labcore import checkpoint, distributed
from labcore.data import DataBundle, TensorSplit
from labcore.images import save_grid
from labcore.plugins import PluginManager
from labcore.recipes.optim import Schedule
from labcore.recipes.recipe import Recipe, RecipeError
from labcore.runfolder import Run, environment, utc_now
from labcore.train import preflight
from labcore.train.batching import Batcher
from labcore.train.evaluation import (
    TRAINING,
    check_evaluation,
    evaluation_stamp,
    final_evaluation,
    model_metrics,
)
from labcore.train.monitor import Monitor

#: Tensor datasets smaller than this are held on the GPU whole.
DEVICE_DATA_BYTES = 2 * 1024**3


class NonFiniteLoss(RuntimeError):
    """A loss became NaN or infinite."""


class Interrupted(Exception):
    """SIGINT or SIGTERM arrived; a checkpoint was saved."""

    def __init__(self, signum: int, step: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum
        self.step = step


def pick_device(choice: str) -> torch.device:
    if choice == "cuda" and not torch.cuda.is_available():
        raise RecipeError("run.device = 'cuda' but CUDA is not available; use 'auto' or 'cpu'")
    if choice == "auto":
        choice = "cuda" if torch.cuda.is_available() else "cpu"
    if choice == "cuda" and distributed.is_distributed():
        return torch.device("cuda", distributed.local_rank())
    return torch.device(choice)


def compile_networks(model: torch.nn.Module) -> None:
    """``torch.compile`` the forward of each network of ``model`` (its direct children).

    ``training_step`` calls the networks, not the model's own forward. The compiled forward
    replaces the instance's ``forward``, so parameter names (and checkpoints) stay as they are.
    """
    for network in model.children():
        network.forward = torch.compile(network.forward)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


class _Silent:
    """Stands in for the hook relay on ranks other than 0."""

    def __getattr__(self, name: str) -> Any:
        return lambda **kwargs: None


class TrainContext:
    """The :class:`labcore.model.StepContext` the trainer hands to ``training_step``."""

    def __init__(self, trainer: Trainer) -> None:
        self._trainer = trainer
        self.device = trainer.device
        self.global_step = 0
        self.max_steps = trainer.max_steps

    def autocast(self) -> contextlib.AbstractContextManager:
        return self._trainer.autocast()

    def step(self, name: str, loss: torch.Tensor) -> None:
        self._trainer.optimizer_step(name, loss)


class Trainer:
    """Trains ``recipe``'s model in ``run``; ``fit()`` runs to ``train.max_steps``."""

    def __init__(
        self,
        run: Run,
        recipe: Recipe,
        manager: PluginManager,
        *,
        progress: bool | None = None,
    ) -> None:
        self.run = run
        self.recipe = recipe
        self.manager = manager
        self.rank = distributed.rank()
        self.is_main = self.rank == 0
        self.device = pick_device(recipe.run.device)
        self.precision = recipe.run.precision
        if self.precision == "16-mixed" and self.device.type != "cuda":
            raise RecipeError(
                "run.precision = '16-mixed' needs CUDA (gradient scaling of float16); "
                "use 'bf16-mixed' or '32' on the CPU"
            )
        if self.device.type == "cuda":
            torch.backends.cuda.matmul.allow_tf32 = recipe.run.tf32
            torch.backends.cudnn.allow_tf32 = recipe.run.tf32
        self.progress = progress if progress is not None else sys.stderr.isatty()
        seed_everything(recipe.run.seed + self.rank)

        self.bundle: DataBundle = preflight.load_data(recipe)
        preflight.check_splits(recipe, self.bundle.splits)
        self._hold_on_device()
        model = preflight.build_model(
            recipe.model_cls, recipe.model_config, self.bundle.info, self.device
        )
        check_evaluation(model, recipe.evaluate, manager)
        if recipe.run.sync_batchnorm and distributed.is_distributed():
            model = torch.nn.SyncBatchNorm.convert_sync_batchnorm(model)
        self.model = model.to(self.device)
        distributed.broadcast_state(model)
        factory = recipe.optimizer_factory()
        self.optimizers = model.configure_optimizers(factory)
        factory.check_all_used(recipe.model_cls.name)
        self._averagers = distributed.gradient_averagers(
            self.optimizers, self.device, recipe.run.find_unused_parameters
        )
        if recipe.run.compile:
            compile_networks(model)

        cfg = recipe.train
        self.batcher = Batcher(
            self.bundle.split("train"),
            cfg.batch_size,
            recipe.run.seed,
            self.device,
            rank=self.rank,
            world_size=distributed.world_size(),
            num_workers=cfg.num_workers,
        )
        self.max_steps = cfg.max_steps or cfg.epochs * self.batcher.batches_per_epoch
        self.schedule = Schedule(recipe.schedule, self.optimizers, self.max_steps)
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=self.precision == "16-mixed")
        self.step = 0
        self.ctx = TrainContext(self)
        self._stop_signal: int | None = None
        self._log_sums: dict[str, torch.Tensor] = {}
        self._log_count = 0
        self._losses: list[tuple[int, str, torch.Tensor]] = []
        self.monitor = (
            Monitor(cfg.monitor, cfg.monitor_mode, cfg.patience, cfg.min_delta)
            if cfg.monitor
            else None
        )
        #: Why training stopped before max_steps (early stopping, pruning), None while it runs.
        self.stop_reason: str | None = None
        #: Wall-clock seconds trained before this process began (a resume restores them from
        #: the checkpoint), so that ``time`` in log.jsonl counts on across resumes.
        self.elapsed_before = 0.0
        self._started: float | None = None
        #: Called with the step and metrics of each periodic evaluation (after the monitor has
        #: counted it); a returned text stops training early with that reason.
        self.on_evaluation: Callable[[int, dict[str, float]], str | None] | None = None

    # -- pieces of a step ---------------------------------------------------------------------

    def _hold_on_device(self) -> None:
        if self.device.type != "cuda":
            return
        for name, split in self.bundle.splits.items():
            if isinstance(split, TensorSplit) and split.nbytes() <= DEVICE_DATA_BYTES:
                self.bundle.splits[name] = split.to(self.device)

    def autocast(self) -> contextlib.AbstractContextManager:
        if self.precision == "32":
            return contextlib.nullcontext()
        dtype = torch.bfloat16 if self.precision == "bf16-mixed" else torch.float16
        return torch.autocast(self.device.type, dtype=dtype)

    def optimizer_step(self, name: str, loss: torch.Tensor) -> None:
        if name not in self.optimizers:
            raise KeyError(
                f"ctx.step({name!r}): the model has no optimizer {name!r}; "
                f"it has: {', '.join(self.optimizers)}"
            )
        self._losses.append((self.step + 1, name, loss.detach()))
        optimizer = self.optimizers[name]
        optimizer.zero_grad(set_to_none=True)
        loss = self._averagers[name](loss)
        with torch.autocast(self.device.type, enabled=False):  # backward runs in forward's dtypes
            self.scaler.scale(loss).backward()
        clip = self.recipe.train.grad_clip_norm
        if clip > 0:
            self.scaler.unscale_(optimizer)
            params = [p for group in optimizer.param_groups for p in group["params"]]
            torch.nn.utils.clip_grad_norm_(params, clip)
        self.scaler.step(optimizer)
        self.scaler.update()

    def check_losses(self) -> None:
        """Raise :class:`NonFiniteLoss` naming the first NaN or infinite loss since the last check.

        Losses are checked together (one wait for the device) when the log is written and before
        anything is saved or evaluated, rather than at every update: on a GPU a check per update
        would make the host wait for the device at every step. The updates of the steps in
        between have run, but no checkpoint holds their weights.
        """
        if not self._losses:
            return
        finite = torch.stack([torch.isfinite(loss).all() for _, _, loss in self._losses]).tolist()
        losses, self._losses = self._losses, []
        for ok, (step, name, loss) in zip(finite, losses):
            if not ok:
                raise NonFiniteLoss(f"the {name!r} loss is {loss.float().item()} at step {step}")

    def _accumulate(self, logs: dict[str, Any]) -> None:
        for key, value in logs.items():
            value = torch.as_tensor(value).detach().float()
            if value.numel() != 1:
                continue
            self._log_sums[key] = self._log_sums.get(key, 0.0) + value.reshape(())
        self._log_count += 1

    def _flush_logs(self, started: float) -> dict[str, float]:
        self.check_losses()
        means = {k: float(v) / self._log_count for k, v in self._log_sums.items()}
        self._log_sums, self._log_count = {}, 0
        for key, value in means.items():
            if not math.isfinite(value):
                raise NonFiniteLoss(f"the logged value {key!r} is {value} at step {self.step}")
        record = {"step": self.step, "time": round(time.time() - started, 3), **means}
        for name, rate in self.schedule.rates().items():
            record[f"lr/{name}"] = rate
        self._append_log(record)
        self._event.labcore_step_end(run=self.run, step=self.step, logs=record)
        return means

    def _append_log(self, record: dict[str, Any]) -> None:
        if self.is_main:
            with open(self.run.dir / "log.jsonl", "a") as f:
                f.write(json.dumps(record) + "\n")

    def _status(self, status: str, **fields: Any) -> None:
        if self.is_main:
            self.run.set_status(status, **fields)

    @property
    def _event(self) -> Any:
        """Event hooks, called on rank 0 only (other ranks call nothing)."""
        return self.manager.hook if self.is_main else _Silent()

    # -- state --------------------------------------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        return {
            "model": self.model.state_dict(),
            "optimizers": {n: o.state_dict() for n, o in self.optimizers.items()},
            "scaler": self.scaler.state_dict(),
            "step": self.step,
            "data": self.batcher.state(),
            "rng": checkpoint.rng_state(),
            "world_size": distributed.world_size(),
            "elapsed": self.elapsed(),
            **({"monitor": self.monitor.state_dict()} if self.monitor else {}),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.model.load_state_dict(state["model"])
        for name, opt in self.optimizers.items():
            opt.load_state_dict(state["optimizers"][name])
        self.scaler.load_state_dict(state["scaler"])
        self.step = int(state["step"])
        self.elapsed_before = float(state.get("elapsed", 0.0))
        data = dict(state["data"])
        # checkpoints from before the global batch was recorded kept the per-process batch size
        data.setdefault("global_batch", self.batcher.batch_size * state.get("world_size", 1))
        self.batcher.load_state(data)
        if state.get("world_size", 1) == distributed.world_size():
            checkpoint.set_rng_state(state["rng"])
        else:
            seed_everything(self.recipe.run.seed + self.rank + self.step)
        self.schedule.apply(self.step)
        if self.monitor and "monitor" in state:
            self.monitor.load_state_dict(state["monitor"])

    def save_checkpoint(self) -> Path:
        self.check_losses()
        checkpoint.check_finite(self.model, self.optimizers, self.step)
        folder = self.run.checkpoints
        last = folder / "last.pt"
        every = self.recipe.train.checkpoint_every
        if self.is_main:
            if every and self.step % every == 0:
                path = folder / f"step-{self.step}.pt"
                checkpoint.atomic_save(self.state_dict(), path)
                checkpoint.atomic_link(path, last)
                checkpoint.prune(folder, self.recipe.train.keep_checkpoints)
            else:
                checkpoint.atomic_save(self.state_dict(), last)
            self._event.labcore_checkpoint_saved(run=self.run, path=last, step=self.step)
        distributed.barrier()
        return last

    def save_best(self) -> None:
        """Keep the current state as ``best.pt``, the monitor's new best."""
        checkpoint.check_finite(self.model, self.optimizers, self.step)
        if self.is_main:
            checkpoint.atomic_save(self.state_dict(), self.run.checkpoints / checkpoint.BEST_NAME)
        distributed.barrier()

    def use_final_weights(self) -> dict[str, Any]:
        """Load the weights the final evaluation uses (``train.final``); describe them."""
        monitor = self.monitor
        if monitor is None or monitor.best is None:
            return {"final": "last", "step": self.step}
        described = {"monitor": monitor.metric, "value": monitor.best, "step": monitor.best_step}
        if self.recipe.train.final == "last":
            return {"final": "last", **described}
        if self.is_main:
            best = checkpoint.load(self.run.checkpoints / checkpoint.BEST_NAME)
            self.model.load_state_dict(best["model"])
        distributed.broadcast_state(self.model)
        return {"final": "best", **described}

    # -- periodic work ------------------------------------------------------------------------

    def evaluate(self, split_name: str) -> dict[str, float]:
        """The model's own evaluation on one split, keys prefixed with the split's name."""
        self.check_losses()
        with torch.random.fork_rng(devices=[]), self.autocast():
            return model_metrics(
                self.model, self.bundle, split_name, self.recipe.evaluate.batch_size, self.device
            )

    def write_samples(self) -> Path | None:
        self.check_losses()
        if not self.is_main or not self.model.can_sample:
            return None
        generator = torch.Generator(self.device).manual_seed(self.recipe.run.seed)
        with torch.random.fork_rng(devices=[]), torch.no_grad():
            self.model.eval()
            try:
                grid = self.model.sample_grid(generator, self.bundle)
            finally:
                self.model.train()
        if grid is None:
            return None
        images, nrow = grid
        value_range = tuple(self.bundle.info.get("value_range", (-1.0, 1.0)))
        scale = max(1, 64 // images.shape[-1])
        return save_grid(
            images, self.run.samples / f"step-{self.step:06d}.png", nrow, value_range, scale
        )

    # -- the loop -----------------------------------------------------------------------------

    def resume(self, fallback: bool = False) -> list[str]:
        hint = ". Pass --fallback to resume from the newest readable earlier checkpoint"
        state, path, warnings = checkpoint.load_latest(self.run.checkpoints, fallback, hint)
        checkpoint.load_weights(self.model, state, path)
        self.load_state_dict(state)
        if path.name != "last.pt":
            warnings.append(f"resumed from {path.name} (step {self.step})")
        self._append_log({"step": self.step, "resumed": utc_now(), "checkpoint": path.name})
        return warnings

    def elapsed(self) -> float:
        """Wall-clock seconds of training so far, over this process and those it resumes."""
        if self._started is None:
            return self.elapsed_before
        return time.time() - self._started

    @contextlib.contextmanager
    def _signals(self) -> Iterator[None]:
        def request_stop(signum: int, _frame: Any) -> None:
            self._stop_signal = signum

        previous = {s: signal.signal(s, request_stop) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for s, handler in previous.items():
                signal.signal(s, handler)

    def fit(self) -> dict[str, Any]:
        """Train to ``max_steps``, then evaluate; returns the final metrics."""
        cfg = self.recipe.train
        self._status("running", step=self.step, max_steps=self.max_steps)
        if self.is_main and self.step == 0:
            env = environment(self.device, self.manager)
            (self.run.dir / "env.json").write_text(json.dumps(env, indent=2) + "\n")
        self._event.labcore_run_start(run=self.run)
        started = self._started = time.time() - self.elapsed_before
        bar = self._progress_bar()
        self.model.train()
        try:
            with self._signals():
                if self.monitor and self.monitor.exhausted:
                    self.stop_reason = self.monitor.stop_reason()
                while self.step < self.max_steps and self.stop_reason is None:
                    self.schedule.apply(self.step)
                    batch = self.batcher.next()
                    self.ctx.global_step = self.step
                    with self.autocast():
                        logs = self.model.training_step(batch, self.ctx)
                    self.step += 1
                    distributed.broadcast_buffers(self.model)
                    self._accumulate(logs or {})
                    if self.step % cfg.log_every == 0 or self.step == self.max_steps:
                        means = self._flush_logs(started)
                        if bar is not None:
                            bar.set_postfix({k: f"{v:.4g}" for k, v in list(means.items())[:4]})
                    if bar is not None:
                        bar.update(1)
                    self._periodic(cfg)
                    signum = distributed.agreed_signal(self._stop_signal)
                    if signum is not None:  # every process stops at the same step
                        self.save_checkpoint()
                        raise Interrupted(signum, self.step)
        except Interrupted:
            self._status("interrupted", step=self.step)
            self._event.labcore_run_end(run=self.run, status="interrupted")
            raise
        except BaseException:
            self._status("failed", step=self.step)
            self._event.labcore_run_end(run=self.run, status="failed")
            raise
        finally:
            if bar is not None:
                bar.close()
        if self.monitor and self.stop_reason is None and self.monitor.last_step < self.step:
            self._monitored_evaluation()
        try:
            self.save_checkpoint()
        except checkpoint.NonFiniteState:
            self._status("failed", step=self.step)
            self._event.labcore_run_end(run=self.run, status="failed")
            raise
        if self.stop_reason is not None:
            self._append_log({"step": self.step, "stopped_early": self.stop_reason})
            if self.is_main:
                message = f"labcore: stopped early at step {self.step}: {self.stop_reason}"
                print(message, file=sys.stderr)
        if cfg.sample_every:
            self.write_samples()
        metrics = self.final_evaluation()
        stopped = {"stop_reason": self.stop_reason} if self.stop_reason else {}
        self._status("finished", step=self.step, **stopped)
        self._event.labcore_run_end(run=self.run, status="finished")
        return metrics

    def _periodic(self, cfg: Any) -> None:
        step = self.step
        if cfg.eval_every and step % cfg.eval_every == 0 and step < self.max_steps:
            self._monitored_evaluation()
        if cfg.sample_every and step % cfg.sample_every == 0 and step < self.max_steps:
            self.write_samples()
        if cfg.checkpoint_every and step % cfg.checkpoint_every == 0 and step < self.max_steps:
            self.save_checkpoint()
        if step % 50 == 0:
            self._status("running", step=step, max_steps=self.max_steps)

    def _monitored_evaluation(self) -> None:
        """The periodic evaluation: logged, counted by the monitor (a new best is saved as
        ``best.pt``; an exhausted patience stops training) and handed to ``on_evaluation``."""
        step = self.step
        result = self.evaluate(self.recipe.train.eval_split)
        if not result:
            return
        self._append_log({"step": step, **result})
        self._event.labcore_evaluation_done(run=self.run, step=step, metrics=result)
        if self.monitor:
            try:
                improved = self.monitor.update(step, result)
            except ValueError as exc:
                raise RecipeError(str(exc)) from None
            if improved:
                self.save_best()
            if self.monitor.exhausted:
                self.stop_reason = self.monitor.stop_reason()
        if self.on_evaluation is not None:
            reason = self.on_evaluation(step, result)
            if reason and self.stop_reason is None:
                self.stop_reason = reason

    def final_evaluation(self) -> dict[str, Any]:
        weights = self.use_final_weights()
        started = time.time()
        metrics = {}
        for split in ("val", "test"):
            if self.model.can_evaluate and split in self.bundle.splits:
                self._stage(f"the model's metrics on the {split} split")
            metrics.update(self.evaluate(split))
        config = self.recipe.evaluate
        if config.metrics:
            self._stage(
                f"{', '.join(config.metrics)} on {config.num_samples} samples and the "
                f"{config.split} split"
            )
        with torch.random.fork_rng(devices=[]):
            result = final_evaluation(self.model, self.bundle, config, self.device)
        metrics.update(result["metrics"])
        self._stage(f"done in {time.time() - started:.1f} s")
        record = {
            "step": self.step,
            "metrics": metrics,
            "evaluation": result["details"],
            "weights": weights,
            "stopped_early": self.stop_reason,
            **evaluation_stamp(result, TRAINING, f"{weights['final']}.pt", config),
        }
        if self.is_main:
            self.run.add_evaluation(record)
            self._append_log({"step": self.step, **{f"final/{k}": v for k, v in metrics.items()}})
        self._event.labcore_evaluation_done(run=self.run, step=self.step, metrics=metrics)
        return record

    def _stage(self, text: str) -> None:
        """A line on stderr per stage of the final evaluation, which can take a while."""
        if self.is_main:
            print(f"final evaluation: {text}", file=sys.stderr, flush=True)

    def _progress_bar(self) -> Any:
        if not (self.progress and self.is_main):
            return None
        from tqdm import tqdm

        return tqdm(
            total=self.max_steps,
            initial=self.step,
            desc=self.run.name,
            unit="step",
            dynamic_ncols=True,
        )
