"""FOCUS: gene-level fine-mapping of TWAS signals over LD blocks (Mancuso et al. 2019 Nat Genet), single
or multi-ancestry (MA-FOCUS, Lu et al. 2022 AJHG). Reference implementation: pyfocus 0.802.

Layers inside the package (no circles): ``bayes`` (Bayes factors) <- ``search`` / ``sss`` (posterior over
gene sets) <- ``model`` (the kernel :func:`focus_block`, arrays in) <- ``align`` (one population's GWAS,
panel and weights aligned over a span) <- ``inputs`` (reads by path, GENCODE prior) <- ``task`` (a work
unit -> ``focus_results`` rows) <- ``run`` (:func:`focus`, the public entry point) <- ``stage`` (config,
CLI, registration). The public names below load on first use, so registering the stage for the CLI
imports no numerics.
"""
import importlib
import sys
import types

_WHERE = {"focus": "run", "to_pyfocus_wide": "run", "focus_block": "model", "block_details": "task"}
__all__ = sorted(_WHERE)


def __getattr__(name):
    if name in _WHERE:
        return getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class CallablePackage(types.ModuleType):
    """The package is also the function: ``lf.focus(...)`` runs :func:`locusflow.focus.run.focus`.

    ``import locusflow.focus.stage`` binds ``locusflow.focus`` to this package, so the public API name
    ``lf.focus`` is this object whichever was imported first; calling it calls the entry point.
    """

    def __call__(self, *args, **kwargs):
        return self.focus(*args, **kwargs)


sys.modules[__name__].__class__ = CallablePackage
