#!/usr/bin/env python3
"""Checks that workspace crates depend only downwards (ARCHITECTURE.md).

Each crate may use the tabby crates listed for it, and nothing else of ours;
pure layers must not pull in async runtimes or I/O clients. Dev-dependencies
are exempt (tests may use anything). Exits 1 and names every violation.
"""
import json
import subprocess
import sys

ALLOWED = {
    "tabby-diag": set(),
    "tabby-selector": {"tabby-diag"},
    "tabby-api": set(),
    "tabby-load": {"tabby-diag"},
    "tabby-model": {"tabby-diag", "tabby-selector"},
    "tabby-validate": {"tabby-diag", "tabby-selector", "tabby-api", "tabby-load", "tabby-model"},
    "tabby-eval": {"tabby-diag", "tabby-selector", "tabby-model"},
    "tabby-analysis": {"tabby-diag", "tabby-selector", "tabby-model", "tabby-eval"},
    "tabby-lint": {"tabby-diag", "tabby-selector", "tabby-model", "tabby-eval"},
    "tabby-flowlog": {"tabby-diag"},
    "tabby-replay": {"tabby-diag", "tabby-selector", "tabby-model", "tabby-eval", "tabby-flowlog"},
    "tabby-recommend": {"tabby-diag", "tabby-selector", "tabby-api", "tabby-load", "tabby-model", "tabby-validate",
                        "tabby-eval", "tabby-flowlog", "tabby-replay"},
    "tabby-store": {"tabby-diag", "tabby-api", "tabby-load", "tabby-model", "tabby-validate"},  # I/O: redb file, etcd over HTTP
    "tabby-kube": {"tabby-diag", "tabby-api", "tabby-load"},
    "tabby-cli": None,  # the top: may use every crate
}
# Crates that must stay synchronous and free of I/O stacks.
PURE = {"tabby-diag", "tabby-selector", "tabby-api", "tabby-model", "tabby-eval", "tabby-analysis", "tabby-lint",
        "tabby-flowlog", "tabby-replay", "tabby-recommend"}
FORBIDDEN_IN_PURE = {"tokio", "async-std", "reqwest", "hyper", "kube", "etcd-client"}

meta = json.loads(subprocess.check_output(
    ["cargo", "metadata", "--format-version", "1", "--no-deps"]))
problems = []
for pkg in meta["packages"]:
    name = pkg["name"]
    if name not in ALLOWED:
        problems.append(f"{name}: not in the layer table of scripts/check-layers.py (add it)")
        continue
    allowed = ALLOWED[name]
    for dep in pkg["dependencies"]:
        if dep.get("kind") == "dev":
            continue
        d = dep["name"]
        if d.startswith("tabby-") and allowed is not None and d not in allowed:
            problems.append(f"{name} -> {d}: not allowed by the layering (ARCHITECTURE.md)")
        if name in PURE and d in FORBIDDEN_IN_PURE:
            problems.append(f"{name} -> {d}: pure crates do no async or network I/O")
for p in problems:
    print(f"layering: {p}", file=sys.stderr)
sys.exit(1 if problems else 0)
