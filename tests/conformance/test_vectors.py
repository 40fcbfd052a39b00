"""The committed golden vectors are exactly what fastavro (an implementation no one here wrote)
makes of the hand-written cases: one test per case. Regenerate with generate.py."""
import json
import os

import pytest

import generate

HERE = os.path.dirname(os.path.abspath(__file__))


def read_jsonl(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip() and not line.startswith("//")]


CASES = read_jsonl(generate.CASES)
VECTORS = {v["name"]: v for v in read_jsonl(generate.VECTORS)}


def test_every_case_has_one_vector():
    names = [c["name"] for c in CASES]
    assert len(names) == len(set(names)), "case names must be unique"
    assert set(names) == set(VECTORS), "vectors.jsonl is stale: run tests/conformance/generate.py"


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_vector_matches_fastavro(case):
    assert generate.run(case) == VECTORS[case["name"]]
