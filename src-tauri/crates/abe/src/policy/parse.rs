//! Tokenizer and parser for the policy language.
//!
//! ```text
//! policy := group EOF
//! group  := term ( (AND term)* | (OR term)* )     -- no mixing without parentheses
//! term   := ATTRIBUTE | '(' group ')'
//! ATTRIBUTE := bare | '"' [^"]+ '"'              -- bare: no whitespace, '(', ')', '"'
//! ```
//!
//! `AND`/`OR` are case-insensitive keywords; write `"and"` to use them as attributes. Mixing
//! AND and OR at one level is rejected rather than given a precedence, because a share dialog
//! must not guess what the patient meant. Chains are parsed in loops; only parentheses
//! recurse, at most [`MAX_POLICY_DEPTH`] deep.

use super::{Leaf, Node, Policy, MAX_POLICY_ATTRIBUTES, MAX_POLICY_DEPTH, MAX_POLICY_LEN};
use crate::error::PolicyError;

/// Characters allowed in an unquoted attribute.
pub(super) fn is_bare_char(c: char) -> bool {
    !c.is_whitespace() && c != '(' && c != ')' && c != '"'
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Open,
    Close,
    And,
    Or,
    Attr(String),
    End,
}

fn render(t: &Tok) -> String {
    match t {
        Tok::Open => "`(`".into(),
        Tok::Close => "`)`".into(),
        Tok::And => "`AND`".into(),
        Tok::Or => "`OR`".into(),
        Tok::Attr(a) => {
            let short: String = a.chars().take(40).collect();
            format!("attribute `{short}`")
        }
        Tok::End => "the end of the policy".into(),
    }
}

fn tokenize(text: &str) -> Result<Vec<(Tok, usize)>, PolicyError> {
    let mut out = Vec::new();
    let mut chars = text.chars().enumerate().peekable();
    // Nesting is checked here too, so a flood of `(` is reported as too deep rather than as
    // too many tokens.
    let mut depth = 0usize;
    while let Some((i, c)) = chars.next() {
        let column = i + 1;
        match c {
            c if c.is_whitespace() => {}
            '(' => {
                depth += 1;
                if depth > MAX_POLICY_DEPTH {
                    return Err(PolicyError::TooDeep {
                        column,
                        max: MAX_POLICY_DEPTH,
                    });
                }
                out.push((Tok::Open, column));
            }
            ')' => {
                depth = depth.saturating_sub(1);
                out.push((Tok::Close, column));
            }
            '"' => {
                let mut s = String::new();
                let mut closed = false;
                for (_, c) in chars.by_ref() {
                    if c == '"' {
                        closed = true;
                        break;
                    }
                    s.push(c);
                }
                if !closed {
                    return Err(PolicyError::UnterminatedQuote { column });
                }
                if s.is_empty() {
                    return Err(PolicyError::EmptyAttribute { column });
                }
                out.push((Tok::Attr(s), column));
            }
            c => {
                let mut s = String::from(c);
                while let Some((_, c)) = chars.next_if(|(_, c)| is_bare_char(*c)) {
                    s.push(c);
                }
                let tok = if s.eq_ignore_ascii_case("and") {
                    Tok::And
                } else if s.eq_ignore_ascii_case("or") {
                    Tok::Or
                } else {
                    Tok::Attr(s)
                };
                out.push((tok, column));
            }
        }
        if out.len() > 4 * MAX_POLICY_ATTRIBUTES + 2 * MAX_POLICY_DEPTH + 8 {
            return Err(PolicyError::TooManyAttributes {
                max: MAX_POLICY_ATTRIBUTES,
            });
        }
    }
    let end = text.chars().count() + 1;
    out.push((Tok::End, end));
    Ok(out)
}

struct Parser {
    toks: Vec<(Tok, usize)>,
    pos: usize,
    leaves: Vec<Leaf>,
}

impl Parser {
    fn peek(&self) -> (&Tok, usize) {
        match self.toks.get(self.pos) {
            Some((t, c)) => (t, *c),
            None => (&Tok::End, self.toks.last().map_or(1, |(_, c)| *c)),
        }
    }

    fn bump(&mut self) {
        self.pos += 1;
    }

    fn unexpected(&self, expected: &'static str) -> PolicyError {
        let (t, column) = self.peek();
        PolicyError::Unexpected {
            column,
            expected,
            found: render(t),
        }
    }

    fn term(&mut self, depth: usize) -> Result<Node, PolicyError> {
        let (t, column) = self.peek();
        match t.clone() {
            Tok::Attr(a) => {
                self.bump();
                if self.leaves.len() >= MAX_POLICY_ATTRIBUTES {
                    return Err(PolicyError::TooManyAttributes {
                        max: MAX_POLICY_ATTRIBUTES,
                    });
                }
                self.leaves.push(Leaf {
                    attribute: a,
                    column,
                });
                Ok(Node::Leaf(self.leaves.len() - 1))
            }
            Tok::Open => {
                if depth >= MAX_POLICY_DEPTH {
                    return Err(PolicyError::TooDeep {
                        column,
                        max: MAX_POLICY_DEPTH,
                    });
                }
                self.bump();
                let inner = self.group(depth + 1)?;
                match self.peek().0 {
                    Tok::Close => {
                        self.bump();
                        Ok(inner)
                    }
                    _ => Err(self.unexpected("`AND`, `OR` or `)`")),
                }
            }
            _ => Err(self.unexpected("an attribute or `(`")),
        }
    }

