//! Monotone span program (LSSS matrix) of a policy, by the Lewko-Waters algorithm
//! (Lewko and Waters, "Decentralizing Attribute-Based Encryption", Eurocrypt 2011,
//! Appendix G), generalised to n-ary gates.
//!
//! Each node carries a vector; the root carries `(1)`, a counter `c` starts at 1.
//! * OR: every child gets the parent's vector.
//! * AND with children `x_1 … x_k`: `x_1` gets `v | e_{c+1}`, `x_m` (1 < m < k) gets
//!   `-e_{c+m-1} + e_{c+m}`, `x_k` gets `-e_{c+k-1}`; `c` grows by `k - 1`. The children's
//!   vectors telescope to `v`, which is why a satisfying set (all AND children, one OR
//!   child) sums to `(1, 0, …, 0)` with all coefficients 1.
//!
//! Entries are in {-1, 0, 1}; rows are stored sparsely because a row of a flat AND has at
//! most two non-zero entries. The walk uses an explicit stack (no recursion).

use super::{Node, Policy};

/// One row: the leaf (index into the policy's leaves, equal to the row index) and its
/// non-zero entries `(column, ±1)`, columns 0-based.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Row {
    pub(crate) entries: Vec<(u32, i8)>,
}

/// The matrix: `rows[i]` belongs to leaf `i`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Lsss {
    pub(crate) rows: Vec<Row>,
    pub(crate) columns: usize,
}

pub(crate) fn build(policy: &Policy) -> Lsss {
    let mut rows: Vec<Option<Row>> = vec![None; policy.leaves.len()];
    let mut columns: u32 = 1;
    let mut stack: Vec<(&Node, Vec<(u32, i8)>)> = vec![(&policy.root, vec![(0, 1)])];
    while let Some((node, v)) = stack.pop() {
        match node {
            Node::Leaf(i) => {
                if let Some(slot) = rows.get_mut(*i) {
                    *slot = Some(Row { entries: v });
                }
            }
            Node::Or(children) => {
                for c in children {
                    stack.push((c, v.clone()));
                }
            }
            Node::And(children) => {
                let mut cur = v;
                let last = children.len().saturating_sub(1);
                for (m, c) in children.iter().enumerate() {
                    if m == last {
                        stack.push((c, std::mem::take(&mut cur)));
                    } else {
                        let col = columns;
                        columns += 1;
                        let mut mine = std::mem::take(&mut cur);
                        mine.push((col, 1));
                        stack.push((c, mine));
                        cur = vec![(col, -1)];
                    }
                }
            }
        }
    }
    Lsss {
        rows: rows
            .into_iter()
            .map(|r| r.unwrap_or(Row { entries: vec![] }))
            .collect(),
        columns: columns as usize,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Dense rows for the linear-algebra checks below.
    fn dense(l: &Lsss) -> Vec<Vec<i64>> {
        l.rows
            .iter()
            .map(|r| {
                let mut d = vec![0i64; l.columns];
                for &(c, s) in &r.entries {
                    d[c as usize] += s as i64;
                }
                d
            })
            .collect()
    }

    /// Whether `(1, 0, …, 0)` is in the rational span of `vecs` (Gaussian elimination over
    /// the rationals via i128 fraction-free elimination; sizes in tests are tiny).
    fn spans_target(vecs: &[Vec<i64>], n: usize) -> bool {
        // Solve: is e1 in rowspace? Equivalent: rank(vecs) == rank(vecs + e1).
        fn rank(mut m: Vec<Vec<i128>>, n: usize) -> usize {
            let mut r = 0;
            for col in 0..n {
                let Some(p) = (r..m.len()).find(|&i| m[i][col] != 0) else {
                    continue;
                };
                m.swap(r, p);
                for i in 0..m.len() {
                    if i != r && m[i][col] != 0 {
                        let (a, b) = (m[r][col], m[i][col]);
                        let pivot = m[r].clone();
                        for (x, p) in m[i].iter_mut().zip(&pivot) {
                            *x = *x * a - p * b;
                        }
                        let g = m[i].iter().fold(0i128, |g, &x| gcd(g, x.abs()));
                        if g > 1 {
                            m[i].iter_mut().for_each(|x| *x /= g);
                        }
                    }
                }
                r += 1;
            }
            r
        }
        fn gcd(a: i128, b: i128) -> i128 {
            if b == 0 {
                a
            } else {
                gcd(b, a % b)
            }
        }
        let m: Vec<Vec<i128>> = vecs
            .iter()
            .map(|v| v.iter().map(|&x| x as i128).collect())
            .collect();
        let mut with = m.clone();
        let mut e1 = vec![0i128; n];
        e1[0] = 1;
        with.push(e1);
        rank(m, n) == rank(with, n)
    }

    fn lsss_of(text: &str) -> (Policy, Lsss) {
        // Bypass the uniqueness check to study repeated attributes.
        let p = crate::policy::parse::parse(text).unwrap();
        let l = build(&p);
        (p, l)
    }

    #[test]
    fn flat_and_of_50() {
        let text: Vec<String> = (0..50).map(|i| format!("a{i}")).collect();
        let (p, l) = lsss_of(&text.join(" AND "));
        assert_eq!(l.columns, 50);
        let d = dense(&l);
        assert!(spans_target(&d, l.columns));
        for skip in 0..50 {
            let some: Vec<Vec<i64>> = d
                .iter()
                .enumerate()
                .filter(|(i, _)| *i != skip)
                .map(|(_, r)| r.clone())
                .collect();
            assert!(!spans_target(&some, l.columns));
        }
        assert!(l.rows.iter().all(|r| r.entries.len() <= 2));
        assert_eq!(p.leaves.len(), 50);
    }

    #[test]
    fn satisfying_leaves_sum_to_target() {
        let (p, l) = lsss_of("(a AND (b OR c) AND d) OR (e AND f)");
        let d = dense(&l);
        for set in [
            vec!["a", "c", "d"],
            vec!["e", "f"],
            vec!["a", "b", "d", "e"],
        ] {
            let has = |i: usize| set.contains(&p.leaves[i].attribute.as_str());
            let sel = p.satisfying_leaves(&has).unwrap();
            let mut sum = vec![0i64; l.columns];
            for i in sel {
                for (k, x) in d[i].iter().enumerate() {
                    sum[k] += x;
                }
            }
            let mut e1 = vec![0i64; l.columns];
            e1[0] = 1;
            assert_eq!(sum, e1, "{set:?}");
        }
    }

    /// Why repeated attributes are rejected (see the `policy` module docs): the difference
    /// of two rows with the same label is usable by anyone, and here it lets a holder of
    /// `a` alone reach `(1, 0)` for a policy that is logically just `y`.
    #[test]
    fn repeated_attribute_difference_row_breaks_policy() {
        let (p, l) = lsss_of("y AND (a OR y)");
        let d = dense(&l);
        let ys: Vec<usize> = (0..p.leaves.len())
            .filter(|&i| p.leaves[i].attribute == "y")
            .collect();
        let a = (0..p.leaves.len())
            .find(|&i| p.leaves[i].attribute == "a")
            .unwrap();
        let diff: Vec<i64> = d[ys[0]].iter().zip(&d[ys[1]]).map(|(x, y)| x - y).collect();
        assert!(!spans_target(&[d[a].clone()], l.columns));
        assert!(spans_target(&[d[a].clone(), diff], l.columns));
        assert!(Policy::parse("y AND (a OR y)").is_err());
    }
}
