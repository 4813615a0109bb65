//! Linux `ip addr` / `ip route` dumps, text and `-j` JSON.

use crate::diag::SourceId;
use super::{Format, ParsedFile};

/// Detect a JSON dump.
pub fn detect_json(_text: &str) -> Option<Format> {
    None
}

/// Detect a text dump.
pub fn detect_text(_text: &str) -> Option<Format> {
    None
}

/// Parse a dump of the given format.
pub fn parse(format: Format, _source: SourceId, _file: &str, text: &str) -> ParsedFile {
    ParsedFile::new(format, text)
}
