"""convscope: build, train, search and look inside convolutional networks.

    >>> import convscope
    >>> run = convscope.run({"data": {"source": "builtin:digits"}, "train": {"epochs": 1},
    ...                      "model": {"layers": [{"conv": {"filters": 4, "kernel": 3}}, "flatten", {"dense": 10}]}})
    >>> run.status, len(run.history), sorted(run.test_metrics)
    ('completed', 1, ['test_accuracy', 'test_loss'])

``convscope.run()`` with no config runs the default experiment, a ConvNet on MNIST (downloaded on first use).

The public names are loaded on first use (PEP 562), so ``import convscope`` and the CLI's start-up
stay fast and a submodule (e.g. ``convscope.config``) imports without pulling in torch.
"""

from __future__ import annotations

from convscope.lazy_exports import lazy_exports

__version__ = "0.1.0"

_PUBLIC = {
    "run": "convscope.api",
    "load_run": "convscope.stored_run",
    "Run": "convscope.stored_run",
    "search": "convscope.tuning",
    "load_search": "convscope.tuning",
    "Config": "convscope.config",
    "load_config": "convscope.config",
    "ConvscopeError": "convscope.errors",
    "build_model": "convscope.models",
    "summary": "convscope.models",
}

__all__ = ["__version__", *_PUBLIC]


__getattr__ = lazy_exports(globals(), _PUBLIC)
