"""Independent reference numbers for rlkit's DP tests.

Pure Python (no numpy, no rlkit): each model is written out again from the book's
description, values are computed by value iteration to 1e-14, policies are evaluated by
Gauss-Jordan elimination of (I - gamma P_pi) v = r_pi. Run: python3 tests/reference/dp_reference.py
The printed numbers are pasted into tests/dp_book.rs.
"""

def solve(A, b):
    n = len(b)
    M = [row[:] + [b[i]] for i, row in enumerate(A)]
    for c in range(n):
        p = max(range(c, n), key=lambda r: abs(M[r][c]))
        M[c], M[p] = M[p], M[c]
        for r in range(n):
            if r != c and M[r][c] != 0.0:
                f = M[r][c] / M[c][c]
                M[r] = [x - f * y for x, y in zip(M[r], M[c])]
    return [M[i][n] / M[i][i] for i in range(n)]

def vi(S, A, P, gamma, terminal=lambda s: False, tol=1e-14):
    v = [0.0] * S
    while True:
        nv = [0.0 if terminal(s) else max(sum(p * (r + gamma * (0 if d else v[s2])) for p, s2, r, d in P(s, a)) for a in range(A)) for s in range(S)]
        delta = max(abs(x - y) for x, y in zip(nv, v))
        v = nv
        if delta < tol:
            return v

def evaluate(S, A, P, gamma, pi, terminal=lambda s: False):
    M = [[0.0] * S for _ in range(S)]
    b = [0.0] * S
    for s in range(S):
        M[s][s] = 1.0
        if terminal(s):
            continue
        for a in range(A):
            if pi[s][a] == 0:
                continue
            for p, s2, r, d in P(s, a):
                b[s] += pi[s][a] * p * r
                if not d:
                    M[s][s2] -= gamma * pi[s][a] * p
    return solve(M, b)

