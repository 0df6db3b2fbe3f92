"""What the re-check's process does not let student code do: get at the engine's code.

An exercise that asks for what the engine already computes (notebook 2's path sum is
``bpkit.paths.path_sum``) is re-checked with those engine functions switched off
(:mod:`bpkit.asks`). In the student's own kernel that is a courtesy; here it must hold against
student code that knows how it is done. So the re-check (:mod:`bpkit_grade.runner`) calls an
exercise's function in a copy of its process made for that call (``os.fork``), where the
functions are switched off before any student code runs again: their code is then nowhere in
the copy's memory -- unless student code took a copy of it earlier, made a helper that still
has it, or reads it from disk. This audit hook, added before the first student cell and never
removed (Python has no way to remove one), refuses exactly those:

* reading an engine function's or frame's code (``__code__``, ``f_code``, ``gi_code``...) and
  the garbage collector's lists of objects (which reach the same code);
* opening the engine's files (its sources and bytecode: in its folder, in any folder called
  ``bpkit``, or by a bare file name relative to a folder's descriptor) and ``/proc/*/mem``;
* starting a process (``fork``, ``exec``, ``subprocess``, ``system``, ``posix_spawn``), except
  the copy the re-check makes itself (drawings need none: the runner makes ``to_svg`` give an
  empty picture), ctypes, and loading a compiled extension from outside Python's own folders.

Also refused: tracing and profiling (a profiler hands out the code objects of what it saw),
making code objects, and CPython's test modules. Each refusal raises PermissionError in the
student's code; one that student code asked for itself (not a library on its behalf, such as a
traceback being formatted) is counted (``refused``), so the grader can report it. Copying the engine's source text into a notebook cell is not something a
running program can tell from writing it: that stays visible in the submission.
"""
from __future__ import annotations

import os
import sys
import sysconfig

#: attributes that hand out a code object
CODE_ATTRS = frozenset(["__code__", "f_code", "gi_code", "cr_code", "ag_code"])
#: events that start another program or process
PROCESS_EVENTS = frozenset(["os.fork", "os.forkpty", "os.system", "os.exec", "os.posix_spawn",
                            "os.spawn", "subprocess.Popen", "pty.spawn", "os.startfile"])
#: events that list or reach objects by the collector's bookkeeping
GC_EVENTS = frozenset(["gc.get_referents", "gc.get_referrers", "gc.get_objects"])
#: every event the hook looks at (and ``ctypes.*``); the others return at once
WATCHED = PROCESS_EVENTS | GC_EVENTS | {"object.__getattr__", "open", "import", "sys.settrace",
                                        "sys.setprofile", "code.__new__"}


def is_engine_path(path: str, files: frozenset, dirs: tuple) -> bool:
    """``path`` names one of the engine's files: it is in the engine's folder (``dirs``, after
    links are resolved), or it is a file of the engine's in any folder called ``bpkit`` (a copy
    elsewhere on the machine), or a relative path to a file of that name (it may be relative to
    a descriptor of the engine's folder), or some process's memory."""
    if not path.startswith("/") and os.path.basename(path) in files:
        return True
    real = os.path.realpath(path)
    if any(real == d or real.startswith(d + os.sep) for d in dirs):
        return True
    parts = real.split(os.sep)
    if parts[-1] in files and "bpkit" in parts[-3:-1]:
        return True
    return len(parts) >= 3 and parts[1] == "proc" and parts[-1] in ("mem", "pagemap", "map_files")


def engine_modules() -> tuple[frozenset, tuple]:
    """(the file names of the imported engine's modules, sources and bytecode; its folders)."""
    names, dirs = set(), set()
    for module in list(sys.modules.values()):
        file = getattr(module, "__file__", None) or ""
        if str(getattr(module, "__name__", "")).split(".")[0] == "bpkit" and file:
            stem = os.path.basename(file).rsplit(".", 1)[0]
            names |= {f"{stem}.py", f"{stem}.pyc", f"{stem}.{sys.implementation.cache_tag}.pyc"}
            dirs |= {os.path.dirname(os.path.abspath(file)), os.path.dirname(os.path.realpath(file))}
    return frozenset(names), tuple(sorted(dirs))


def install(genuine) -> list:
    """Add the audit hook. ``genuine``: the frame of the re-check's loop, the only one allowed
    to fork. -> the list that collects a line per refusal (the runner reports and clears it)."""
    refused: list = []
    busy = [False]  # the hook reads attributes that raise audit events too
    files, dirs = engine_modules()
    own = tuple(os.path.realpath(p) + os.sep for p in {sys.prefix, sys.base_prefix, sys.exec_prefix})
    getframe, realpath, startswith = sys._getframe, os.path.realpath, str.startswith
    prefixes = tuple(d + os.sep for d in dirs)
    stdlib = (os.path.realpath(sysconfig.get_paths()["stdlib"]) + os.sep, sysconfig.get_paths()["stdlib"] + os.sep, "<frozen ")

    def engine_code(code) -> bool:
        return startswith(str(getattr(code, "co_filename", "")), prefixes)

    def refuse(what: str, caller, through_stdlib: bool = False):
        # counted when student code asked (``through_stdlib``: through the standard library,
        # e.g. subprocess.run), not when a library did on its behalf (IPython formatting a
        # traceback, help(), matplotlib looking for fonts): refused either way
        asker = caller
        while asker is not None and (asker.f_code.co_name == "_modified_open" or (  # IPython's open()
                through_stdlib and startswith(str(asker.f_code.co_filename), stdlib))):
            asker = asker.f_back
        if asker is not None and not startswith(str(asker.f_code.co_filename), own):
            refused.append(what)
        raise PermissionError(f"the re-check does not let student code {what}")

    def hook(event, args):
        if busy[0] or not (event in WATCHED or event.startswith("ctypes.")):
            return
        busy[0] = True
        try:
            caller = getframe(1)
            if caller is genuine:  # the re-check's own loop
                return
            if event == "object.__getattr__" and args[1] in CODE_ATTRS:
                code = getattr(args[0], args[1], None)
                if engine_code(code) and not engine_code(caller.f_code):
                    refuse(f"read the code of the engine's {getattr(code, 'co_name', '?')} ({args[1]})", caller)
            elif event == "open" and isinstance(args[0], (str, bytes)):
                path = os.fsdecode(args[0])
                if is_engine_path(path, files, dirs):
                    refuse(f"open {path[:200]} (the engine's code)", caller, True)
            elif event in PROCESS_EVENTS:
                refuse(f"start a process ({event})", caller, True)
            elif event in ("sys.settrace", "sys.setprofile", "code.__new__"):
                refuse(f"trace, profile or make code ({event})", caller, True)
            elif event == "import" and str(args[0]).startswith(("_test", "_xx")):
                refuse(f"import {str(args[0])[:100]}", caller, True)
            elif event in GC_EVENTS:
                refuse(f"list objects through the garbage collector ({event})", caller, True)
            elif event.startswith("ctypes."):
                refuse(f"use ctypes ({event})", caller, True)
            elif event == "import" and isinstance(args[1], str) and args[1].endswith(".so") \
                    and not startswith(realpath(args[1]), own):
                refuse(f"load the compiled extension {args[1][:200]}", caller)
        finally:
            busy[0] = False

    sys.addaudithook(hook)
    return refused
