#!/usr/bin/env python3
"""infra/checks/structure.py — the code map's rules (docs/architecture.md, "Where things live"):

1. no Rust source file under server/ is over 600 lines;
2. no import circle between the modules of a crate: module A uses module B (`use crate::b…`,
   `crate::b::…` or `super::…` paths) and B, directly or not, uses A. Uses of an ancestor module
   (a child reaching its parent's items) are not edges: a parent declares its children;
3. route handlers hold no SQL, Redis commands or Redis key formats (no `sqlx::`, `redis::cmd`,
   `format!("cb:` under server/api/src/routes).

Prints each violation and exits 1 if there is any. Pure text analysis: no build needed.
"""
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SERVER = os.path.join(ROOT, "server")
MAX_LINES = 600
problems = []


def crate_modules(src):
    """Module path (tuple) → file, for every .rs file of a crate's src/."""
    mods = {}
    for dirpath, _, files in os.walk(src):
        for f in files:
            if not f.endswith(".rs"):
                continue
            rel = os.path.relpath(os.path.join(dirpath, f), src)[:-3].split(os.sep)
            if rel[-1] in ("mod", "lib", "main"):
                rel = rel[:-1]
            if rel and rel[0] == "bin":
                continue
            mods[tuple(rel)] = os.path.join(dirpath, f)
    return mods


def strip_comments_and_tests(text):
    text = re.sub(r"//[^\n]*", "", text)
    # Test modules may reach anything they test.
    m = re.search(r"#\[cfg\(test\)\]\s*mod\s+\w+\s*\{", text)
    return text[: m.start()] if m else text


def used_paths(text, here):
    """Module paths this file names, resolved against its own module path `here`."""
    out = set()
    # `use` trees: expand one level of braces at the top (use crate::{a, b::c}).
    for m in re.finditer(r"\buse\s+([^;]+);", text):
        tree = re.sub(r"\s+", "", m.group(1))
        out.update(expand(tree))
    for m in re.finditer(r"\b((?:crate|super)(?:::\w+)+)", text):
        out.add(m.group(1))
    resolved = set()
    for p in out:
        parts = p.split("::")
        if parts[0] == "crate":
            base, rest = [], parts[1:]
        elif parts[0] == "super":
            base = list(here)
            rest = parts
            while rest and rest[0] == "super":
                base = base[:-1]
                rest = rest[1:]
        else:
            continue
        resolved.add(tuple(base + [r for r in rest if r not in ("self", "*")]))
    return resolved


def expand(tree):
    m = re.match(r"^([\w:]*?)::\{(.*)\}$", tree)
    if not m:
        return [tree]
    prefix, inner = m.group(1), m.group(2)
    items, depth, cur = [], 0, ""
    for ch in inner:
        if ch == "," and depth == 0:
            items.append(cur)
            cur = ""
            continue
        depth += ch == "{"
        depth -= ch == "}"
        cur += ch
    items.append(cur)
    out = []
    for it in items:
        if it:
            out.extend(expand(f"{prefix}::{it}"))
    return out


def longest_module(path, mods):
    for n in range(len(path), 0, -1):
        if path[:n] in mods:
            return path[:n]
    return None


def cycles(graph):
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(comp)

    sys.setrecursionlimit(10000)
    for v in list(graph):
        if v not in index:
            visit(v)
    return out


for crate in sorted(os.listdir(SERVER)):
    src = os.path.join(SERVER, crate, "src")
    if not os.path.isdir(src):
        continue
    mods = crate_modules(src)
    graph = {}
    for mod, path in mods.items():
        text = open(path, encoding="utf-8").read()
        n = text.count("\n")
        if n > MAX_LINES:
            problems.append(f"{os.path.relpath(path, ROOT)}: {n} lines (at most {MAX_LINES}): split it")
        body = strip_comments_and_tests(text)
        for p in used_paths(body, mod):
            target = longest_module(p, mods)
            if target is None or target == mod:
                continue
            # A module reaching an ancestor's items, or a parent naming its children, is no edge.
            if mod[: len(target)] == target or target[: len(mod)] == mod:
                continue
            graph.setdefault(mod, set()).add(target)
    for comp in cycles(graph):
        names = sorted("::".join(m) or "(root)" for m in comp)
        problems.append(f"server/{crate}: import circle between modules {', '.join(names)}")

routes = os.path.join(SERVER, "api", "src", "routes")
for dirpath, _, files in os.walk(routes):
    for f in files:
        if f.endswith(".rs"):
            path = os.path.join(dirpath, f)
            body = strip_comments_and_tests(open(path, encoding="utf-8").read())
            for needle in ("sqlx::", "redis::cmd", 'format!("cb:'):
                if needle in body:
                    problems.append(f"{os.path.relpath(path, ROOT)}: `{needle}` in a route module (move it below api)")

for p in problems:
    print(p)
if problems:
    print(f"{len(problems)} structure problem(s): see docs/architecture.md, 'Where things live'", file=sys.stderr)
    sys.exit(1)
print("structure: no file over 600 lines, no import circles, no SQL or Redis in routes")
