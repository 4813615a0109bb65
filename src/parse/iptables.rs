//! `iptables-save` / `ip6tables-save` / `iptables-nft-save` output.

use crate::diag::SourceId;
use super::{Format, ParsedFile};

/// True if the text looks like iptables-save output.
pub fn looks_like(text: &str) -> bool {
    text.lines().any(|l| matches!(l.trim(), "*filter" | "*nat" | "*mangle" | "*raw" | "*security"))
}

/// Parse iptables-save output.
pub fn parse(_source: SourceId, _file: &str, text: &str) -> ParsedFile {
    ParsedFile::new(Format::IptablesSave, text)
}
