//! Polynomial and Fourier bases (S&B §9.5.1–9.5.2, Zhao chapter 8).

/// Number of monomials of total degree ≤ `order` in `n` variables, `C(n + order, n)`,
/// or `None` if it exceeds `limit`.
pub(crate) fn poly_dim(n: usize, order: u64, limit: usize) -> Option<usize> {
    // C(n+order, n) = Π_{k=1..n} (order + k) / k, exact at every step.
    let mut c: u128 = 1;
    for k in 1..=n as u128 {
        c = c.checked_mul(u128::from(order) + k)? / k;
        if c > limit as u128 {
            return None;
        }
    }
    Some(c as usize)
}

/// The exponent vectors of the polynomial basis, flattened (`n` per monomial):
/// degree by degree; in each degree the pure powers in input order first, then
/// the mixed monomials in descending lexicographic order of the exponents.
///
/// For 2 inputs (x, y) and order 3: `1, x, y, x², y², xy, x³, y³, x²y, xy²`.
pub(crate) fn poly_exponents(n: usize, order: u32) -> Vec<u32> {
    let mut out = vec![0u32; n]; // degree 0: the constant
    let mut cur = vec![0u32; n];
    for d in 1..=order {
        for i in 0..n {
            out.extend((0..n).map(|j| if j == i { d } else { 0 }));
        }
        compositions(d, 0, &mut cur, &mut out);
    }
    out
}

/// Append every exponent vector of `cur[k..]` summing to `rest` with at least two
/// nonzero entries overall, in descending lexicographic order.
fn compositions(rest: u32, k: usize, cur: &mut [u32], out: &mut Vec<u32>) {
    let n = cur.len();
    if k + 1 == n {
        cur[k] = rest;
        if cur.iter().filter(|&&e| e > 0).count() >= 2 {
            out.extend_from_slice(cur);
        }
        return;
    }
    for e in (0..=rest).rev() {
        cur[k] = e;
        compositions(rest - e, k + 1, cur, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_inputs_give_the_reference_order() {
        let e = poly_exponents(2, 3);
        let pairs: Vec<(u32, u32)> = e.chunks(2).map(|c| (c[0], c[1])).collect();
        assert_eq!(pairs, [(0, 0), (1, 0), (0, 1), (2, 0), (0, 2), (1, 1), (3, 0), (0, 3), (2, 1), (1, 2)]);
    }

    #[test]
    fn three_inputs_degree_two_and_counts() {
        let e = poly_exponents(3, 2);
        let t: Vec<&[u32]> = e.chunks(3).collect();
        let want: [[u32; 3]; 10] = [
            [0, 0, 0],
            [1, 0, 0],
            [0, 1, 0],
            [0, 0, 1],
            [2, 0, 0],
            [0, 2, 0],
            [0, 0, 2],
            [1, 1, 0],
            [1, 0, 1],
            [0, 1, 1],
        ];
        assert_eq!(t, want.iter().map(|w| &w[..]).collect::<Vec<_>>());
        for (n, order) in [(1usize, 4u32), (2, 5), (3, 3), (4, 2)] {
            assert_eq!(Some(poly_exponents(n, order).len() / n), poly_dim(n, u64::from(order), usize::MAX));
        }
        assert_eq!(poly_dim(2, 3, 100), Some(10));
        assert_eq!(poly_dim(2, 1 << 20, 1 << 26), None);
    }
}
