"""The one walk every speed rewrite uses: twins share everything they do not swap and never touch the original."""

from __future__ import annotations

from torch import nn

from convscope.train.speedups.walker import each_child, has_hooks, rewrite


def _relu_to_tanh(module: nn.Module) -> nn.Module | None:
    return nn.Tanh() if type(module) is nn.ReLU else None


def test_nothing_to_swap_returns_the_model_itself():
    net = nn.Sequential(nn.Linear(2, 2), nn.Sequential(nn.Sigmoid()))
    assert rewrite(net, each_child(_relu_to_tanh)) is net


def test_only_containers_on_the_path_are_copied():
    inner = nn.Sequential(nn.ReLU())
    untouched = nn.Sequential(nn.Linear(2, 2))
    net = nn.Sequential(untouched, inner)
    twin = rewrite(net, each_child(_relu_to_tanh))
    assert twin is not net and twin[1] is not inner
    assert twin[0] is untouched  # shared, parameters and all
    assert type(twin[1][0]) is nn.Tanh and type(inner[0]) is nn.ReLU  # the original is unchanged


def test_a_replace_sees_siblings_in_order():
    seen = []

    def record(parent, children):
        seen.append([name for name, _ in children])
        return {}

    rewrite(nn.Sequential(nn.Linear(2, 2), nn.ReLU()), record)
    assert seen == [["0", "1"]]


def test_hooked_modules_are_reported():
    relu = nn.ReLU()
    assert not has_hooks(relu)
    relu.register_forward_hook(lambda *args: None)
    assert has_hooks(relu)
