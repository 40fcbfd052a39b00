"""The C binding's suite: each C program is built with AddressSanitizer against the static
library (bindings-c/lib/libkpipe_capi.a, `make -C bindings-c lib`) and run against the local
stack with LeakSanitizer on; a failed check, a crash or a leak fails the test.

- tests/c/ownership.c: the header's ownership rules (happy path and error path);
- examples/orders.c: the example a C user starts from (send, consume, error details)."""
import os
import subprocess

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
CRATE = os.path.dirname(HERE)
LIB = os.path.join(CRATE, "lib", "libkpipe_capi.a")
# the system libraries the static library needs (cargo rustc --print native-static-libs)
NATIVE = "-lcurl -lz -lssl -lcrypto -lgcc_s -lutil -lrt -lpthread -lm -ldl -lc".split()
ENV = ("KPIPE_BUSINESS_BOOTSTRAP", "KPIPE_REGISTRY_URL")


def build(src, out):
    missing = [v for v in ENV if not os.environ.get(v)]
    assert not missing, f"start the stack and export its addresses: missing {missing}"
    assert os.path.exists(LIB), f"{LIB} missing: run make -C bindings-c lib"
    cmd = ["gcc", "-fsanitize=address", "-g", "-Wall", "-Werror", src, "-I" + os.path.join(CRATE, "include"),
           "-L" + os.path.dirname(LIB), "-lkpipe_capi", *NATIVE, "-o", out]
    r = subprocess.run(cmd, capture_output=True, text=True)
    assert r.returncode == 0, f"gcc: {r.stderr}"


def run(binary):
    env = dict(os.environ)
    env["ASAN_OPTIONS"] = "detect_leaks=1:exitcode=23:fast_unwind_on_malloc=0:malloc_context_size=12"
    env["LSAN_OPTIONS"] = f"suppressions={os.path.join(HERE, 'c', 'lsan.supp')}:print_suppressions=0"
    return subprocess.run([binary], capture_output=True, text=True, env=env, timeout=300)


def test_ownership_rules_under_asan(tmp_path):
    binary = str(tmp_path / "ownership")
    build(os.path.join(HERE, "c", "ownership.c"), binary)
    r = run(binary)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "ownership checks passed" in r.stdout + r.stderr


def test_the_example_sends_reads_back_and_reports_details(tmp_path):
    binary = str(tmp_path / "orders")
    build(os.path.join(CRATE, "examples", "orders.c"), binary)
    r = run(binary)
    assert r.returncode == 0, r.stdout + r.stderr
    out = r.stdout
    assert "3 of 3 orders read back" in out
    assert 'got o-2: {"id":"o-2","amount":200}' in out
    assert ('bad option: {"code":"config.invalid","message":"ack: unknown ack mode \\"sometimes\\" '
            '(expected one of: implicit, explicit)","retriable":false,"fatal":false,"field":"ack"}') in out
