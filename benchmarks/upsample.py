"""Nearest upsampling by 2 in the SNGAN generator: labcore's ``upsample2`` against
``F.interpolate(scale_factor=2, mode="nearest")``, forward and backward, same run.

    python benchmarks/upsample.py              # the 32 px generator's shapes, batch 64
    python benchmarks/upsample.py --quick      # fewer repeats, to check that it runs
    python benchmarks/upsample.py --device cuda

Each generator block upsamples twice (the residual and the shortcut). The shapes are those of the
32 px generator at width 32 (4 x 32 = 128 channels from 4x4 to 32x32; ``sngan-mnist32`` has 64,
``sngan-cifar10`` 256; ``--channels``) at batch 64. The two sides alternate within each repeat, so
they see the same machine load; the table gives each side's median milliseconds per forward (as
when the discriminator's fakes are made, without gradients) and per forward + backward (the
generator's update), and the ratios of the medians. The outputs are checked to be equal before
timing.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
import torch.nn.functional as F

from labcore_builtins.gan.resnet_blocks import upsample2

SIDES = (4, 8, 16)  # the inputs of the three up blocks at 32 px


def interpolate(x: torch.Tensor) -> torch.Tensor:
    return F.interpolate(x, scale_factor=2, mode="nearest")


def milliseconds(upsample, x: torch.Tensor, grad: torch.Tensor | None) -> float:
    """Milliseconds of one forward of ``upsample`` on ``x``, and its backward of ``grad`` when
    given."""
    if x.device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    if grad is None:
        with torch.no_grad():
            upsample(x)
    else:
        upsample(x).backward(grad)
    if x.device.type == "cuda":
        torch.cuda.synchronize()
    return (time.perf_counter() - start) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="3 repeats instead of 20")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--channels", type=int, default=128)
    args = parser.parse_args()
    repeats = 3 if args.quick else 20
    device = torch.device(args.device)
    print(f"torch {torch.__version__}, {device}, {torch.get_num_threads()} threads")
    print("| input | pass | F.interpolate (ms) | upsample2 (ms) | speed-up |")
    print("| --- | --- | --- | --- | --- |")
    for side in SIDES:
        shape = (args.batch, args.channels, side, side)
        x = torch.randn(shape, device=device, requires_grad=True)
        grad = torch.randn(args.batch, args.channels, 2 * side, 2 * side, device=device)
        if not torch.equal(upsample2(x), interpolate(x)):
            raise SystemExit("upsample2 and F.interpolate disagree")
        for label, pass_grad in (("forward", None), ("forward + backward", grad)):
            times: dict[str, list[float]] = {"interpolate": [], "upsample2": []}
            for _ in range(repeats + 1):  # the first round warms up and is dropped
                for name, fn in (("interpolate", interpolate), ("upsample2", upsample2)):
                    times[name].append(milliseconds(fn, x, pass_grad))
            reference = statistics.median(times["interpolate"][1:])
            ours = statistics.median(times["upsample2"][1:])
            print(
                f"| {tuple(shape)} | {label} | {reference:.2f} | {ours:.2f} "
                f"| {reference / ours:.1f}x |"
            )


if __name__ == "__main__":
    main()
