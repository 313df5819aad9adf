#!/usr/bin/env python3
"""Fails when the files of cloud-triage/src/store import each other in a loop.

For each store module (`store/X.rs` with any `store/X/*.rs` below it, or
`store/X/mod.rs`) it collects the other store modules its files name, as
`super::Y` (`super::super::Y` one folder down), `crate::store::Y`, or
inside such a `use ...::{...}` group, and looks for a cycle in that graph. Usage: scripts/store_import_loops.py [STORE_DIR]
"""

import pathlib
import re
import sys


def modules(store: pathlib.Path) -> dict[str, list[tuple[str, int]]]:
    """Each store module's files, as (text, depth below store/)."""
    found: dict[str, list[tuple[str, int]]] = {}
    for path in sorted(store.iterdir()):
        if path.suffix == ".rs" and path.stem != "mod":
            found.setdefault(path.stem, []).append((path.read_text(), 0))
        elif path.is_dir():
            for file in sorted(path.rglob("*.rs")):
                rel = file.relative_to(store)
                # store/X/mod.rs sits at X's level; store/X/Y.rs one below.
                depth = len(rel.parts) - (2 if file.name == "mod.rs" else 1)
                found.setdefault(path.name, []).append((file.read_text(), depth))
    return found


def strip_comments(text: str) -> str:
    text = re.sub(r"//[^\n]*", "", text)
    return re.sub(r"/\*.*?\*/", "", text, flags=re.S)


def references(text: str, depth: int, names: set[str]) -> set[str]:
    """Store modules a file at `depth` below store/ names."""
    text = strip_comments(text)
    up = r"\bsuper" + r"::super" * depth
    prefix = rf"(?:{up}|crate::store)"
    refs = set(re.findall(prefix + r"::(\w+)", text))
    for group in re.findall(prefix + r"::\{(.*?)\};", text, flags=re.S):
        # Top-level names of the group: drop nested `{...}` first.
        while re.search(r"\{[^{}]*\}", group):
            group = re.sub(r"\{[^{}]*\}", "", group)
        for item in group.split(","):
            head = item.strip().split("::")[0].split(" as ")[0].strip()
            if head in ("self", "super", ""):
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
    graph = {
        name: set().union(*(references(t, d, names) for t, d in files)) - {name}
        for name, files in mods.items()
    }
    cycle = find_cycle(graph)
    if cycle:
        print("store import loop: " + " -> ".join(cycle))
        return 1
    edges = sum(len(v) for v in graph.values())
    print(f"no import loop among {len(graph)} store modules ({edges} imports)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
