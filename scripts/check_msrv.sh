#!/usr/bin/env bash
# The declared MSRV (`rust-version` in Cargo.toml) must be at least every
# dependency's own `rust-version` (from `cargo metadata`), so that the README's
# "needs Rust X or newer" stays true when a dependency is added or upgraded.
# Exits 1 naming the crates that need a newer Rust. Run from the repository root.
set -euo pipefail
cargo metadata --format-version 1 --locked | python3 -c '
import json, sys
m = json.load(sys.stdin)
root = m["resolve"]["root"]
pkgs = {p["id"]: p for p in m["packages"]}
ours = pkgs[root]["rust_version"]
v = lambda s: (tuple(int(x) for x in (s or "0").split(".")) + (0, 0, 0))[:3]
# Only what a build of rlkit itself uses: normal and build dependencies, transitively.
nodes = {n["id"]: n for n in m["resolve"]["nodes"]}
seen, stack = set(), [root]
while stack:
    i = stack.pop()
    for d in nodes[i]["deps"]:
        kinds = {k["kind"] for k in d["dep_kinds"]}
        if kinds & {None, "build"} and d["pkg"] not in seen:
            seen.add(d["pkg"]); stack.append(d["pkg"])
bad = sorted((pkgs[i]["name"], pkgs[i]["version"], pkgs[i]["rust_version"]) for i in seen
             if pkgs[i]["rust_version"] and v(pkgs[i]["rust_version"]) > v(ours))
if bad:
    print(f"check_msrv: rust-version = \"{ours}\" in Cargo.toml, but these need newer: " +
          ", ".join(f"{n} {ver} (rust-version {rv})" for n, ver, rv in bad) +
          "; raise rust-version (and the README) or pin older versions", file=sys.stderr)
    sys.exit(1)
top = max((pkgs[i]["rust_version"] for i in seen if pkgs[i]["rust_version"]), key=v, default="none")
print(f"check_msrv: ok (rust-version {ours}; the highest a dependency needs: {top})")
'
