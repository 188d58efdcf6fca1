"""Tests that a submission cannot talk its way past.

nbgrader decides a test cell by its outputs alone: no error output means full points. A student's code runs
in the same kernel as the tests, so it can make a failing test look passed: replace ``torch.allclose`` or
``torch.testing.assert_close`` with a function that accepts anything, silence tracebacks
(``get_ipython().showtraceback = ...``), register an IPython input transformer that rewrites the test cells,
or swap a module in ``sys.modules``. Two defences:

1. A *guard cell*, run before any student code, snapshots what the tests rely on: the functions and
   classes that test cells define for later tests (recorded as each test cell ends), every attribute of the
   modules they use (torch, torch.nn.functional, torch.testing, numpy, math, builtins, the ``course``
   modules the tests import, ...), the method tables of ``torch.Tensor`` and of the ``torch.nn`` layers,
   ``sys.modules`` entries, import hooks, trace and display hooks and IPython's transformers, event
   callbacks and ``showtraceback``. Each test cell calls the check first and last; a difference fails the
   test with ``GraderIntegrityError`` naming what changed, and the grader flags the submission.
2. Each test cell ends by printing a token drawn fresh for this run. A test passes only when its token
   came back and the cell has no error: a cell that was rewritten, cut short or silenced does not print it.

Both live in the kernel the student's code shares, so a student who studies this module could still work
around them; they stop every generic trick, and the instructor sees the flag.
"""

from __future__ import annotations

import ast
import re
import secrets
from dataclasses import dataclass

INTEGRITY_ERROR = "GraderIntegrityError"
ALWAYS_WATCHED = (
    "builtins", "math", "torch", "torch.nn", "torch.nn.functional", "torch.testing", "torch.special",
    "torch.autograd", "torch.linalg", "torch.nn.init", "torch.nn.utils", "torch.nn.utils.clip_grad",
    "numpy", "numpy.testing", "unittest.mock", "contextlib",
)
# changed by ipykernel itself on every execution, or created lazily on first access
VOLATILE = ("builtins.input", "builtins.raw_input", "builtins.getpass", "torch.Storage")
_IMPORT = re.compile(r"^\s*(?:from\s+([A-Za-z_][\w.]*)\s+import|import\s+([A-Za-z_][\w.]*))", re.M)

