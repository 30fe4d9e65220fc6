import pytest
import torch

from labcore_builtins.sequence.sampling import draw_next


def test_zero_temperature_is_greedy():
    logits = torch.randn(16, 30)
    assert torch.equal(draw_next(logits, temperature=0.0), logits.argmax(-1))


def test_top_1_is_greedy_at_any_temperature():
    logits = torch.randn(16, 30)
    picks = draw_next(logits, temperature=2.0, top_k=1, generator=torch.Generator().manual_seed(0))
    assert torch.equal(picks, logits.argmax(-1))


def test_top_k_draws_only_among_the_k_likeliest():
    logits = torch.randn(1, 50).expand(4000, -1)
    picks = draw_next(logits, top_k=5, generator=torch.Generator().manual_seed(0))
    allowed = set(logits[0].topk(5).indices.tolist())
    assert set(picks.tolist()) == allowed


@pytest.mark.parametrize("temperature", [0.5, 1.0, 2.0])
def test_frequencies_follow_the_tempered_softmax(temperature):
    logits = torch.tensor([[2.0, 1.0, 0.0, -1.0]]).expand(40000, -1)
    picks = draw_next(logits, temperature=temperature, generator=torch.Generator().manual_seed(1))
    frequencies = torch.bincount(picks, minlength=4).double() / len(picks)
    expected = torch.softmax(logits[0].double() / temperature, dim=0)
    assert torch.allclose(frequencies, expected, atol=0.01)


def test_same_generator_seed_gives_the_same_draws():
    logits = torch.randn(64, 20)
    a = draw_next(logits, generator=torch.Generator().manual_seed(3))
    b = draw_next(logits, generator=torch.Generator().manual_seed(3))
    assert torch.equal(a, b)


def test_bad_settings_name_the_problem():
    with pytest.raises(ValueError, match="temperature"):
        draw_next(torch.randn(2, 3), temperature=-1.0)
    with pytest.raises(ValueError, match="top_k"):
        draw_next(torch.randn(2, 3), top_k=-2)
