import torch

from labcore.data import FullBatch, TensorSplit
from labcore.train.batching import Batcher, eval_batches

CPU = torch.device("cpu")


def take(batcher, n):
    return [batcher.next()["x"].clone() for _ in range(n)]


def test_resumed_batcher_continues_the_same_order():
    split = TensorSplit(x=torch.arange(50))
    straight = take(Batcher(split, 8, seed=3, device=CPU), 14)
    first = Batcher(split, 8, seed=3, device=CPU)
    head = take(first, 9)
    second = Batcher(split, 8, seed=3, device=CPU)
    second.load_state(first.state())
    tail = take(second, 5)
    assert all(torch.equal(a, b) for a, b in zip(straight, head + tail))


def test_epochs_are_permutations_and_differ():
    split = TensorSplit(x=torch.arange(48))
    batches = take(Batcher(split, 8, seed=0, device=CPU), 12)
    epoch0, epoch1 = torch.cat(batches[:6]), torch.cat(batches[6:])
    assert sorted(epoch0.tolist()) == list(range(48))
    assert not torch.equal(epoch0, epoch1)


def test_ranks_split_the_global_order():
    split = TensorSplit(x=torch.arange(64))
    single = take(Batcher(split, 16, seed=1, device=CPU), 4)
    ranks = [take(Batcher(split, 8, seed=1, device=CPU, rank=r, world_size=2), 4) for r in (0, 1)]
    for step in range(4):
        merged = torch.cat([ranks[0][step], ranks[1][step]])
        assert torch.equal(merged, single[step])


def test_eval_batches_cover_everything_in_order():
    split = TensorSplit(x=torch.arange(10))
    assert torch.cat([b["x"] for b in eval_batches(split, 4, CPU)]).tolist() == list(range(10))
    graph = FullBatch(torch.ones(3))
    assert len(list(eval_batches(graph, 4, CPU))) == 1


def test_a_position_carries_over_to_another_number_of_processes():
    split = TensorSplit(x=torch.arange(96))
    straight = take(Batcher(split, 16, seed=2, device=CPU), 6)
    alone = Batcher(split, 16, seed=2, device=CPU)
    take(alone, 2)
    ranks = [Batcher(split, 8, seed=2, device=CPU, rank=r, world_size=2) for r in (0, 1)]
    for batcher in ranks:
        batcher.load_state(alone.state())  # same global batch of 16: same step index
    for step in range(2, 6):
        merged = torch.cat([batcher.next()["x"] for batcher in ranks])
        assert torch.equal(merged, straight[step])
    # the same per-process batch with twice the processes: half as many (larger) steps in
    doubled = Batcher(split, 16, seed=2, device=CPU, rank=0, world_size=2)
    doubled.load_state(alone.state())
    assert doubled.index == 1
    assert torch.equal(doubled.next()["x"], straight[2])