_GUARD_TEMPLATE = '''\
def _grader_install_guard(module_names, check_name):
    import builtins, importlib, inspect, sys
    modules = {}
    for name in module_names:
        try:
            modules[name] = importlib.import_module(name)
        except Exception:
            pass
    attributes = {name: dict(vars(module)) for name, module in modules.items()}
    classes = {}
    torch = modules.get("torch")
    if torch is not None:
        classes["torch.Tensor"] = torch.Tensor
        for cls_name, cls in vars(torch.nn).items():
            if inspect.isclass(cls) and issubclass(cls, torch.nn.Module):
                classes["torch.nn." + cls_name] = cls
    methods = {name: dict(vars(cls)) for name, cls in classes.items()}
    shell = get_ipython()
    # IPython's exit() stops the kernel's event loop 0.1 s later; with no front end to restart it, whether the
    # cells after it run would depend on how fast they start. Graded, exit() does nothing.
    shell.ask_exit = lambda: None

    def notebook_defined(entries):
        return tuple(entry for entry in entries
                     if getattr(entry, "__module__", None) == "__main__"
                     or getattr(type(entry), "__module__", None) == "__main__")

    hooks = {
        "sys.displayhook": lambda: sys.displayhook, "sys.excepthook": lambda: sys.excepthook,
        "sys.gettrace()": sys.gettrace, "sys.getprofile()": sys.getprofile,
        "builtins.__import__": lambda: builtins.__import__,
        "IPython showtraceback": lambda: getattr(shell.showtraceback, "__func__", shell.showtraceback),
        "IPython _showtraceback": lambda: getattr(shell._showtraceback, "__func__", shell._showtraceback),
        "IPython run_cell": lambda: getattr(shell.run_cell, "__func__", shell.run_cell),
        "IPython run_ast_nodes": lambda: getattr(shell.run_ast_nodes, "__func__", shell.run_ast_nodes),
        "IPython custom_exceptions": lambda: shell.custom_exceptions,
        # libraries add import hooks and IPython callbacks of their own (%matplotlib inline does);
        # what a notebook defines itself has the module __main__
        "sys.meta_path": lambda: notebook_defined(sys.meta_path),
        "sys.path_hooks": lambda: notebook_defined(sys.path_hooks),
        "IPython input transformers": lambda: notebook_defined(
            [*shell.input_transformers_cleanup, *shell.input_transformers_post,
             *shell.input_transformer_manager.cleanup_transforms,
             *shell.input_transformer_manager.line_transforms,
             *shell.input_transformer_manager.token_transformers]),
        "IPython ast_transformers": lambda: notebook_defined(shell.ast_transformers),
        "IPython event callbacks": lambda: notebook_defined(
            [callback for callbacks in shell.events.callbacks.values() for callback in callbacks]),
    }
    hook_values = {name: read() for name, read in hooks.items()}
    module_entries = dict(modules)
    import site
    library_roots = tuple({sys.prefix, sys.base_prefix, *site.getsitepackages()})

    def library_wrapper(new, old):
        """torch wraps some of its own functions when torch._dynamo loads (manual_seed, for one)."""
        code = getattr(new, "__code__", None)
        if code is None or not code.co_filename.startswith(library_roots):
            return False
        inner = new
        for _ in range(4):
            inner = getattr(inner, "__wrapped__", None)
            if inner is old:
                return True
        return False

    volatile = set(VOLATILE_NAMES)

    class GraderIntegrityError(Exception):
        pass

    helpers = {}  # name -> the function or class a test cell defined, which later tests may call

    def check(defined=()):
        changed = []
        namespace = shell.user_ns
        # a test cell may define a helper again (the labs' tests do); anyone else may not
        changed += [f"the test helper {name}()" for name, value in helpers.items()
                    if name not in defined and namespace.get(name, helpers) is not value]
        for name, module in module_entries.items():
            if sys.modules.get(name) is not module:
                changed.append(f"sys.modules[{name!r}]")
            current = vars(module)
            changed += [f"{name}.{attr}" for attr, value in attributes[name].items()
                        if current.get(attr, changed) is not value
                        and not library_wrapper(current.get(attr), value)
                        and (not attr.startswith("_") or attr in ("__import__", "__build_class__"))
                        and f"{name}.{attr}" not in volatile]
        for name, cls in classes.items():
            current = vars(cls)
            before = methods[name]
            changed += [f"{name}.{attr}" for attr in current.keys() | before.keys()
                        if current.get(attr, changed) is not before.get(attr, changed)]
        changed += [name for name, read in hooks.items() if read() != hook_values[name]]
        if changed:
            shown = ", ".join(sorted(changed)[:8]) + (" ..." if len(changed) > 8 else "")
            raise GraderIntegrityError(
                "the grading environment was changed by the notebook, so this test cannot be trusted: "
                f"{shown} differ from the originals. Do not replace library functions, the tests' helpers "
                "or IPython hooks.")
        helpers.update((name, namespace[name]) for name in defined if name in namespace)

    setattr(builtins, check_name, check)


_grader_install_guard(MODULE_NAMES, CHECK_NAME)
del _grader_install_guard
'''


def modules_used_by(test_sources: list[str]) -> list[str]:
    """Every module a test cell imports (``import a.b`` and ``from a.b import c`` give ``a.b``)."""
    names = set()
    for source in test_sources:
        for from_name, import_name in _IMPORT.findall(source):
            names.add(from_name or import_name)
    return sorted(names)


@dataclass(frozen=True)
class Instrumentation:
    """The guard and tokens of one grading run; a new one is drawn for every submission."""

    check_name: str
    tokens: dict[str, str]  # grade id -> token its test cell prints on success

    @classmethod
    def draw(cls, test_ids: list[str]) -> "Instrumentation":
        return cls(f"_grader_check_{secrets.token_hex(8)}",
                   {grade_id: f"grader-token-{secrets.token_hex(16)}" for grade_id in test_ids})

    def guard_source(self, test_sources: list[str]) -> str:
        modules = sorted(set(ALWAYS_WATCHED) | set(modules_used_by(test_sources)))
        return (_GUARD_TEMPLATE.replace("MODULE_NAMES", repr(modules)).replace("CHECK_NAME", repr(self.check_name))
                .replace("VOLATILE_NAMES", repr(VOLATILE)))

    def instrument_test(self, grade_id: str, source: str) -> str:
        """The test source with the check first, and the check and the token at the end.

        When the test's last statement is an expression (nbgrader's partial credit), the end goes just
        before it, so the expression's value is still the cell's result.
        """
        try:
            body = ast.parse(source).body
        except SyntaxError:
            body = []
        helpers = tuple(node.name for node in body
                        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)))
        check = f"{self.check_name}()"
        ending = [f"{self.check_name}(defined={helpers!r})", f"print({self.tokens[grade_id]!r})"]
        lines = source.splitlines()
        if body and isinstance(body[-1], ast.Expr):
            cut = body[-1].lineno - 1
            return "\n".join([check, *lines[:cut], *ending, *lines[cut:]])
        return "\n".join([check, *lines, *ending])

    def token_seen(self, grade_id: str, text: str) -> bool:
        return self.tokens[grade_id] in text

    def strip_tokens(self, text: str) -> str:
        for token in self.tokens.values():
            text = text.replace(token + "\n", "").replace(token, "")
        return text
