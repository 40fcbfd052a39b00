"""The checked-in type stubs (kpipe/__init__.pyi) match the native module: every exported name
and every public method/property of every class is declared."""
import ast
import inspect
import os

import kpipe

STUB = os.path.join(os.path.dirname(__file__), "..", "python", "kpipe", "__init__.pyi")


def stub_classes():
    tree = ast.parse(open(STUB).read())
    out = {}
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            members = set()
            for n in node.body:
                if isinstance(n, ast.FunctionDef):
                    members.add(n.name)
                elif isinstance(n, ast.AnnAssign) and isinstance(n.target, ast.Name):
                    members.add(n.target.id)
            out[node.name] = members
    return out, tree


def test_every_export_is_in_the_stub():
    classes, tree = stub_classes()
    names = set(classes)
    for node in tree.body:
        if isinstance(node, ast.AnnAssign):
            names.add(node.target.id)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
    missing = [n for n in kpipe.__all__ if n not in names]
    assert missing == [], f"not in __init__.pyi: {missing}"


def test_every_method_is_in_the_stub():
    classes, _ = stub_classes()
    problems = []
    for name in kpipe.__all__:
        obj = getattr(kpipe, name)
        if not inspect.isclass(obj) or issubclass(obj, BaseException):
            continue
        for attr in dir(obj):
            if attr.startswith("_") and attr not in ("__enter__", "__exit__", "__iter__", "__next__", "__aiter__", "__anext__"):
                continue
            if attr in dir(object):
                continue
            if attr not in classes.get(name, set()):
                problems.append(f"{name}.{attr}")
    assert problems == [], f"missing from __init__.pyi: {problems}"
