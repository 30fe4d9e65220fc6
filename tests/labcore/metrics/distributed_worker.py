"""Run under torchrun by test_distributed_evaluation.py: ``evaluate_generative`` on the toy model,
extractor and data of test_generative_eval.py; rank 0 writes the result as JSON.

    python -m torch.distributed.run --standalone --nproc-per-node=2 distributed_worker.py OUT CACHE
"""

import importlib.util
import json
import sys
from pathlib import Path

import torch.distributed as dist

from labcore import distributed
from labcore.metrics import evaluate_generative

spec = importlib.util.spec_from_file_location(
    "generative_toys", Path(__file__).with_name("test_generative_eval.py")
)
toys = importlib.util.module_from_spec(spec)
spec.loader.exec_module(toys)

out, cache = Path(sys.argv[1]), Path(sys.argv[2])
distributed.init_from_environment("cpu")
values, details = evaluate_generative(
    toys.Blobs(), toys.bundle(), toys.config(cache), "cpu", registry=toys.Registry()
)
if distributed.rank() == 0:
    record = {"values": values, "details": details, "world_size": distributed.world_size()}
    out.write_text(json.dumps(record))
if distributed.is_distributed():
    dist.destroy_process_group()
