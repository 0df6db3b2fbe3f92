"""What an exercise asks you to write yourself.

Some exercises ask for something the engine already does: notebook 2's path sum is
``bpkit.paths.path_sum``, notebook 3's backward passes are ``backward()``, notebook 5's layer
rules are ``bpkit.layers``. While such an exercise is checked (by its check cell, its hidden test
and the instructor's re-check), the engine functions that compute what it asks for are switched
off: calling one, whichever way it is reached (by name, an alias, a method, another engine
function), raises an AssertionError that names it. Outside the checks the engine is yours to use.

An engine function is named by its module and qualified name: ``"bpkit.paths.path_sum"``,
``"bpkit.graph.Var.backward"``. Switching one off replaces its code (``__code__``) by a stand-in
that raises, so that every reference to the function sees the change.
"""
from __future__ import annotations

import contextlib
import functools
import importlib
import types


def message(name: str) -> str:
    return (f"`{name}` computes what this exercise asks you to write, so it is switched off while "
            "your answer is checked: write that computation yourself (outside the checks the "
            "engine is yours to use)")


def engine_function(name: str) -> types.FunctionType:
    """The engine's function called ``name`` (``bpkit.<module>.<qualified name>``); ValueError
    when there is none."""
    parts = name.split(".")
    if parts[0] != "bpkit" or len(parts) < 3:
        raise ValueError(f"{name!r} is not bpkit.<module>.<function>")
    for cut in range(len(parts) - 1, 1, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attr in parts[cut:]:
            # a class's own attribute (staticmethod, property, ...), else a module's
            obj = vars(obj).get(attr) if isinstance(obj, type) else getattr(obj, attr, None)
        obj = getattr(obj, "__func__", obj)  # staticmethod, classmethod
        if isinstance(obj, types.FunctionType):
            return obj
        break
    raise ValueError(f"bpkit has no function {name}")


def engine_functions() -> dict:
    """Every function of the imported engine modules, by name (``bpkit.graph.Var.backward``):
    what an exercise may switch off."""
    import sys
    found = {}
    for module in [m for name, m in list(sys.modules.items()) if name.split(".")[0] == "bpkit" and m]:
        for attr, obj in vars(module).items():
            if isinstance(obj, types.FunctionType) and obj.__module__ == module.__name__:
                found[f"{module.__name__}.{attr}"] = obj
            elif isinstance(obj, type) and obj.__module__ == module.__name__:
                for name, member in vars(obj).items():
                    member = getattr(member, "__func__", getattr(member, "fget", member))
                    if isinstance(member, types.FunctionType):
                        found[f"{module.__name__}.{attr}.{name}"] = member
    return found


@functools.lru_cache(maxsize=None)  # a check switches the same functions off for every case
def stand_in(fn: types.FunctionType, name: str) -> types.CodeType:
    """Code that can replace ``fn.__code__``: it takes any arguments and raises
    AssertionError(message(name)), without looking up a single name (``assert`` loads
    AssertionError by its own instruction), so nothing a student rebinds changes what it does."""
    free = fn.__code__.co_freevars  # the replacement must use as many closure cells
    source = ("def outer():\n" + "".join(f"    {v} = None\n" for v in free)
              + "    def switched_off(*args, **kwargs):\n" + "".join(f"        {v}\n" for v in free)
              + f"        assert False, {message(name)!r}\n"
              + "    return switched_off\n")
    namespace: dict = {}
    exec(compile(source, f"<{name} switched off>", "exec"), namespace)
    return namespace["outer"]().__code__


def stand_ins(names) -> list[tuple[types.FunctionType, types.CodeType]]:
    """(function, the code that switches it off) for each name."""
    return [(fn, stand_in(fn, name)) for name in names for fn in [engine_function(name)]]


@contextlib.contextmanager
def switched_off(names):
    """While the block runs, the engine functions ``names`` raise AssertionError(message(name))."""
    pairs = stand_ins(names)
    saved = [(fn, fn.__code__) for fn, _ in pairs]
    try:
        for fn, code in pairs:
            fn.__code__ = code
        yield
    finally:
        for fn, code in saved:
            fn.__code__ = code
