"""Runs a script with MONAI stubbed out: the lent GPU's image lacked it, and scoring never calls it.

    python experiments/no_monai.py scripts/curves.py --runs ... --out scores.json
"""
import importlib.abc, importlib.machinery, runpy, sys
from unittest import mock


class _Stub(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, name, path, target=None):
        return importlib.machinery.ModuleSpec(name, self, is_package=True) if name.split(".")[0] == "monai" else None

    def create_module(self, spec):
        module = mock.MagicMock()
        module.__path__, module.__spec__, module.__name__ = [], spec, spec.name
        return module

    def exec_module(self, module):
        pass


sys.meta_path.insert(0, _Stub())
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")
