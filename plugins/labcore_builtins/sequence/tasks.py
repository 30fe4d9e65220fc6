"""One model family for every sequence task: input encoder, backbone, and a head chosen by the task.

A sequence model is ``inputs -> backbone -> head``. The architecture (:mod:`.recurrent`,
:mod:`.tcn`, :mod:`.transformer`) supplies only the :class:`Backbone`; everything a task needs
(the head, the loss, the evaluation, sampling) lives here, so each architecture serves every task.
The dataset declares the task in its ``info``:

``info["task"]``
    ``classify``: cross-entropy on the logits of ``info["num_classes"]`` classes, read from the
    last step's features (one label per sequence, ``y`` of shape ``(N,)``), or from every step's
    features when ``info["per_step"]`` is true (``y`` of shape ``(N, T)``; label ``-100`` marks a
    step that is not scored). Evaluation: ``accuracy`` and ``loss``.

    ``regress``: squared error on ``info.get("num_outputs", 1)`` values read from the last step.
    Evaluation: ``mse`` and ``r2`` (the coefficient of determination: 0 for always answering the
    split's mean).

    ``language-model``: next-token cross-entropy at every step (``y`` is ``x`` shifted by one).
    Evaluation: ``loss`` (nats per token), ``bits_per_char`` (:math:`\\text{loss} / \\ln 2`) and
    ``perplexity`` (:math:`e^{\\text{loss}}`).

The inputs are token ids ``(N, T)`` (int64) fed through an embedding of ``embed_dim`` when
``info["vocab_size"]`` is set, else feature vectors ``(N, T, info["num_features"])``. Batches are
dicts with ``x`` and ``y``.

**Truncated backpropagation through time.** A language model's training batch holds ``N`` chunks of
``T`` consecutive characters. With ``tbptt_steps = k < T`` (recurrent models), one training step
walks the chunks in windows of ``k`` steps: it computes the loss of a window, makes one optimizer
update, and carries the hidden state, detached from the graph, into the next window (Williams and
Peng 1990, "An efficient gradient-based algorithm for on-line training of recurrent network
trajectories"; BPTT(k, k) in their notation). The state starts at zero for every batch and never
crosses training steps, so the trainer may shuffle the chunks freely. With ``tbptt_steps = 0`` the
loss of the whole chunk is backpropagated at once.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
from collections.abc import Iterator
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

import labcore
from labcore import hp
from labcore_builtins.sequence.sampling import draw_next

TASKS = ("classify", "regress", "language-model")
OUTPUT_SIZE_KEYS = {
    "classify": "num_classes",
    "regress": "num_outputs",
    "language-model": "vocab_size",
}
IGNORE = -100  # a label that is not scored (cross-entropy's ignore_index)

State = Any  # a backbone's carried state: a tensor, a tuple of tensors, or None


class Backbone(nn.Module):
    """The architecture's core: per-step features of an input sequence.

    ``forward(x, state)`` maps inputs ``(N, T, in_features)`` and a state carried from the previous
    call (``None``: start afresh) to features ``(N, T, out_features)`` and the new state.

    Attributes: ``out_features``; ``recurrent`` (the state summarises all past input, so generation
    feeds one token at a time); ``causal`` (the features at step ``t`` depend on steps ``<= t``
    only); ``context`` (how many steps back the features can see; ``None`` for all).
    """

    out_features: int
    recurrent: bool = False
    causal: bool = True
    context: int | None = None

    def summary(self, features: torch.Tensor) -> torch.Tensor:
        """One vector per sequence ``(N, out_features)`` from the features ``(N, T, out_features)``.

        The last step's features: for a causal backbone they have seen the whole sequence.
        """
        return features[:, -1]


@dataclasses.dataclass
class SequenceConfig:
    """Hyperparameters every sequence model has."""

    embed_dim: int = hp(64, "size of the token embedding (token inputs: text, copy)")
    sample_length: int = hp(0, "language models: tokens per sample() (0: the data's seq_len)")
    temperature: float = hp(1.0, "language models: sampling temperature of sample() (0: greedy)")
    top_k: int = hp(0, "language models: sample() draws from the k likeliest tokens (0: all)")


def detach_state(state: State) -> State:
    """The carried state cut from the autograd graph (tensors and tuples of tensors)."""
    if state is None:
        return None
    if isinstance(state, torch.Tensor):
        return state.detach()
    return tuple(detach_state(s) for s in state)


@contextlib.contextmanager
def evaluating(module: nn.Module) -> Iterator[None]:
    """Evaluation mode (no dropout) for the duration, restoring the previous mode after."""
    was_training = module.training
    module.eval()
    try:
        yield
    finally:
        module.train(was_training)


def task_of(info: dict[str, Any]) -> str:
    task = info.get("task")
    if task not in TASKS:
        raise ValueError(
            f"sequence models need a dataset whose info declares 'task' as one of {TASKS}, got "
            f"{task!r}; use a sequence dataset (seq-digits, seq-mnist, adding, copy, text)"
        )
    return task


def output_size(info: dict[str, Any], task: str) -> int:
    key = OUTPUT_SIZE_KEYS[task]
    if task == "regress":
        return int(info.get(key, 1))
    if key not in info:
        raise ValueError(f"a '{task}' dataset must give info['{key}']")
    return int(info[key])


class SequenceModel(labcore.Model):
    """Base of the sequence model components: subclasses implement :meth:`build_backbone`."""

    def __init__(self, config: SequenceConfig, info: dict[str, Any]) -> None:
        super().__init__(config, info)
        self.task = task_of(info)
        self.per_step = self.task == "classify" and bool(info.get("per_step", False))
        if "vocab_size" in info:
            self.embed: nn.Embedding | None = nn.Embedding(info["vocab_size"], config.embed_dim)
            in_features = config.embed_dim
        elif "num_features" in info:
            self.embed = None
            in_features = int(info["num_features"])
        else:
            raise ValueError(
                "sequence data must give info['vocab_size'] (token inputs) or "
                "info['num_features'] (vector inputs)"
            )
        self.backbone = self.build_backbone(in_features)
        if self.task == "language-model" and not self.backbone.causal:
            raise ValueError(
                f"model {self.name!r} as configured sees future steps, which a language model "
                "must not; set model.bidirectional = false"
            )
        if self.tbptt_steps and self.task != "language-model":
            raise ValueError(
                f"model.tbptt_steps applies to language models, but this dataset's task is "
                f"{self.task!r}; set model.tbptt_steps = 0"
            )
        self.head = nn.Linear(self.backbone.out_features, output_size(info, self.task))

    def build_backbone(self, in_features: int) -> Backbone:
        raise NotImplementedError

    @property
    def tbptt_steps(self) -> int:
        """Window of truncated BPTT for language models (0: the whole chunk)."""
        return 0

    @property
    def sample_length(self) -> int:
        """Tokens per sample: the ``sample_length`` hyperparameter, else ``info["seq_len"]``."""
        return self.config.sample_length or int(self.info.get("seq_len", 0))

    @property
    def context(self) -> int:
        """How many past tokens generation feeds a non-recurrent model at each step."""
        limits = [c for c in (self.backbone.context, self.info.get("seq_len")) if c]
        if not limits:
            raise ValueError("a non-recurrent language model needs info['seq_len']")
        return min(limits)

    # -- forward ------------------------------------------------------------------------------

    def inputs(self, x: torch.Tensor) -> torch.Tensor:
        """The backbone's input ``(N, T, in_features)`` from token ids ``(N, T)`` or vectors."""
        return self.embed(x) if self.embed is not None else x.float()

    def head_outputs(self, inputs: torch.Tensor, state: State = None) -> tuple[torch.Tensor, State]:
        features, state = self.backbone(inputs, state)
        if self.task == "language-model" or self.per_step:
            return self.head(features), state
        return self.head(self.backbone.summary(features)), state

    def forward(self, x: torch.Tensor, state: State = None) -> tuple[torch.Tensor, State]:
        """The task's outputs and the backbone's new state.

        Outputs: ``classify`` logits ``(N, num_classes)``, or ``(N, T, num_classes)`` per step;
        ``regress`` predictions ``(N, num_outputs)``; ``language-model`` logits ``(N, T, vocab)``.
        """
        return self.head_outputs(self.inputs(x), state)

    def loss(self, outputs: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Mean squared error (``regress``) or mean cross-entropy over the scored labels."""
        if self.task == "regress":
            return F.mse_loss(outputs.float().reshape(y.shape), y.float())
        return F.cross_entropy(
            outputs.float().reshape(-1, outputs.shape[-1]), y.reshape(-1), ignore_index=IGNORE
        )

    # -- training -----------------------------------------------------------------------------

    def training_step(self, batch: dict[str, torch.Tensor], ctx: Any) -> dict[str, Any]:
        x, y = batch["x"], batch["y"]
        if 0 < self.tbptt_steps < x.shape[1]:
            loss = self.truncated_bptt(x, y, ctx)
        else:
            with ctx.autocast():
                outputs, _ = self(x)
                loss = self.loss(outputs, y)
            ctx.step("main", loss)
            loss = loss.detach()
        logs = {"loss": loss}
        if self.task == "language-model":
            logs["bits_per_char"] = loss / math.log(2)
        return logs

    def truncated_bptt(self, x: torch.Tensor, y: torch.Tensor, ctx: Any) -> torch.Tensor:
        """One update per window of ``tbptt_steps`` steps, state carried detached; mean loss."""
        state, total = None, torch.zeros((), device=x.device)
        for start in range(0, x.shape[1], self.tbptt_steps):
            xs, ys = x[:, start : start + self.tbptt_steps], y[:, start : start + self.tbptt_steps]
            with ctx.autocast():
                outputs, state = self(xs, state)
                loss = self.loss(outputs, ys)
            ctx.step("main", loss)
            state = detach_state(state)
            total = total + loss.detach() * xs.shape[1]
        return total / x.shape[1]

    # -- evaluation ---------------------------------------------------------------------------

    @torch.no_grad()
    def evaluate(self, split: Any, ctx: Any) -> dict[str, float]:
        sums: dict[str, float] = {}

        def add(key: str, value: torch.Tensor | float) -> None:
            sums[key] = sums.get(key, 0.0) + float(value)

        with evaluating(self):
            for batch in ctx.batches(split):
                x, y = batch["x"], batch["y"]
                outputs, _ = self(x)
                if self.task == "regress":
                    y = y.float()
                    add("sse", ((outputs.float().reshape(y.shape) - y) ** 2).sum())
                    add("n", y.numel())
                    add("sum_y", y.sum())
                    add("sum_y2", (y**2).sum())
                    continue
                logits = outputs.float().reshape(-1, outputs.shape[-1])
                labels = y.reshape(-1)
                scored = labels != IGNORE
                add("nll", F.cross_entropy(logits, labels, ignore_index=IGNORE, reduction="sum"))
                add("n", scored.sum())
                add("correct", ((logits.argmax(-1) == labels) & scored).sum())
        if not sums.get("n"):
            raise ValueError("evaluation split is empty: it has no scored examples")
        n = sums["n"]
        if self.task == "regress":
            mse = sums["sse"] / n
            variance = sums["sum_y2"] / n - (sums["sum_y"] / n) ** 2
            return {"mse": mse, "r2": 1.0 - mse / variance if variance > 0 else float("nan")}
        loss = sums["nll"] / n
        if self.task == "classify":
            return {"accuracy": sums["correct"] / n, "loss": loss}
        return {"loss": loss, "bits_per_char": loss / math.log(2), "perplexity": math.exp(loss)}

    def step_sensitivity(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """How much each input step moves the loss: ``(T,)`` gradient norms, one per step.

        The norm :math:`\\lVert \\partial L / \\partial x_t \\rVert` of the gradient of the batch's
        loss with respect to the backbone's input at step ``t``, averaged over the batch. Its
        decay from the last step back to the first is the vanishing gradient of Bengio et al. 1994
        ("Learning long-term dependencies with gradient descent is difficult"): a vanilla RNN's
        falls by orders of magnitude over 100 steps, an LSTM's much less.
        """
        with evaluating(self), torch.backends.cudnn.flags(enabled=False):
            inputs = self.inputs(x).detach().requires_grad_(True)
            outputs, _ = self.head_outputs(inputs)
            (grad,) = torch.autograd.grad(self.loss(outputs, y), inputs)
        return grad.norm(dim=-1).mean(dim=0)

    # -- sampling (language models) -----------------------------------------------------------

    @property
    def can_sample(self) -> bool:
        return self.task == "language-model"

    def sample_grid(self, generator: torch.Generator, bundle: Any) -> None:
        """Text is not an image: language models show their samples in the report instead."""
        return None

    def sample(
        self, n: int, *, generator: torch.Generator, condition: torch.Tensor | None = None
    ) -> torch.Tensor:
        """``n`` sequences of ``sample_length`` token ids ``(n, sample_length)``.

        With ``sample_length`` 0 a sample is as long as the data's chunks, ``info["seq_len"]``,
        so that it has the shape ``info["shape"]`` of one example.

        ``condition`` is a prompt of token ids, ``(P,)`` shared by all samples or ``(n, P)``;
        without one, sampling starts from ``info["start_token"]`` (a newline for text). The
        returned ids are the continuation only, drawn with ``temperature`` and ``top_k``.
        """
        if not self.can_sample:
            raise NotImplementedError(
                f"model {self.name!r} samples only as a language model; this task is {self.task!r}"
            )
        if condition is None:
            prompt = torch.full((n, 1), int(self.info.get("start_token", 0)), dtype=torch.long)
        else:
            prompt = condition.long().reshape(-1, condition.shape[-1]).expand(n, -1)
        return self.generate(
            prompt,
            self.sample_length,
            temperature=self.config.temperature,
            top_k=self.config.top_k,
            generator=generator,
        )

    @torch.no_grad()
    def generate(
        self,
        prompt: torch.Tensor,
        length: int,
        *,
        temperature: float = 1.0,
        top_k: int = 0,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """Continue ``prompt`` ``(n, P)`` by ``length`` tokens; returns ``(n, length)`` ids.

        Autoregressive: each token is drawn from :math:`p(x_t \\mid x_{<t})` (see
        :func:`~.sampling.draw_next`). A recurrent model reads the prompt once and then one token
        per step, carrying its state; the others re-read the last :attr:`context` tokens.
        """
        if prompt.dim() != 2 or prompt.shape[1] == 0:
            raise ValueError(
                f"prompt must be token ids of shape (n, P) with P >= 1, got {tuple(prompt.shape)}"
            )
        prompt = prompt.to(self.head.weight.device)
        tokens = []
        with evaluating(self):
            if self.backbone.recurrent:
                logits, state = self(prompt)
                for i in range(length):
                    token = draw_next(
                        logits[:, -1], temperature=temperature, top_k=top_k, generator=generator
                    )
                    tokens.append(token)
                    if i + 1 < length:
                        logits, state = self(token[:, None], state)
            else:
                seq = prompt
                for _ in range(length):
                    logits, _ = self(seq[:, -self.context :])
                    token = draw_next(
                        logits[:, -1], temperature=temperature, top_k=top_k, generator=generator
                    )
                    tokens.append(token)
                    seq = torch.cat([seq, token[:, None]], dim=1)
        if not tokens:
            return prompt.new_zeros((prompt.shape[0], 0))
        return torch.stack(tokens, dim=1)

    def generate_text(
        self,
        prompt: str,
        length: int,
        temperature: float = 1.0,
        top_k: int = 0,
        generator: torch.Generator | None = None,
    ) -> str:
        """The ``length`` characters that continue ``prompt`` (an empty prompt starts afresh).

        Characters map to ids through ``info["vocab"]``, the string of the vocabulary's characters.
        """
        vocab = self.info.get("vocab")
        if self.task != "language-model" or not vocab:
            raise ValueError("generate_text needs a language model trained on text (info['vocab'])")
        index = {char: i for i, char in enumerate(vocab)}
        unknown = sorted(set(prompt) - set(index))
        if unknown:
            raise ValueError(
                f"prompt has characters outside the model's vocabulary: {unknown!r}; remove them"
            )
        ids = [index[c] for c in prompt] or [int(self.info.get("start_token", 0))]
        tokens = self.generate(
            torch.tensor([ids]), length, temperature=temperature, top_k=top_k, generator=generator
        )
        return "".join(vocab[i] for i in tokens[0].tolist())
