"""The tree's rules, checked with `ast` so a change that breaks one fails the suite.

- no module in cloudapi/ over 300 lines and no function over 60 (migrations aside);
- no service or domain module imports Flask (they raise cloudapi.errors' plain classes);
- handlers (cloudapi/api/) and CLI commands (cloudapi/cli/) never open a write
  transaction: every write is a service use case that takes the database and opens its
  own. (Handlers and commands may read through `database.reader()`.)
"""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "cloudapi"
MODULES = sorted(PACKAGE.rglob("*.py"))
MAX_MODULE_LINES = 300
MAX_FUNCTION_LINES = 60


def _relative(path):
    return path.relative_to(PACKAGE.parent).as_posix()


def _tree(path):
    return ast.parse(path.read_text(), filename=str(path))


def _in(folder):
    return [p for p in MODULES if p.is_relative_to(PACKAGE / folder)]


def test_the_rules_see_the_package():
    assert len(MODULES) > 50 and _in("services") and _in("api") and _in("cli")


@pytest.mark.parametrize("path", MODULES, ids=_relative)
def test_module_and_function_sizes(path):
    lines = path.read_text().count("\n")
    assert lines <= MAX_MODULE_LINES, f"{_relative(path)}: {lines} lines"
    for node in ast.walk(_tree(path)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            length = node.end_lineno - node.lineno + 1
            assert length <= MAX_FUNCTION_LINES, f"{_relative(path)}:{node.lineno} {node.name}"


def _imported(tree):
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield node.module


@pytest.mark.parametrize("path", _in("services") + _in("domain"), ids=_relative)
def test_services_and_domain_know_nothing_of_flask(path):
    web = [m for m in _imported(_tree(path)) if m.split(".")[0] in ("flask", "werkzeug")]
    assert not web, f"{_relative(path)} imports {web}"


def _opens_transaction(tree):
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "transaction"
        ):
            yield node.lineno


@pytest.mark.parametrize("path", _in("api") + _in("cli"), ids=_relative)
def test_handlers_and_commands_open_no_transaction(path):
    assert not list(_opens_transaction(_tree(path))), _relative(path)


def test_the_transaction_check_finds_one():
    """The check above would see a handler that opened a transaction."""
    tree = ast.parse("with database().transaction() as session:\n    pass\n")
    assert list(_opens_transaction(tree)) == [1]
