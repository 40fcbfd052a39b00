#!/usr/bin/env python3
"""Topic helper of the PHP benchmark (run with the repository's .venv: confluent-kafka).

    topics.py create NAME PARTITIONS     RF 1; returns once every partition has a leader
    topics.py delete NAME                returns once the broker no longer lists it; also
                                         deletes the registry subject NAME-value (both clients
                                         register it) when KPIPE_REGISTRY_URL is set

The bootstrap is KPIPE_BUSINESS_BOOTSTRAP (the business cluster of `dev/stack env`).
"""
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

from confluent_kafka.admin import AdminClient, NewTopic


def delete_subject(registry, subject):
    """Soft, then hard delete (the Confluent API); a subject that is not there is fine."""
    base = f"{registry.rstrip('/')}/subjects/{urllib.parse.quote(subject, safe='')}"
    for url in (base, base + "?permanent=true"):
        try:
            urllib.request.urlopen(urllib.request.Request(url, method="DELETE"), timeout=30).read()
        except urllib.error.HTTPError as e:
            if e.code != 404:
                raise


def main():
    if len(sys.argv) < 3 or sys.argv[1] not in ("create", "delete"):
        sys.exit(__doc__)
    boot = os.environ.get("KPIPE_BUSINESS_BOOTSTRAP")
    if not boot:
        sys.exit('KPIPE_BUSINESS_BOOTSTRAP is not set: set -a; eval "$(dev/stack env)"; set +a')
    admin = AdminClient({"bootstrap.servers": boot})
    name = sys.argv[2]
    deadline = time.monotonic() + 60
    if sys.argv[1] == "create":
        parts = int(sys.argv[3])
        admin.create_topics([NewTopic(name, parts, 1)], operation_timeout=30)[name].result()
        while True:
            t = admin.list_topics(name, timeout=10).topics.get(name)
            if t is not None and t.error is None and len(t.partitions) == parts and all(
                p.leader >= 0 for p in t.partitions.values()
            ):
                return
            if time.monotonic() > deadline:
                sys.exit(f"topic {name}: partitions without a leader after 60 s")
            time.sleep(0.1)
    else:
        admin.delete_topics([name], operation_timeout=30)[name].result()
        while name in admin.list_topics(timeout=10).topics:
            if time.monotonic() > deadline:
                sys.exit(f"topic {name}: still listed 60 s after its deletion")
            time.sleep(0.1)
        if os.environ.get("KPIPE_REGISTRY_URL"):
            delete_subject(os.environ["KPIPE_REGISTRY_URL"], f"{name}-value")


if __name__ == "__main__":
    main()
