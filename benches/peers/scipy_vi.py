"""Peer for `rlkit bench vi --size 1000`.

Measures: synchronous (Jacobi) value iteration, vectorised with scipy.sparse,
on a generated Zhao-style grid of the same shape as rlkit's bench: size x size
cells, 20 % random forbidden cells, target in the middle, 5 actions (up,
right, down, left, stay), rewards boundary -1 (stay put), forbidden -1,
target +1, other 0, gamma 0.9, stop when max|v_k - v_{k-1}| < 1e-6.
The model is one CSR matrix P_a (n x n) and one reward vector R_a per action;
a sweep is v = max_a (R_a + gamma P_a v). Reports build time, best solve time of
3, sweeps and peak resident memory.

Run (one core):
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 \
        taskset -c 0 python3 benches/peers/scipy_vi.py [size]
"""
import resource
import sys
import time

import numpy as np
import scipy
import scipy.sparse as sp

size = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
gamma, tol = 0.9, 1e-6
h = w = size
n = h * w

t = time.perf_counter()
rng = np.random.default_rng(7)
forbidden = rng.random((h, w)) < 0.2
forbidden[h // 2, w // 2] = False
target = np.zeros((h, w), bool)
target[h // 2, w // 2] = True
enter = np.where(forbidden, -1.0, np.where(target, 1.0, 0.0)).ravel()
r_idx, c_idx = np.divmod(np.arange(n), w)
P, R = [], []
for dr, dc in [(-1, 0), (0, 1), (1, 0), (0, -1), (0, 0)]:
    nr, nc = r_idx + dr, c_idx + dc
    inside = (nr >= 0) & (nr < h) & (nc >= 0) & (nc < w)
    nxt = np.where(inside, nr * w + nc, np.arange(n))
    P.append(sp.csr_matrix((np.ones(n), (np.arange(n), nxt)), shape=(n, n)))
    R.append(np.where(inside, enter[nxt], -1.0))
build = time.perf_counter() - t
print(f"scipy {scipy.__version__} numpy {np.__version__}: grid {size}x{size}, {n} states; model built in {build:.3f} s")

best = float("inf")
for run in range(3):
    t = time.perf_counter()
    v = np.zeros(n)
    sweeps = 0
    while True:
        q = R[0] + gamma * (P[0] @ v)
        for a in range(1, 5):
            np.maximum(q, R[a] + gamma * (P[a] @ v), out=q)
        delta = np.max(np.abs(q - v))
        v = q
        sweeps += 1
        if delta < tol:
            break
    secs = time.perf_counter() - t
    best = min(best, secs)
    print(f"run {run + 1}: {sweeps} sweeps in {secs:.3f} s, final delta {delta:.2e}")
print(f"best solve: {best:.3f} s")
print(f"peak resident memory: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
