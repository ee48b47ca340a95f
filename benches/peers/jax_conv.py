"""Peer for `cargo bench --bench nn` (the conv2d rows).

Measures: JAX/XLA CPU, jit(value_and_grad) of lax.conv_general_dilated with
respect to input and weights (forward + backward), N 32, 16 -> 32 channels,
16x16, kernel 3x3, stride 1, "same" padding, dilation 1 and 2, float32,
median of 21 runs after warm-up. GFLOP/s counts 3 x the forward's
2*N*Cout*H*W*Cin*9 (forward, dx, dw), as rlkit's bench does.

Run (one core):
    XLA_FLAGS=--xla_cpu_multi_thread_eigen=false \
        taskset -c 0 python3 benches/peers/jax_conv.py
"""
import time

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

n, cin, cout, hw, k = 32, 16, 32, 16, 3
rng = np.random.default_rng(0)
x = jnp.asarray(rng.random((n, cin, hw, hw), dtype=np.float32) - 0.5)
w = jnp.asarray(rng.random((cout, cin, k, k), dtype=np.float32) - 0.5)
print(f"jax {jax.__version__} on {jax.devices()[0].platform}")
for d in (1, 2):
    def loss(x, w, d=d):
        y = lax.conv_general_dilated(x, w, (1, 1), [(d, d), (d, d)], rhs_dilation=(d, d))
        return jnp.sum(y * 0.1 * y)  # a scalar that needs dy = 0.2 y (dy dense)
    f = jax.jit(jax.value_and_grad(loss, argnums=(0, 1)))
    jax.block_until_ready(f(x, w))
    ts = []
    for _ in range(21):
        t = time.perf_counter()
        jax.block_until_ready(f(x, w))
        ts.append(time.perf_counter() - t)
    t = sorted(ts)[10]
    fl = 2 * n * cout * hw * hw * cin * k * k
    print(f"dilation {d}: fwd+bwd {t * 1e3:.2f} ms = {3 * fl / t / 1e9:.1f} GFLOP/s")
