//! The WebAssembly boundary used by the page's worker. It only moves data: every decision is
//! made by the library, which is tested natively.
//!
//! ```js
//! const s = new Session([{ name: "fw1.iptables", bytes: new Uint8Array(buf) }]);
//! s.parse_report();                                  // ParseReport as plain JSON values
//! s.query("internet", "203.0.113.2", "tcp", "443");  // QueryReport, or throws Error(message)
//! s.source_line(0, 12);                              // line 12 of the first file, or undefined
//! ```

use serde::{Deserialize, Serialize};
use wasm_bindgen::prelude::*;

use crate::reach::{self, QueryRequest};
use crate::report::ParseReport;
use crate::{InputFile, Workspace};

#[wasm_bindgen(start)]
fn start() {
    console_error_panic_hook::set_once();
}

/// One file handed over by the page: its name and either its raw bytes or its text.
#[derive(Deserialize)]
struct JsInput {
    name: String,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    bytes: Option<serde_bytes::ByteBuf>,
}

fn into_error<E: std::fmt::Display>(e: E) -> js_sys::Error {
    js_sys::Error::new(&e.to_string())
}

/// Plain JSON values: maps become objects and 64-bit integers become numbers.
fn to_js<T: Serialize>(value: &T) -> Result<JsValue, js_sys::Error> {
    value.serialize(&serde_wasm_bindgen::Serializer::json_compatible()).map_err(into_error)
}

/// Inputs loaded into a workspace, kept for the questions that follow.
#[wasm_bindgen]
pub struct Session {
    ws: Workspace,
}

#[wasm_bindgen]
impl Session {
    /// Parse a list of `{name, text}` or `{name, bytes}` objects and assemble the network.
    #[wasm_bindgen(constructor)]
    pub fn new(files: JsValue) -> Result<Session, js_sys::Error> {
        let inputs: Vec<JsInput> = serde_wasm_bindgen::from_value(files).map_err(into_error)?;
        let files = inputs
            .into_iter()
            .map(|f| match (f.bytes, f.text) {
                (Some(b), _) => InputFile { path: f.name, bytes: b.into_vec() },
                (None, Some(t)) => InputFile::new(f.name, t),
                (None, None) => InputFile { path: f.name, bytes: Vec::new() },
            })
            .collect();
        Ok(Session { ws: Workspace::load(files) })
    }

    /// Number of input files.
    pub fn file_count(&self) -> usize {
        self.ws.files.len()
    }

    /// Every input with its format, status, coverage and diagnostics, and every device.
    pub fn parse_report(&self) -> Result<JsValue, js_sys::Error> {
        to_js(&ParseReport::build(&self.ws))
    }

    /// Answer "can `from` open a `proto`/`port` connection to `to`?" with every hop explained.
    pub fn query(
        &self,
        from: String,
        to: String,
        proto: String,
        port: Option<String>,
    ) -> Result<JsValue, js_sys::Error> {
        let port = port.map(|p| p.trim().to_string()).filter(|p| !p.is_empty());
        let req = QueryRequest { from, to, proto, port, ..Default::default() };
        let report = reach::query(&self.ws, &req).map_err(into_error)?;
        to_js(&report)
    }

    /// The text of one-based `line` in input `file_index`, for the source viewer.
    pub fn source_line(&self, file_index: usize, line: u32) -> Option<String> {
        let f = self.ws.files.get(file_index)?;
        let n = usize::try_from(line).ok()?.checked_sub(1)?;
        f.text.lines().nth(n).map(str::to_string)
    }
}