    fn group(&mut self, depth: usize) -> Result<Node, PolicyError> {
        let first = self.term(depth)?;
        let mut op: Option<Tok> = None;
        let mut children = vec![first];
        loop {
            let (t, column) = self.peek();
            let t = t.clone();
            match t {
                Tok::And | Tok::Or => {
                    match &op {
                        None => op = Some(t.clone()),
                        Some(o) if *o != t => {
                            return Err(PolicyError::MixedOperators { column });
                        }
                        Some(_) => {}
                    }
                    self.bump();
                    children.push(self.term(depth)?);
                }
                _ => break,
            }
        }
        Ok(match op {
            None => children.pop().unwrap_or(Node::And(Vec::new())),
            Some(Tok::And) => Node::And(flatten(children, true)),
            Some(_) => Node::Or(flatten(children, false)),
        })
    }
}

/// `a AND (b AND c)` is `a AND b AND c`: flattening keeps the tree shallow and the LSSS
/// matrix the same size either way.
fn flatten(children: Vec<Node>, and: bool) -> Vec<Node> {
    let mut out = Vec::with_capacity(children.len());
    for c in children {
        match c {
            Node::And(cs) if and => out.extend(cs),
            Node::Or(cs) if !and => out.extend(cs),
            other => out.push(other),
        }
    }
    out
}

pub(super) fn parse(text: &str) -> Result<Policy, PolicyError> {
    if text.len() > MAX_POLICY_LEN {
        return Err(PolicyError::TooLong {
            max: MAX_POLICY_LEN,
        });
    }
    if text.trim().is_empty() {
        return Err(PolicyError::Empty);
    }
    let toks = tokenize(text)?;
    let mut p = Parser {
        toks,
        pos: 0,
        leaves: Vec::new(),
    };
    let root = p.group(0)?;
    match p.peek().0 {
        Tok::End => {}
        Tok::Close => return Err(p.unexpected("an operator or the end (unbalanced `)`)")),
        _ => return Err(p.unexpected("`AND`, `OR` or the end of the policy")),
    }
    Ok(Policy {
        root,
        leaves: p.leaves,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(s: &str) -> PolicyError {
        match Policy::parse(s) {
            Err(e) => e,
            Ok(p) => panic!("{s:?} parsed as {p}"),
        }
    }

    #[test]
    fn parses_the_issue_example() {
        let p = Policy::parse("(role:doctor AND dept:cardiology) OR id:0x12ab...").unwrap();
        assert_eq!(
            p.to_string(),
            "(role:doctor AND dept:cardiology) OR id:0x12ab..."
        );
        assert_eq!(p.attributes().count(), 3);
    }

    #[test]
    fn keywords_are_case_insensitive_and_quotes_work() {
        let p = Policy::parse(r#"  "dept:a b" and (x Or "and") "#).unwrap();
        assert_eq!(p.to_string(), r#""dept:a b" AND (x OR "and")"#);
        let again = Policy::parse(&p.to_string()).unwrap();
        assert_eq!(again.to_string(), p.to_string());
    }

    #[test]
    fn nested_same_operator_is_flattened() {
        let p = Policy::parse("a AND (b AND (c AND d))").unwrap();
        assert_eq!(p.to_string(), "a AND b AND c AND d");
        let p = Policy::parse("((a))").unwrap();
        assert_eq!(p.to_string(), "a");
    }

    #[test]
    fn errors_name_the_column() {
        assert_eq!(
            err("a AND"),
            PolicyError::Unexpected {
                column: 6,
                expected: "an attribute or `(`",
                found: "the end of the policy".into()
            }
        );
        assert_eq!(
            err("a AND b OR c"),
            PolicyError::MixedOperators { column: 9 }
        );
        assert_eq!(err("a \"b"), PolicyError::UnterminatedQuote { column: 3 });
        assert_eq!(err("\"\""), PolicyError::EmptyAttribute { column: 1 });
        assert!(matches!(
            err("(a"),
            PolicyError::Unexpected { column: 3, .. }
        ));
        assert!(matches!(
            err("a)"),
            PolicyError::Unexpected { column: 2, .. }
        ));
        assert!(matches!(
            err("a b"),
            PolicyError::Unexpected { column: 3, .. }
        ));
        assert!(matches!(
            err("OR a"),
            PolicyError::Unexpected { column: 1, .. }
        ));
        assert_eq!(err("   "), PolicyError::Empty);
        assert!(err("a AND b OR c").to_string().contains("(a AND b) OR c"));
    }

    #[test]
    fn depth_is_bounded() {
        let deep = format!("{}a{}", "(".repeat(10_000), ")".repeat(10_000));
        assert!(matches!(err(&deep), PolicyError::TooDeep { max: 32, .. }));
        let ok = format!("{}a{}", "(".repeat(32), ")".repeat(32));
        assert!(Policy::parse(&ok).is_ok());
    }

    #[test]
    fn repeated_attributes_are_rejected_with_advice() {
        let e = err("(a AND b) OR (a AND c)");
        assert_eq!(
            e,
            PolicyError::RepeatedAttribute {
                attribute: "a".into(),
                first: 2,
                second: 15
            }
        );
        assert!(e.to_string().contains("a AND (b OR c)"));
    }

    #[test]
    fn size_limits() {
        let many: Vec<String> = (0..=MAX_POLICY_ATTRIBUTES)
            .map(|i| format!("x{i}"))
            .collect();
        assert_eq!(
            err(&many.join(" OR ")),
            PolicyError::TooManyAttributes {
                max: MAX_POLICY_ATTRIBUTES
            }
        );
        assert_eq!(
            err(&"a".repeat(MAX_POLICY_LEN + 1)),
            PolicyError::TooLong {
                max: MAX_POLICY_LEN
            }
        );
    }
}
