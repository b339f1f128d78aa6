#!/usr/bin/env python3
"""check-includes.py - fail when framework source files include each other
in a cycle.

A cycle is between modules, not files: a header never includes a .c file,
so the file graph alone has none. A module is one .c file with what it
implements; a header belongs to the module(s) whose .c file defines the
functions it declares (avro_decode.h belongs to avro.c), or, declaring
none, to the .c file of its own name, or else is a module of its own.
One module may be split into several files: PREFIX_*.c files that include
a private header PREFIX_int.h (and PREFIX.c, if it does) are one module,
PREFIX (config_yaml.c, config_diag.c ... share config_int.h).
`#include "x.h"` in any file of module A makes the edge A -> B for each
module B that x.h belongs to (other than A). Any strongly connected set of
two or more modules is a cycle; each is printed with one path round it.

Usage: check-includes.py [SRC_DIR]   (default: framework/src next to this
script). Exit 0 when there is no cycle, 1 when there is, 2 on bad usage.
"""
import os
import re
import sys

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)
# A declaration of a framework-internal function in a header.
DECLARED = re.compile(r"\b(herald__\w+)\s*\(")


def read(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        return f.read()


def defines(text, name):
    """Whether C text defines function `name`: its name and '(' start a
    line or follow the return type at the start of a line, and a '{'
    comes before any ';'."""
    pat = re.compile(r"^(?:[A-Za-z_][\w \t\*]*?[\s\*])?" + re.escape(name)
                     + r"\s*\([^;{]*\)\s*(?:__attribute__\s*\(\(.*?\)\)\s*)?\{",
                     re.M | re.S)
    return pat.search(text) is not None


def modules(src):
    files = sorted(f for f in os.listdir(src) if f.endswith((".c", ".h")))
    text = {f: read(os.path.join(src, f)) for f in files}
    cfiles = [f for f in files if f.endswith(".c")]
    group = {}  # .c file's stem -> its module's name
    for c in cfiles:
        stem = c[:-2]
        group[stem] = stem
        for inc in INCLUDE.findall(text[c]):
            prefix = inc[:-len("_int.h")] if inc.endswith("_int.h") else None
            if prefix and (stem == prefix or stem.startswith(prefix + "_")):
                group[stem] = prefix
    owner = {}  # header -> set of module names
    for h in (f for f in files if f.endswith(".h")):
        names = set(DECLARED.findall(
            re.sub(r"/\*.*?\*/", "", text[h], flags=re.S)))
        impl = {group[c[:-2]] for c in cfiles
                if any(defines(text[c], n) for n in names)}
        if not impl:
            impl = {group.get(h[:-2], h[:-2])}
        owner[h] = impl
    return files, text, owner, group


def graph(src):
    files, text, owner, group = modules(src)
    edges = {}
    for f in files:
        froms = owner[f] if f.endswith(".h") else {group[f[:-2]]}
        for inc in INCLUDE.findall(text[f]):
            if inc not in owner:  # system, SDK or plugins/common header
                continue
            for a in froms:
                for b in owner[inc]:
                    if a != b:
                        edges.setdefault(a, {}).setdefault(b, (f, inc))
    return edges


def cycles(edges):
    """Tarjan's strongly connected components of size > 1."""
    index, low, stack, on, out = {}, {}, [], set(), []
    nodes = sorted(set(edges) | {b for e in edges.values() for b in e})
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(edges.get(v, {})):
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
                out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in nodes:
        if v not in index:
            visit(v)
    return out


def path_round(edges, comp):
    """One cycle through comp's first module, by breadth-first search."""
    start = comp[0]
    inside = set(comp)
    prev = {start: None}
    queue = [start]
    while queue:
        v = queue.pop(0)
        for w in sorted(edges.get(v, {})):
            if w not in inside:
                continue
            if w == start:
                path = [v]
                while prev[path[-1]] is not None:
                    path.append(prev[path[-1]])
                return list(reversed(path)) + [start]
            if w not in prev:
                prev[w] = v
                queue.append(w)
    return comp


def main(argv):
    if len(argv) > 2:
        print(__doc__, file=sys.stderr)
        return 2
    here = os.path.dirname(os.path.abspath(__file__))
    src = argv[1] if len(argv) == 2 else os.path.join(here, "..",
                                                       "framework", "src")
    if not os.path.isdir(src):
        print(f"check-includes: no directory {src}", file=sys.stderr)
        return 2
    edges = graph(src)
    found = cycles(edges)
    for comp in found:
        path = path_round(edges, comp)
        print(f"include cycle among {', '.join(comp)}: " + " -> ".join(path))
        for a, b in zip(path, path[1:]):
            f, inc = edges[a][b]
            print(f"  {a} -> {b}: {f} includes \"{inc}\"")
    if found:
        print(f"check-includes: {len(found)} cycle(s) among the modules of "
              f"{os.path.normpath(src)}")
        return 1
    n = len(set(edges) | {b for e in edges.values() for b in e})
    print(f"check-includes: no include cycle among {n} modules")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
