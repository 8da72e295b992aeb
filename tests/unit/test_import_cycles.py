"""ARCHITECTURE.md: no module of the package imports, directly or through others, a module
that imports it back. Imports made only for type checking do not run and are left out."""

import grimp


def import_cycles(graph) -> list[tuple[str, ...]]:
    """One shortest cycle through each direct import that has a way back."""
    cycles = set()
    for importer in sorted(graph.modules):
        for imported in sorted(graph.find_modules_directly_imported_by(importer)):
            back = graph.find_shortest_chain(importer=imported, imported=importer)
            if back:
                cycle = (importer, *back)
                start = cycle.index(min(cycle[:-1]))
                cycles.add(cycle[start:-1] + cycle[:start + 1])
    return sorted(cycles)


def test_a_cycle_is_found_when_there_is_one():
    graph = grimp.ImportGraph()
    graph.add_import(importer="a.one", imported="a.two")
    graph.add_import(importer="a.two", imported="a.three")
    graph.add_import(importer="a.three", imported="a.one")
    graph.add_import(importer="a.three", imported="a.four")
    assert import_cycles(graph) == [("a.one", "a.two", "a.three", "a.one")]


def test_the_package_has_no_import_cycle():
    graph = grimp.build_graph("jesip_learn", exclude_type_checking_imports=True)
    assert import_cycles(graph) == []
