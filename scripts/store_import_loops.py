#!/usr/bin/env python3
"""Fails when the files of cloud-triage/src/store import each other in a loop.

For each store module (`store/X.rs` or `store/X/mod.rs`) it collects the
other store modules it names, as `super::X`, `crate::store::X` or inside a
`use super::{...}` / `use crate::store::{...}` group, and looks for a cycle
in that graph. Usage: scripts/store_import_loops.py [STORE_DIR]
"""

import pathlib
import re
import sys


def modules(store: pathlib.Path) -> dict[str, str]:
    found = {}
    for path in store.iterdir():
        if path.suffix == ".rs" and path.stem != "mod":
            found[path.stem] = path.read_text()
        elif path.is_dir() and (path / "mod.rs").exists():
            found[path.name] = "\n".join(p.read_text() for p in path.rglob("*.rs"))
    return found


def strip_comments(text: str) -> str:
    text = re.sub(r"//[^\n]*", "", text)
    return re.sub(r"/\*.*?\*/", "", text, flags=re.S)


def references(text: str, names: set[str]) -> set[str]:
    text = strip_comments(text)
    refs = set(re.findall(r"(?:\bsuper|crate::store)::(\w+)", text))
    for group in re.findall(r"(?:\bsuper|crate::store)::\{(.*?)\};", text, flags=re.S):
        # Top-level names of the group: drop nested `{...}` first.
        while re.search(r"\{[^{}]*\}", group):
            group = re.sub(r"\{[^{}]*\}", "", group)
        for item in group.split(","):
            head = item.strip().split("::")[0].split(" as ")[0].strip()
            if head in ("self", ""):
                continue
            refs.add(head)
    return refs & names


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                cycle = visit(nxt)
                if cycle:
                    return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            cycle = visit(node)
            if cycle:
                return cycle
    return None


def main() -> int:
    root = pathlib.Path(__file__).resolve().parent.parent
    store = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else root / "cloud-triage/src/store"
    mods = modules(store)
    names = set(mods)
    graph = {name: references(text, names) - {name} for name, text in mods.items()}
    cycle = find_cycle(graph)
    if cycle:
        print("store import loop: " + " -> ".join(cycle))
        return 1
    edges = sum(len(v) for v in graph.values())
    print(f"no import loop among {len(graph)} store modules ({edges} imports)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
