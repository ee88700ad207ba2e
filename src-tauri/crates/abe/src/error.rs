//! Typed errors. Every message says what went wrong and, where the caller can act on it,
//! what to do; none of them carries secret material.

use thiserror::Error;

/// A policy that could not be parsed or is not accepted by the scheme.
///
/// Columns are 1-based character positions in the policy text.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PolicyError {
    /// The text is empty or only whitespace.
    #[error("the policy is empty: write at least one attribute, e.g. `role:doctor`")]
    Empty,
    /// A token other than the expected one was found.
    #[error("column {column}: expected {expected}, found {found}")]
    Unexpected {
        /// 1-based column of the offending token.
        column: usize,
        /// What the parser expected there.
        expected: &'static str,
        /// What it found (a short rendering of the token).
        found: String,
    },
    /// A quoted attribute is not closed.
    #[error("column {column}: the quoted attribute starting here is not closed; add a `\"`")]
    UnterminatedQuote {
        /// Column of the opening quote.
        column: usize,
    },
    /// A quoted attribute is empty.
    #[error("column {column}: an attribute cannot be empty (`\"\"`)")]
    EmptyAttribute {
        /// Column of the opening quote.
        column: usize,
    },
    /// AND and OR are mixed at one level without parentheses.
    #[error(
        "column {column}: AND and OR are mixed without parentheses; \
         write `(a AND b) OR c` or `a AND (b OR c)` to say which one you mean"
    )]
    MixedOperators {
        /// Column of the operator that changed.
        column: usize,
    },
    /// Parentheses nest deeper than [`crate::MAX_POLICY_DEPTH`].
    #[error("column {column}: parentheses nest deeper than {max} levels; flatten the policy")]
    TooDeep {
        /// Column of the parenthesis that went too deep.
        column: usize,
        /// The limit.
        max: usize,
    },
    /// More attribute occurrences than [`crate::MAX_POLICY_ATTRIBUTES`].
    #[error("the policy has more than {max} attributes; split the record's sharing into several policies")]
    TooManyAttributes {
        /// The limit.
        max: usize,
    },
    /// The policy text is longer than [`crate::MAX_POLICY_LEN`] bytes.
    #[error("the policy is longer than {max} bytes")]
    TooLong {
        /// The limit.
        max: usize,
    },
    /// An attribute occurs more than once (see the `policy` module docs for why).
    #[error(
        "attribute `{attribute}` appears more than once (columns {first} and {second}); \
         FAME needs each attribute at most once per policy: factor it out, e.g. \
         `(a AND b) OR (a AND c)` becomes `a AND (b OR c)`, or encrypt the clauses separately"
    )]
    RepeatedAttribute {
        /// The repeated attribute.
        attribute: String,
        /// Column of the first occurrence.
        first: usize,
        /// Column of the second occurrence.
        second: usize,
    },
}

/// A byte string that is not a valid encoding of the expected object.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DecodeError {
    /// The input ended early.
    #[error("the {what} is truncated")]
    Truncated {
        /// The object or field being read.
        what: &'static str,
    },
    /// Bytes remain after the object.
    #[error("the {what} has {extra} unexpected trailing bytes")]
    TrailingBytes {
        /// The object being read.
        what: &'static str,
        /// How many bytes were left.
        extra: usize,
    },
    /// The first byte names another kind of object (e.g. a user key passed as a ciphertext).
    #[error(
        "expected a {expected}, but the data is a different kind of object (tag {found:#04x})"
    )]
    WrongKind {
        /// The object expected.
        expected: &'static str,
        /// The tag found.
        found: u8,
    },
    /// The format version is not supported by this build.
    #[error("unsupported {what} format version {found} (this build reads version {supported}); update the app")]
    UnsupportedVersion {
        /// The object being read.
        what: &'static str,
        /// The version found.
        found: u8,
        /// The version this build reads.
        supported: u8,
    },
    /// A group element is not a valid compressed point.
    #[error("{what} is not a valid compressed curve point")]
    InvalidPoint {
        /// The field being read.
        what: &'static str,
    },
    /// A point is on the curve but outside the prime-order subgroup.
    #[error("{what} is not in the prime-order subgroup")]
    NotInSubgroup {
        /// The field being read.
        what: &'static str,
    },
    /// A point is the identity (point at infinity). No honest encoding contains it: it would
    /// be a degenerate key or parameter (e.g. `K_t = 1` makes every ciphertext's key public).
    #[error("{what} is the identity point, which no valid object contains")]
    Identity {
        /// The field being read.
        what: &'static str,
    },
    /// A scalar is not canonical (not below the group order) or is zero where it must not be.
    #[error("{what} is not a valid scalar")]
    InvalidScalar {
        /// The field being read.
        what: &'static str,
    },
    /// A length or count field is out of range.
    #[error("{what} is out of range")]
    OutOfRange {
        /// The field being read.
        what: &'static str,
    },
    /// A text field is not UTF-8.
    #[error("{what} is not valid UTF-8")]
    NotUtf8 {
        /// The field being read.
        what: &'static str,
    },
    /// The embedded policy does not parse.
    #[error("the embedded policy is invalid: {0}")]
    Policy(#[from] PolicyError),
    /// The ciphertext's row count does not match its policy.
    #[error("the ciphertext has {found} rows but its policy needs {expected}")]
    RowCount {
        /// Rows the policy needs.
        expected: usize,
        /// Rows found.
        found: usize,
    },
}

/// Errors of the attribute-based KEM.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AbeError {
    /// A policy is invalid.
    #[error("invalid policy: {0}")]
    Policy(#[from] PolicyError),
    /// An encoding is invalid.
    #[error("invalid encoding: {0}")]
    Decode(#[from] DecodeError),
    /// The key was issued by another authority than the one the ciphertext is for.
    #[error("this key was issued by another authority than the one the record was shared under")]
    WrongAuthority,
    /// The key's attributes do not satisfy the policy.
    #[error("this key's attributes do not satisfy the record's policy")]
    PolicyNotSatisfied,
    /// The ciphertext failed its integrity check (modified, or not decryptable by this key).
    #[error(
        "the ciphertext was modified or is not for this key; ask the sender to share it again"
    )]
    Rejected,
    /// An attribute for a user key is empty or too long.
    #[error("invalid attribute `{0}`: attributes must be 1 to 1024 bytes of UTF-8")]
    InvalidAttribute(String),
    /// The authority label is too long.
    #[error("the authority label is longer than 1024 bytes")]
    InvalidLabel,
    /// The key has no attributes or too many.
    #[error("a user key needs between 1 and {max} attributes")]
    AttributeCount {
        /// The limit.
        max: usize,
    },
}
