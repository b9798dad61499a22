"""Finding the function a job names: in a registry, or by importing its dotted path."""
from __future__ import annotations

import importlib
from typing import Any, Callable, Dict, Mapping, Optional, Sequence, Union

Function = Callable[..., Any]


class UnknownFunction(LookupError):
    """The job's `func` is neither registered nor an importable path this worker may use."""


class FunctionTable:
    """Calls `func(*args, **kwargs)` for a job, as an RQ worker would.

    functions: {name: callable}, looked up first.
    dotted_paths: False (registry only), True (import any `module.function` the job names, as
      RQ does: whoever can enqueue can then call any importable function), or module names whose
      functions (and their submodules' functions) may be imported, e.g. ["app.tasks"].
    """

    def __init__(self, functions: Optional[Mapping[str, Function]] = None,
                 dotted_paths: Union[bool, Sequence[str]] = False) -> None:
        self._functions: Dict[str, Function] = dict(functions or {})
        if isinstance(dotted_paths, str):
            raise TypeError("dotted_paths takes True or a list of module names, not a string")
        self._modules = None if dotted_paths is True else tuple(dotted_paths or ())
        self._imports = dotted_paths is True or bool(self._modules)

    def __call__(self, job: Mapping[str, Any]) -> Any:
        function = self.resolve(str(job["func"]))
        return function(*job.get("args", ()), **job.get("kwargs", {}))

    def resolve(self, name: str) -> Function:
        if name in self._functions:
            return self._functions[name]
        if not self._imports:
            raise UnknownFunction(f"no function registered for func {name!r}")
        module_name, _, attribute = name.rpartition(".")
        if not module_name or not all(part.isidentifier() for part in name.split(".")):
            raise UnknownFunction(f"func {name!r} is not a dotted path like module.function")
        if self._modules is not None and not any(
                module_name == m or module_name.startswith(m + ".") for m in self._modules):
            raise UnknownFunction(f"func {name!r} is outside the modules this worker may import "
                                  f"({', '.join(self._modules)})")
        module = importlib.import_module(module_name)
        function: Optional[Function] = getattr(module, attribute, None)
        if function is None or not callable(function):
            raise UnknownFunction(f"module {module_name!r} has no function {attribute!r}")
        self._functions[name] = function
        return function
