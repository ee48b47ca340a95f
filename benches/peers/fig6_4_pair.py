"""S&B Fig. 6.4 end to end: rlkit against the NumPy peer, in one measurement run.

Runs, pinned to one core (taskset, when present) with RAYON_NUM_THREADS=1:
- `rlkit run experiments/sutton_barto_fig6_4.toml` with only Sarsa and Q-learning (the peer's
  workload: 50 runs x 500 episodes, eps 0.1, alpha 0.5; `--set agents=[...]`), each into a
  fresh output directory, `--rlkit-runs` times;
- the same experiment as shipped (it adds Expected Sarsa: 1.5x the peer's training);
- `benches/peers/cliff_walking.py` (the peer), `--peer-runs` times;
then prints the CPU time (user + system, from getrusage of the child) of each, and the ratios
peer / rlkit. rlkit's figure is the whole process: start, load, 100 or 150 training runs, every
CSV, summary.json and the learning-curve PNG with its bootstrap bands, fsync included. The peer's
is its whole process too (interpreter start and imports included; its own "core loops" line is
printed alongside).

Run from the repository root, after `cargo build --release`:
    python3 benches/peers/fig6_4_pair.py --rlkit-runs 10 --peer-runs 2
"""
import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile

TWO_AGENTS = ('agents=[{kind="sarsa",name="Sarsa",alpha=0.5,epsilon=0.1},'
              '{kind="q-learning",name="Q-learning",alpha=0.5,epsilon=0.1}]')


def cpu_of(cmd, env):
    """CPU seconds (user + sys) of one child process, and its stdout."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run(cmd, env=env, check=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), out.stdout


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rlkit-runs", type=int, default=10)
    ap.add_argument("--peer-runs", type=int, default=2)
    ap.add_argument("--core", default="0")
    ap.add_argument("--binary", default="target/release/rlkit")
    a = ap.parse_args()
    env = dict(os.environ, RAYON_NUM_THREADS="1")
    pin = ["taskset", "-c", a.core] if shutil.which("taskset") else []
    work = tempfile.mkdtemp(prefix="rlkit-fig64-")
    exp = "experiments/sutton_barto_fig6_4.toml"
    two, three = [], []
    for i in range(a.rlkit_runs):
        t, _ = cpu_of(pin + [a.binary, "run", exp, "-q", "--out", f"{work}/two{i}", "--set", TWO_AGENTS], env)
        two.append(t)
        t, _ = cpu_of(pin + [a.binary, "run", exp, "-q", "--out", f"{work}/three{i}"], env)
        three.append(t)
    peer = []
    for _ in range(a.peer_runs):
        t, out = cpu_of(pin + [sys.executable, "benches/peers/cliff_walking.py"], env)
        peer.append(t)
        print("peer:", out.strip())
    shutil.rmtree(work, ignore_errors=True)
    ms = lambda xs: f"{1e3 * min(xs):.1f}-{1e3 * max(xs):.1f} ms (median {1e3 * statistics.median(xs):.1f})"
    print(f"rlkit, Sarsa + Q-learning (the peer's workload), {len(two)} runs: {ms(two)} CPU")
    print(f"rlkit, the shipped file (+ Expected Sarsa), {len(three)} runs: {ms(three)} CPU")
    print(f"peer, {len(peer)} runs: {min(peer):.2f}-{max(peer):.2f} s CPU")
    med2, med3 = statistics.median(two), statistics.median(three)
    print(f"ratio peer / rlkit (medians): {min(peer) / med2:.0f}-{max(peer) / med2:.0f}x like for like; "
          f"{min(peer) / med3:.0f}-{max(peer) / med3:.0f}x against the shipped three-agent file")


if __name__ == "__main__":
    main()
