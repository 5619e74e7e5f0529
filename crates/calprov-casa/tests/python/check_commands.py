#!/usr/bin/env python3
"""Reads JSON lines {"command": ..., "expected": {key: tagged value}} on stdin, parses each
command with Python's own `ast`, evaluates the keyword values (literals, plus the documented
float('nan') / float('inf') / -float('inf') forms) and checks they equal the expected values.
Standard library only."""
import ast
import json
import math
import struct
import sys


def decode(t):
    (kind, v), = t.items()
    if kind == "none":
        return None
    if kind == "bool":
        return v
    if kind == "int":
        return int(v)
    if kind == "float_bits":
        return struct.unpack("<d", struct.pack("<Q", int(v)))[0]
    if kind == "str":
        return v
    if kind == "list":
        return [decode(x) for x in v]
    if kind == "tuple":
        return tuple(decode(x) for x in v)
    if kind == "dict":
        return {k: decode(x) for k, x in v}
    raise ValueError(kind)


def evaluate(node):
    if isinstance(node, ast.Call):
        # Only the documented non-finite forms: float('nan'), float('inf').
        if (isinstance(node.func, ast.Name) and node.func.id == "float" and len(node.args) == 1
                and not node.keywords and isinstance(node.args[0], ast.Constant)
                and node.args[0].value in ("nan", "inf")):
            return float(node.args[0].value)
        raise ValueError(f"unexpected call {ast.dump(node)}")
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return -evaluate(node.operand)
    if isinstance(node, ast.List):
        return [evaluate(e) for e in node.elts]
    if isinstance(node, ast.Tuple):
        return tuple(evaluate(e) for e in node.elts)
    if isinstance(node, ast.Dict):
        return {evaluate(k): evaluate(v) for k, v in zip(node.keys, node.values)}
    if isinstance(node, ast.Constant):
        return node.value
    raise ValueError(f"unexpected node {ast.dump(node)}")


def same(a, b):
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return (math.isnan(a) and math.isnan(b)) or (a == b and math.copysign(1, a) == math.copysign(1, b))
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return a == b


def main():
    n = 0
    for line in sys.stdin:
        case = json.loads(line)
        command = case["command"]
        tree = ast.parse(command, mode="eval")
        call = tree.body
        if not isinstance(call, ast.Call) or call.args or not isinstance(call.func, ast.Name):
            print(f"FAIL not a keyword call: {command!r}")
            sys.exit(1)
        got = {kw.arg: evaluate(kw.value) for kw in call.keywords}
        expected = {k: decode(v) for k, v in case["expected"].items()}
        if got.keys() != expected.keys() or not all(same(got[k], expected[k]) for k in got):
            print(f"FAIL {command!r}\n  parsed   {got!r}\n  expected {expected!r}")
            sys.exit(1)
        n += 1
    print(f"checked {n} commands")


if __name__ == "__main__":
    main()
