"""Peer for `cargo bench --bench attention`.

Measures: JAX/XLA CPU, jit(value_and_grad) of jax.nn.dot_product_attention
(one head, d 64, batch 1, not causal, float32) with respect to Q, K, V, with
a random upstream gradient dO (loss = sum(O * dO)); best of several runs after
warm-up, at N 256, 1024, 4096. GFLOP/s counts 14 N^2 d (4 N^2 d forward,
10 N^2 d backward with the recomputed scores).

Run (one core):
    XLA_FLAGS=--xla_cpu_multi_thread_eigen=false \
        taskset -c 0 python3 benches/peers/jax_attention.py
"""
import time

import jax
import jax.numpy as jnp
import numpy as np

d = 64
print(f"jax {jax.__version__} on {jax.devices()[0].platform}")
for n in (256, 1024, 4096):
    rng = np.random.default_rng(n)
    q, k, v, do = (jnp.asarray(rng.uniform(-1, 1, (1, n, 1, d)).astype(np.float32)) for _ in range(4))

    def loss(q, k, v):
        return jnp.sum(jax.nn.dot_product_attention(q, k, v) * do)

    f = jax.jit(jax.value_and_grad(loss, argnums=(0, 1, 2)))
    jax.block_until_ready(f(q, k, v))
    reps = {256: 20, 1024: 5, 4096: 2}[n]
    best = float("inf")
    for _ in range(reps):
        t = time.perf_counter()
        jax.block_until_ready(f(q, k, v))
        best = min(best, time.perf_counter() - t)
    print(f"N {n}: fwd+bwd {best * 1e3:.2f} ms = {14 * n * n * d / best / 1e9:.1f} GFLOP/s")
