"""convscope: build, train, search and look inside convolutional networks.

    >>> import convscope
    >>> run = convscope.run()                 # doctest: +SKIP  (the default experiment on MNIST)
    >>> run.test_metrics["test_accuracy"]     # doctest: +SKIP
"""

__version__ = "0.1.0"

from convscope.api import Run, load_run, run  # noqa: E402
from convscope.config import Config, load_config  # noqa: E402
from convscope.errors import ConvscopeError  # noqa: E402
from convscope.models import build_model, summary  # noqa: E402

__all__ = ["Config", "ConvscopeError", "Run", "__version__", "build_model", "load_config", "load_run", "run",
           "summary"]
