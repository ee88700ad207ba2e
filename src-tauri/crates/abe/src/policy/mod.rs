//! Access policies: `(role:doctor AND dept:cardiology) OR id:0x12ab...`.
//!
//! A [`Policy`] is a monotone boolean formula over attribute strings. It is parsed by
//! [`parse`](parse) (iterative over AND/OR chains, recursive only for parentheses, which are
//! bounded by [`MAX_POLICY_DEPTH`]), turned into a Lewko-Waters LSSS matrix by [`lsss`] and
//! rendered in plain words by [`describe`].
//!
//! # Repeated attributes are rejected
//!
//! FAME's ciphertext (Agrawal-Chase 2017, Section 3, `Enc`) has no per-row randomness: row
//! `i` is `H(π(i)ℓ1)^{s1} · H(π(i)ℓ2)^{s2} · Π_j (column hashes)^{M_ij}` with the same
//! `s1, s2` for every row. If an attribute labelled two rows `i ≠ i'`, anyone (even without
//! that attribute) could divide the two rows: the attribute hashes cancel and what remains
//! is a row for the share *difference* `M_i - M_i'`, usable without any key component (the
//! key parts for that attribute cancel the same way in decryption). For `y AND (a OR y)` the
//! LW rows are `y = (1, 1)`, `a = (0, -1)`, `y' = (0, -1)`; the difference `y - y' = (1, 2)`
//! plus twice `a` is `(1, 0)`, so a holder of `a` alone could decrypt a policy that is
//! logically just `y` (the test `repeated_attribute_difference_row_breaks_policy` in
//! `lsss.rs` checks this). Since the construction as written leaks this difference row
//! whenever `π` is not injective (the known fix, one attribute copy per occurrence, bounds
//! the number of uses and grows every key), we reject policies that use an attribute twice, with a message that shows how to factor the formula. (Non-read-once
//! formulas such as a 2-of-3 majority need separate ciphertexts per clause.)

mod describe;
pub(crate) mod lsss;
mod parse;

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

use crate::error::PolicyError;

/// Maximum nesting depth of parentheses.
pub const MAX_POLICY_DEPTH: usize = 32;
/// Maximum number of attribute occurrences in a policy.
pub const MAX_POLICY_ATTRIBUTES: usize = 512;
/// Maximum length of the policy text in bytes.
pub const MAX_POLICY_LEN: usize = 32 * 1024;

/// A node of the formula. AND/OR nodes have at least two children and are flattened (no AND
/// directly under an AND).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Node {
    /// Index into [`Policy::leaves`].
    Leaf(usize),
    And(Vec<Node>),
    Or(Vec<Node>),
}

/// An attribute occurrence. Equality ignores the source column, so a policy equals its
/// re-parsed canonical text.
#[derive(Debug, Clone)]
pub(crate) struct Leaf {
    pub(crate) attribute: String,
    /// 1-based column in the source text (0 when built programmatically).
    pub(crate) column: usize,
}

impl PartialEq for Leaf {
    fn eq(&self, other: &Self) -> bool {
        self.attribute == other.attribute
    }
}
impl Eq for Leaf {}

/// A parsed, validated access policy.
///
/// Attribute strings are matched exactly (case-sensitive); keywords `AND`/`OR` are
/// case-insensitive. A policy uses each attribute at most once (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    pub(crate) root: Node,
    pub(crate) leaves: Vec<Leaf>,
}

impl Policy {
    /// Parses and validates a policy.
    pub fn parse(text: &str) -> Result<Policy, PolicyError> {
        let policy = parse::parse(text)?;
        policy.check_unique()?;
        Ok(policy)
    }

    /// The attributes the policy mentions, in order of appearance.
    pub fn attributes(&self) -> impl Iterator<Item = &str> {
        self.leaves.iter().map(|l| l.attribute.as_str())
    }

    /// Plain-language rendering for the share dialog, e.g. "any doctor in cardiology, or the
    /// holder of 0x12ab…".
    pub fn describe(&self) -> String {
        describe::describe(self)
    }

    /// Whether a set of attributes satisfies the policy (plain boolean evaluation).
    pub fn is_satisfied_by<S: AsRef<str>>(&self, attributes: &[S]) -> bool {
        let has = |i: usize| {
            self.leaves
                .get(i)
                .is_some_and(|l| attributes.iter().any(|a| a.as_ref() == l.attribute))
        };
        self.satisfying_leaves(&has).is_some()
    }

    /// A set of leaves that satisfies the formula, using only leaves for which `has` is true.
    ///
    /// With a Lewko-Waters matrix the rows of such a set (one OR child, all AND children)
    /// sum to `(1, 0, …, 0)`, so all reconstruction coefficients are 1.
    pub(crate) fn satisfying_leaves(&self, has: &dyn Fn(usize) -> bool) -> Option<Vec<usize>> {
        let mut out = Vec::new();
        if select(&self.root, has, &mut out) {
            Some(out)
        } else {
            None
        }
    }

    fn check_unique(&self) -> Result<(), PolicyError> {
        let mut seen: HashMap<&str, usize> = HashMap::with_capacity(self.leaves.len());
        for leaf in &self.leaves {
            if let Some(first) = seen.insert(leaf.attribute.as_str(), leaf.column) {
                return Err(PolicyError::RepeatedAttribute {
                    attribute: leaf.attribute.clone(),
                    first,
                    second: leaf.column,
                });
            }
        }
        Ok(())
    }
}

/// Recursion depth is bounded by [`MAX_POLICY_DEPTH`] + 1 because AND/OR nodes only nest
/// through parentheses.
fn select(node: &Node, has: &dyn Fn(usize) -> bool, out: &mut Vec<usize>) -> bool {
    match node {
        Node::Leaf(i) => {
            if has(*i) {
                out.push(*i);
                true
            } else {
                false
            }
        }
        Node::And(children) => {
            let mark = out.len();
            for c in children {
                if !select(c, has, out) {
                    out.truncate(mark);
                    return false;
                }
            }
            true
        }
        Node::Or(children) => children.iter().any(|c| select(c, has, out)),
    }
}

impl FromStr for Policy {
    type Err = PolicyError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Policy::parse(s)
    }
}

/// Whether an attribute can be written without quotes.
fn is_bare(attribute: &str) -> bool {
    !attribute.is_empty()
        && !attribute.eq_ignore_ascii_case("and")
        && !attribute.eq_ignore_ascii_case("or")
        && attribute.chars().all(parse::is_bare_char)
}

/// Canonical text: single spaces, upper-case keywords, parentheses only where needed,
/// quotes only where needed. `Policy::parse(p.to_string()) == p` up to source columns.
impl fmt::Display for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn node(p: &Policy, n: &Node, nested: bool, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            match n {
                Node::Leaf(i) => {
                    let a = p.leaves.get(*i).map(|l| l.attribute.as_str()).unwrap_or("");
                    if is_bare(a) {
                        f.write_str(a)
                    } else {
                        write!(f, "\"{a}\"")
                    }
                }
                Node::And(cs) | Node::Or(cs) => {
                    let op = if matches!(n, Node::And(_)) {
                        " AND "
                    } else {
                        " OR "
                    };
                    if nested {
                        f.write_str("(")?;
                    }
                    for (k, c) in cs.iter().enumerate() {
                        if k > 0 {
                            f.write_str(op)?;
                        }
                        node(p, c, true, f)?;
                    }
                    if nested {
                        f.write_str(")")?;
                    }
                    Ok(())
                }
            }
        }
        node(self, &self.root, false, f)
    }
}
