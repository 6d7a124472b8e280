"""Data: a config's ``data:`` section in, train/validation/test tensors out (:func:`load_data`, in ``load.py``).

The public names are loaded on first use (PEP 562), so ``convscope data ls`` can read the cache
(``convscope.data.cache``) without importing torch.

Example:
    >>> from convscope.data import load_data
    >>> load_data.__module__
    'convscope.data.load'
"""

from __future__ import annotations

from convscope.lazy_exports import lazy_exports

_PUBLIC = {
    "SOURCES": "convscope.data.base",
    "Dataset": "convscope.data.base",
    "Source": "convscope.data.base",
    "Split": "convscope.data.base",
    "build_augment": "convscope.data.augment",
    "find_source": "convscope.data.load",
    "load_data": "convscope.data.load",
}

__all__ = list(_PUBLIC)

__getattr__ = lazy_exports(globals(), _PUBLIC)
