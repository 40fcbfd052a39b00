import os
import sys

# generate.py sits beside the tests and is imported as a module.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def pytest_terminal_summary(terminalreporter):
    """The exchange matrix (test_exchange.py): producer rows, consumer columns."""
    mod = sys.modules.get("test_exchange")
    if not mod or not mod.MATRIX:
        return
    names = mod.PRODUCERS
    short = {n: n.replace("confluent-", "ck-") for n in names}  # ck-: confluent-kafka
    w = terminalreporter.write_line
    w("exchange matrix (rows: producer, columns: consumer; ck-* = confluent-kafka clients with their")
    w("registry Avro serdes; '-' = not a cell: foreign clients are not checked against each other)")
    w(" " * 10 + "".join(f"{short[c]:>10}" for c in names))
    for p in names:
        w(f"{short[p]:>10}" + "".join(f"{mod.MATRIX.get((p, c), '-'):>10}" for c in names))
    cells = list(mod.MATRIX.values())
    w(f"exchange: {cells.count('pass')} of {len(mod.CELLS)} cells pass")
