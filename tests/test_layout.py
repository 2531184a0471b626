"""The code's layout: no module of bench/ or variants/ imports, at its top, a module that
imports it back (function-level imports, made to defer heavy packages, are not edges)."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _modules() -> dict[str, Path]:
    found = {}
    for package in ("bench", "variants"):
        for path in (ROOT / package).rglob("*.py"):
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            found[name.removesuffix(".__init__")] = path
    return found


def _imports(path: Path, modules: dict[str, Path]) -> set[str]:
    """The project's modules that `path` imports at module level."""
    edges = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                edges.add(full if full in modules else node.module)
        elif isinstance(node, ast.Import):
            edges |= {alias.name for alias in node.names}
    return {e for e in edges if e in modules}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in graph[node]:
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while (top := stack.pop()) != node:
                component.append(top)
            if component:
                found.append(sorted([node, *component]))

    for node in graph:
        if node not in index:
            visit(node)
    return found


def test_no_import_circle_between_modules():
    modules = _modules()
    graph = {name: _imports(path, modules) - {name} for name, path in modules.items()}
    assert _cycles(graph) == []


def test_the_cycle_finder_finds_a_circle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def _names(schema: object, found: set[str]) -> set[str]:
    """Every property name of a JSON Schema, at any depth."""
    if isinstance(schema, dict):
        found |= set(schema.get("properties", {}))
        for value in schema.values():
            _names(value, found)
    elif isinstance(schema, list):
        for value in schema:
            _names(value, found)
    return found


def _keyed(path: Path, names: set[str]) -> list[str]:
    """`path:line key` for each lookup of `names` by a string: `x["key"]`, `x.get("key")`."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        key = None
        if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant):
            key = node.slice.value
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in ("get", "pop", "setdefault")
            and node.args
            and isinstance(node.args[0], ast.Constant)
        ):
            key = node.args[0].value
        if isinstance(key, str) and key in names:
            found.append(f"{path.relative_to(ROOT)}:{node.lineno} {key}")
    return found


READERS = ("bench/report", "bench/commands", "bench/plots.py", "bench/gate.py", "bench/diff.py",
           "bench/export.py", "bench/choose.py", "bench/api.py")  # fmt: skip


def test_what_reads_the_results_reads_attributes():
    """The report, the gate, `diff`, the export, the commands and the API read the typed
    `Results`: a string lookup of a results-file name there is the rare exception (a
    gate budget's table, an interpreter's tensor details share some names)."""
    from bench.schema import json_schema

    names = _names(json_schema(), set())
    paths = [
        p for r in READERS for p in ([ROOT / r] if r.endswith(".py") else (ROOT / r).glob("*.py"))
    ]
    found = [hit for path in sorted(paths) for hit in _keyed(path, names)]
    assert len(found) <= 20, found


HELPERS = ("said", "unsaid", "starts", "ends")  # tests/helpers.py: they name what went wrong


def _weak(test: ast.expr) -> str | None:
    """What kind of assert cannot say what went wrong, or None: a substring looked for
    in a wall of text, truthiness alone, `all`/`any` hiding the failing item, a type or
    `is not None` alone, an `and`/`or` chain."""
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        test = test.operand
    if isinstance(test, ast.Compare) and len(test.ops) == 1:
        left, op, right = test.left, test.ops[0], test.comparators[0]
        if isinstance(op, ast.In | ast.NotIn) and isinstance(left, ast.Constant | ast.JoinedStr):
            return "substring" if isinstance(getattr(left, "value", ""), str) else None
        none = isinstance(right, ast.Constant) and right.value is None
        return "is not None" if isinstance(op, ast.IsNot) and none else None
    if isinstance(test, ast.BoolOp):
        return "chain"
    called = test.func.id if isinstance(test, ast.Call) and isinstance(test.func, ast.Name) else ""
    if called in ("all", "any", "isinstance"):
        return called
    if isinstance(test, ast.Name | ast.Attribute | ast.Subscript | ast.Call):
        return "truthiness"
    return None


def test_weak_asserts_stay_under_a_tenth():
    """Of every check in the suite (asserts, numpy's `assert_*`, the helpers), at most a
    tenth are weak (`_weak`): the rest compare whole values or name what is missing."""
    checks, weak = 0, []
    for path in sorted((ROOT / "tests").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call):
                name = getattr(node.func, "id", getattr(node.func, "attr", ""))
                checks += name in HELPERS or name.startswith("assert_")
            elif isinstance(node, ast.Assert):
                checks += 1
                kind = _weak(node.test)
                weak += [f"{path.name}:{node.lineno} {kind}"] if kind else []
    assert len(weak) <= checks // 10, f"{len(weak)} of {checks}: {weak}"


def test_the_weak_assert_finder_finds_each_kind():
    found = [_weak(ast.parse(s, mode="eval").body) for s in (
        '"x" in text', "ok", "not path.exists()", "all(x for x in y)", "isinstance(a, int)",
        "a is not None", "a and b", "a == 1", "[x for x in y if x] == []",
    )]  # fmt: skip
    assert found == [
        "substring", "truthiness", "truthiness", "all", "isinstance", "is not None", "chain",
        None, None,
    ]  # fmt: skip


def test_said_names_the_missing_fragment_and_the_nearest_line():
    from helpers import said, unsaid

    text = "edgebench: error: --window must be >= 2\nsecond line"
    said(text, "--window must be", "second")
    try:
        said(text, "--window must be > 2")
    except AssertionError as err:
        message = str(err)
    assert message.splitlines()[:3] == [
        "not said:",
        "  '--window must be > 2'",
        "    nearest: 'edgebench: error: --window must be >= 2'",
    ]
    unsaid(text, "Traceback")


def _runtime_imports(path: Path) -> set[str]:
    """The modules `path` imports anywhere but under `if TYPE_CHECKING:`."""
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and getattr(node.test, "id", "") == "TYPE_CHECKING":
            return
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text()))
    return found


def test_the_variants_import_no_later_stage():
    """`variants/` is the registry, the recipes and the architectures: it builds on
    nothing of the harness (the package root's errors and helpers aside); building,
    training and measuring import it, never the other way."""
    later = {
        f"{path.relative_to(ROOT)}: {module}"
        for path in sorted((ROOT / "variants").glob("*.py"))
        for module in _runtime_imports(path)
        if module.startswith("bench.")
    }
    assert later == set()


def test_the_measured_firmware_builds_on_nothing_of_the_export():
    """The export reuses the firmware's resolver generator, not the other way round."""
    later = {
        f"{path.relative_to(ROOT)}: {module}"
        for path in sorted((ROOT / "bench" / "firmware").glob("*.py"))
        for module in _runtime_imports(path)
        if module in ("bench.export", "bench.commands.export")
    }
    assert later == set()
