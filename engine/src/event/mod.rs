//! Events: the normalized model and the decoders that produce it, from
//! normalized JSON lines and from Meta webhook envelopes.

mod canonical;
mod model;
mod normalized;
mod timestamp;
mod webhook;

pub use canonical::to_canonical_json;
pub use model::*;
pub use normalized::decode_normalized;
pub use timestamp::parse_timestamp;
pub use webhook::decode_envelope;

use serde::Serialize;

/// What kind of problem an input has. Stable, snake_case; also the error code
/// the daemon returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DecodeErrorKind {
    /// Not JSON at all, or truncated.
    MalformedJson,
    /// A field this format does not have.
    UnknownField,
    /// A value outside the allowed set (an unknown enum variant).
    UnknownValue,
    /// A required field is absent.
    MissingField,
    /// A value of the wrong type or shape.
    InvalidValue,
    /// A phone number that cannot exist, or a malformed BSUID.
    ImpossibleNumber,
    /// A template without its category.
    MissingTemplateCategory,
    /// A timestamp that is neither RFC 3339 nor unix seconds.
    InvalidTimestamp,
}

impl DecodeErrorKind {
    /// The namespaced error code, e.g. `event.unknown_value`.
    pub fn code(self) -> &'static str {
        match self {
            Self::MalformedJson => "event.malformed_json",
            Self::UnknownField => "event.unknown_field",
            Self::UnknownValue => "event.unknown_value",
            Self::MissingField => "event.missing_field",
            Self::InvalidValue => "event.invalid_value",
            Self::ImpossibleNumber => "event.impossible_number",
            Self::MissingTemplateCategory => "event.missing_template_category",
            Self::InvalidTimestamp => "event.invalid_timestamp",
        }
    }
}

/// One bad input, with the field (a dotted path) and, for files, the line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{}{}: {message}", line.map(|l| format!("line {l}: ")).unwrap_or_default(), field.as_deref().map(|f| format!("field `{f}`")).unwrap_or_else(|| "input".to_owned()))]
pub struct DecodeError {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    pub kind: DecodeErrorKind,
    /// Dotted path of the offending field, e.g. `entry[0].changes[1].value`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    pub message: String,
    /// For malformed JSON: the 1-based column where parsing stopped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<usize>,
}

impl DecodeError {
    pub fn new(kind: DecodeErrorKind, field: impl Into<String>, message: impl Into<String>) -> Self {
        Self { line: None, kind, field: Some(field.into()), message: message.into(), column: None }
    }

    /// The namespaced error code.
    pub fn code(&self) -> &'static str {
        self.kind.code()
    }

    /// Attaches the 1-based input line.
    pub fn at_line(mut self, line: usize) -> Self {
        self.line = Some(line);
        self
    }

    /// Classifies a serde error raised at `path`.
    pub(crate) fn from_serde(path: String, err: &serde_json::Error) -> Self {
        use serde_json::error::Category;
        let text = err.to_string();
        // serde_json appends " at line L column C"; the line/column belong in their own fields.
        let message = text.split(" at line ").next().unwrap_or(&text).to_owned();
        let field = (!path.is_empty() && path != ".").then_some(path);
        let kind = match err.classify() {
            Category::Syntax | Category::Eof | Category::Io => {
                return Self {
                    line: None,
                    kind: DecodeErrorKind::MalformedJson,
                    field: None,
                    message,
                    column: Some(err.column()),
                };
            }
            Category::Data if message.starts_with("unknown field") => DecodeErrorKind::UnknownField,
            Category::Data if message.starts_with("unknown variant") => DecodeErrorKind::UnknownValue,
            Category::Data if message.starts_with("missing field") => DecodeErrorKind::MissingField,
            Category::Data => DecodeErrorKind::InvalidValue,
        };
        let field = match (kind, field) {
            // serde names a missing field in its message, not in the path.
            (DecodeErrorKind::MissingField, parent) => {
                let name = message.split('`').nth(1).unwrap_or_default();
                Some(match parent {
                    Some(p) => format!("{p}.{name}"),
                    None => name.to_owned(),
                })
            }
            (_, field) => field,
        };
        Self { line: None, kind, field, message, column: None }
    }
}

/// Decodes one JSON document: a Meta webhook envelope (recognized by its
/// `"object"` field) or one normalized event.
pub fn decode_document(text: &str) -> Result<Decoded, Vec<DecodeError>> {
    if looks_like_envelope(text) {
        decode_envelope(text.as_bytes())
    } else {
        decode_normalized(text)
            .map(|event| Decoded { messages: vec![event], ..Decoded::default() })
            .map_err(|e| vec![e])
    }
}

/// Decodes one line of a JSONL file; errors carry the 1-based line number.
pub fn decode_line(line_no: usize, text: &str) -> Result<Decoded, Vec<DecodeError>> {
    decode_document(text).map_err(|errs| errs.into_iter().map(|e| e.at_line(line_no)).collect())
}

fn looks_like_envelope(text: &str) -> bool {
    text.contains("\"whatsapp_business_account\"")
}
