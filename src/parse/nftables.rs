//! nftables rulesets: `nft list ruleset` text and `nft -j list ruleset` JSON.

use super::{Format, ParsedFile};
use crate::diag::SourceId;

/// True if the text is `nft list ruleset` output.
pub fn looks_like(_text: &str) -> bool {
    false
}

/// True if the (trimmed) JSON text is `nft -j list ruleset` output.
pub fn looks_like_json(_text: &str) -> bool {
    false
}

/// Parse one file of either form.
pub fn parse(format: Format, _source: SourceId, _file: &str, text: &str) -> ParsedFile {
    ParsedFile::new(format, text)
}
