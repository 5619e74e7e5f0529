"""The type stubs describe the extension as it is: every name, method and parameter."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import calprov
import calprov._calprov as native

STUB = Path(calprov.__file__).with_name("_calprov.pyi")


def stub_tree() -> ast.Module:
    return ast.parse(STUB.read_text())


def parameters(node: ast.FunctionDef) -> list[str]:
    args = node.args
    names = [a.arg for a in args.posonlyargs + args.args]
    if args.vararg:
        names.append("*" + args.vararg.arg)
    names += [a.arg for a in args.kwonlyargs]
    return [n for n in names if n != "self"]


def runtime_parameters(obj) -> list[str]:
    out = []
    for p in inspect.signature(obj).parameters.values():
        if p.name == "self":
            continue
        out.append("*" + p.name if p.kind is p.VAR_POSITIONAL else p.name)
    return out


def test_the_package_ships_its_stubs_and_marker():
    assert STUB.exists()
    assert STUB.with_name("py.typed").exists()


def test_every_public_name_is_in_the_stubs_and_the_other_way_round():
    tree = stub_tree()
    stubbed = {n.name for n in tree.body if isinstance(n, (ast.ClassDef, ast.FunctionDef))}
    stubbed |= {t.id for n in tree.body if isinstance(n, ast.AnnAssign) for t in [n.target]}
    runtime = {n for n in dir(native) if not n.startswith("_") or n == "__version__"}
    assert stubbed - {"__version__"} == runtime - {"__version__"}
    assert "__version__" in stubbed


def test_functions_and_methods_take_the_stubbed_parameters():
    for node in stub_tree().body:
        if isinstance(node, ast.FunctionDef):
            assert parameters(node) == runtime_parameters(getattr(native, node.name)), node.name
        if isinstance(node, ast.ClassDef):
            cls = getattr(native, node.name)
            for item in node.body:
                if isinstance(item, ast.FunctionDef):
                    decorated = {d.id for d in item.decorator_list if isinstance(d, ast.Name)}
                    attr = getattr(cls, item.name)
                    assert attr is not None, f"{node.name}.{item.name}"
                    if "property" in decorated:
                        assert isinstance(attr, property) or not callable(attr), f"{node.name}.{item.name}"
                    elif item.name == "__init__":
                        assert parameters(item) == runtime_parameters(cls), node.name
                    else:
                        assert parameters(item) == runtime_parameters(attr), f"{node.name}.{item.name}"


def test_runtime_methods_are_all_stubbed():
    tree = {n.name: n for n in stub_tree().body if isinstance(n, ast.ClassDef)}
    for name in ("Registry", "Outcome"):
        stubbed = {i.name for i in tree[name].body if isinstance(i, ast.FunctionDef)}
        runtime = {m for m in dir(getattr(native, name)) if not m.startswith("_") or m in ("__enter__", "__exit__")}
        assert runtime <= stubbed, runtime - stubbed
