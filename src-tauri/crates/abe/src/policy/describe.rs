//! Plain-language rendering of a policy for the share dialog.
//!
//! Rules (simple and deterministic, so the same policy always reads the same):
//! * `role:X` → "any X", `dept:Y` → "in Y", `id:0x…` → "the holder of 0x12ab…" (first six
//!   characters, then an ellipsis), anything else → the attribute in double quotes.
//! * AND joins with " and ", except that a `dept:` term right after another term joins with a
//!   space, so `role:doctor AND dept:cardiology` reads "any doctor in cardiology".
//! * OR joins with ", or ".
//! * A group nested inside an AND is put in parentheses; an AND inside an OR is not, since
//!   ", or" already separates the alternatives.

use super::{Node, Policy};

fn attribute(a: &str) -> String {
    if let Some(role) = a.strip_prefix("role:") {
        format!("any {role}")
    } else if let Some(dept) = a.strip_prefix("dept:") {
        format!("in {dept}")
    } else if let Some(id) = a.strip_prefix("id:") {
        let short: String = id.chars().take(6).collect();
        if short.len() < id.len() {
            format!("the holder of {short}…")
        } else {
            format!("the holder of {short}")
        }
    } else {
        format!("\"{a}\"")
    }
}

fn node(p: &Policy, n: &Node, inside_and: bool) -> String {
    match n {
        Node::Leaf(i) => p
            .leaves
            .get(*i)
            .map(|l| attribute(&l.attribute))
            .unwrap_or_default(),
        Node::And(children) => {
            let mut s = String::new();
            for (k, c) in children.iter().enumerate() {
                let is_dept = matches!(c, Node::Leaf(i)
                    if p.leaves.get(*i).is_some_and(|l| l.attribute.starts_with("dept:")));
                if k > 0 {
                    s.push_str(if is_dept { " " } else { " and " });
                }
                s.push_str(&node(p, c, true));
            }
            if inside_and {
                format!("({s})")
            } else {
                s
            }
        }
        Node::Or(children) => {
            let parts: Vec<String> = children.iter().map(|c| node(p, c, false)).collect();
            let s = parts.join(", or ");
            if inside_and {
                format!("({s})")
            } else {
                s
            }
        }
    }
}

pub(super) fn describe(p: &Policy) -> String {
    node(p, &p.root, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> String {
        Policy::parse(s).unwrap().describe()
    }

    #[test]
    fn issue_example() {
        assert_eq!(
            d("(role:doctor AND dept:cardiology) OR id:0x12ab34cd"),
            "any doctor in cardiology, or the holder of 0x12ab…"
        );
    }

    #[test]
    fn other_shapes() {
        assert_eq!(d("family"), "\"family\"");
        assert_eq!(d("id:0x12"), "the holder of 0x12");
        assert_eq!(
            d("role:nurse AND (dept:icu OR dept:er)"),
            "any nurse and (in icu, or in er)"
        );
        assert_eq!(d("careteam OR family"), "\"careteam\", or \"family\"");
    }
}
