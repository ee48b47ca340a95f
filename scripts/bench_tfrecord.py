#!/usr/bin/env python3
"""TFRecord throughput of the Python `tfrecord` package, for side-by-side
comparison with rlkit (`cargo bench --bench tfrecord` runs this with the file
rlkit wrote).

    python3 scripts/bench_tfrecord.py FILE.tfrecord N

Writes N transition Examples (the features `rlkit export` writes for an
approximating agent) with `tfrecord.TFRecordWriter` to a temporary file, then
reads FILE (rlkit's) back with `tfrecord.tfrecord_loader` (which parses every
Example; CRC checks are not done by the package's loader). Prints one line per
direction: `python write|read RECORDS SECONDS BYTES`.
"""
import os
import sys
import tempfile
import time

import tfrecord

path, n = sys.argv[1], int(sys.argv[2])
tmp = os.path.join(tempfile.gettempdir(), f"py-bench-{os.getpid()}.tfrecord")
t0 = time.perf_counter()
w = tfrecord.TFRecordWriter(tmp)
for i in range(n):
    w.write({
        "action": (i % 4, "int"),
        "agent": (b"LinQ", "byte"),
        "episode": (i // 100 + 1, "int"),
        "next_observation": ([float(i % 48), float(i % 4), float(i % 12)], "float"),
        "next_state": (i % 48, "int"),
        "observation": ([float(i % 48), float(i % 4), float(i % 12)], "float"),
        "observation_shape": (3, "int"),
        "reward": (-1.0, "float"),
        "seed": (0, "int"),
        "state": (i % 48, "int"),
        "step": (i % 100 + 1, "int"),
        "terminated": (0, "int"),
        "truncated": (0, "int"),
    })
w.close()
t1 = time.perf_counter()
print("python write", n, t1 - t0, os.path.getsize(tmp))
os.remove(tmp)
t0 = time.perf_counter()
k = 0
for ex in tfrecord.tfrecord_loader(path, None):
    k += 1
t1 = time.perf_counter()
print("python read", k, t1 - t0, os.path.getsize(path))
