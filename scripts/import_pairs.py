"""Print the pairs of top-level mission_control packages that import each other, and their count.

Usage: PYTHONPATH=src .venv/bin/python scripts/import_pairs.py [--no-type-checking]
"""

import sys
from itertools import combinations

import grimp


def mutual_pairs(exclude_type_checking: bool) -> list[tuple[str, str]]:
    graph = grimp.build_graph(
        "mission_control", exclude_type_checking_imports=exclude_type_checking
    )
    tops = sorted(graph.find_children("mission_control"))

    def imports(importer: str, imported: str) -> bool:
        return graph.direct_import_exists(importer=importer, imported=imported, as_packages=True)

    return [(a, b) for a, b in combinations(tops, 2) if imports(a, b) and imports(b, a)]


def main() -> None:
    pairs = mutual_pairs("--no-type-checking" in sys.argv)
    for a, b in pairs:
        print(a.removeprefix("mission_control."), "<->", b.removeprefix("mission_control."))
    print(len(pairs), "pairs")


if __name__ == "__main__":
    main()
