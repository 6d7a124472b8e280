"""The layer words, one file per word family: each file registers its words (:mod:`convscope.models.vocabulary`)
and what its module classes tell the summary and the speed rewrites (:mod:`convscope.models.module_traits`).

The registries import every module of this package on their first lookup, so a new layer is one new file
here (plus its test); nothing lists the files by hand.
"""
