//! Juniper Junos / SRX configuration.

use super::{Format, ParsedFile};
use crate::diag::SourceId;

/// True if the text is this format.
pub fn looks_like(_text: &str) -> bool {
    false
}

/// Parse one file.
pub fn parse(_source: SourceId, _file: &str, text: &str) -> ParsedFile {
    ParsedFile::new(Format::Junos, text)
}
