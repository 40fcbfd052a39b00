import os
import sys

# generate.py sits beside the tests and is imported as a module.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def pytest_terminal_summary(terminalreporter):
    """The exchange matrix (test_exchange.py): producer rows, consumer columns."""
    mod = sys.modules.get("test_exchange")
    if not mod or not mod.MATRIX:
        return
    langs = mod.LANGS
    w = terminalreporter.write_line
    w("exchange matrix (rows: producer, columns: consumer)")
    w("          " + "".join(f"{c:>8}" for c in langs))
    for p in langs:
        w(f"{p:>10}" + "".join(f"{mod.MATRIX.get((p, c), '-'):>8}" for c in langs))
    cells = list(mod.MATRIX.values())
    w(f"exchange: {cells.count('pass')} of {len(langs) ** 2} cells pass")