def show(name, v, w, digits=6):
    print(name)
    for r in range(len(v) // w):
        print("   ", ", ".join(f"{x:.{digits}f}" for x in v[r * w:(r + 1) * w]) + ",")

# --- Zhao's 5x5 grid world: actions up, right, down, left, stay --------------------------
FORB = {(1, 1), (1, 2), (2, 2), (3, 1), (3, 3), (4, 1)}  # 0-indexed
TARGET = (3, 2)
MOVES = [(-1, 0), (0, 1), (1, 0), (0, -1), (0, 0)]

def zhao_P(rb, rf, rt):
    def P(s, a):
        r0, c0 = divmod(s, 5)
        dr, dc = MOVES[a]
        r1, c1 = r0 + dr, c0 + dc
        if not (0 <= r1 < 5 and 0 <= c1 < 5):
            return [(1.0, s, rb, False)]
        if (r1, c1) == TARGET:
            rew = rt
        elif (r1, c1) in FORB:
            rew = rf
        else:
            rew = 0.0
        return [(1.0, r1 * 5 + c1, rew, False)]
    return P

for tag, gamma, rf in [("3.4a gamma 0.9", 0.9, -1.0), ("3.4b gamma 0.5", 0.5, -1.0), ("3.4c gamma 0", 0.0, -1.0), ("3.4d r_forbidden -10", 0.9, -10.0)]:
    show("Zhao Fig " + tag, vi(25, 5, zhao_P(-1.0, rf, 1.0), gamma), 5)

# Fig 2.7-style policies (symbols ^ > v < o = actions 0..4)
def det(rows):
    sym = {"^": 0, ">": 1, "v": 2, "<": 3, "o": 4}
    acts = [sym[c] for row in rows for c in row.split()]
    return [[1.0 if a == x else 0.0 for a in range(5)] for x in acts]
good = det(["> > > > v", "^ ^ > > v", "^ < v > v", "^ > o < v", "^ > ^ < <"])
right = det(["> > > > >"] * 5)
uniform = [[0.2] * 5 for _ in range(25)]
P = zhao_P(-1.0, -1.0, 1.0)
show("Zhao Fig 2.7 good policy", evaluate(25, 5, P, 0.9, good), 5)
show("Zhao Fig 2.7 always right", evaluate(25, 5, P, 0.9, right), 5)
show("Zhao Fig 2.7 uniform", evaluate(25, 5, P, 0.9, uniform), 5)

# --- Sutton & Barto Example 3.5: actions up, right, down, left ---------------------------
def sb5_P(s, a):
    r0, c0 = divmod(s, 5)
    if (r0, c0) == (0, 1):
        return [(1.0, 4 * 5 + 1, 10.0, False)]
    if (r0, c0) == (0, 3):
        return [(1.0, 2 * 5 + 3, 5.0, False)]
    dr, dc = MOVES[a]
    r1, c1 = r0 + dr, c0 + dc
    if not (0 <= r1 < 5 and 0 <= c1 < 5):
        return [(1.0, s, -1.0, False)]
    return [(1.0, r1 * 5 + c1, 0.0, False)]
show("S&B Fig 3.2 uniform random", evaluate(25, 4, sb5_P, 0.9, [[0.25] * 4 for _ in range(25)]), 5)
show("S&B Fig 3.5 v*", vi(25, 4, sb5_P, 0.9), 5)
print("10/(1-0.9^5) =", 10 / (1 - 0.9 ** 5))

# --- Sutton & Barto Example 4.1 ------------------------------------------------------------
TERM = {0, 15}
def sb4_P(s, a):
    r0, c0 = divmod(s, 4)
    dr, dc = MOVES[a]
    r1, c1 = r0 + dr, c0 + dc
    if not (0 <= r1 < 4 and 0 <= c1 < 4):
        r1, c1 = r0, c0
    s2 = r1 * 4 + c1
    return [(1.0, s2, -1.0, s2 in TERM)]
pi = [[0.25] * 4 for _ in range(16)]
show("S&B Fig 4.1 v_pi (exact)", evaluate(16, 4, sb4_P, 1.0, pi, lambda s: s in TERM), 4)
for inplace in (False, True):
    v = [0.0] * 16
    k = 0
    while True:
        k += 1
        old = v[:]
        src = v if inplace else old
        delta = 0.0
        for s in range(16):
            if s in TERM:
                continue
            x = sum(0.25 * sum(p * (r + (0 if d else src[s2])) for p, s2, r, d in sb4_P(s, a)) for a in range(4))
            delta = max(delta, abs(x - old[s]) if not inplace else abs(x - v[s]))
            v[s] = x
        if delta < 1e-4:
            break
    print("S&B 4.1", "in place" if inplace else "synchronous", "sweeps to max change < 1e-4:", k)
    show("  values", v, 4)
# The k = 1, 2, 3 rows of Fig 4.1 (synchronous, from 0)
v = [0.0] * 16
for k in range(1, 4):
    v = [0.0 if s in TERM else sum(0.25 * sum(p * (r + (0 if d else v[s2])) for p, s2, r, d in sb4_P(s, a)) for a in range(4)) for s in range(16)]
    show(f"S&B Fig 4.1 k={k}", v, 4)

# --- FrozenLake 4x4 (Gymnasium): actions left, down, right, up; slippery ------------------
MAP = ["SFFF", "FHFH", "FFFH", "HFFG"]
FL_MOVES = [(0, -1), (1, 0), (0, 1), (-1, 0)]
def fl_P(s, a):
    r0, c0 = divmod(s, 4)
    if MAP[r0][c0] in "GH":
        return [(1.0, s, 0.0, True)]
    out = []
    for b in [(a - 1) % 4, a, (a + 1) % 4]:
        dr, dc = FL_MOVES[b]
        r1, c1 = min(max(r0 + dr, 0), 3), min(max(c0 + dc, 0), 3)
        ch = MAP[r1][c1]
        out.append((1 / 3, r1 * 4 + c1, 1.0 if ch == "G" else 0.0, ch in "GH"))
    return out
fl_term = lambda s: MAP[s // 4][s % 4] in "GH"
show("FrozenLake 4x4 v* gamma 0.99", vi(16, 4, fl_P, 0.99, fl_term), 4)
show("FrozenLake 4x4 v* gamma 1", vi(16, 4, fl_P, 1.0, fl_term, tol=1e-15), 4)
