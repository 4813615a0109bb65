//! The WebAssembly boundary used by the page's worker. It only moves data: every decision is
//! made by the library, which is tested natively.
//!
//! ```js
//! const s = new Session([{ name: "fw1.iptables", bytes: new Uint8Array(buf) }]);
//! // A file with `manifest: true` is the manifest, as `--manifest FILE`.
//! s.parse_report();                                  // ParseReport as plain JSON values
//! s.query("internet", "203.0.113.2", "tcp", "443");  // QueryReport, or throws Error(message)
//! s.analyze(["internet", "10.0.0.0/24"]);            // AnalyzeReport ([]: internet + manifest's)
//! s.export("csv", ["internet"]);                     // the same analysis as Markdown or CSV text
//! s.export("summary", []);                           // management summary, evidence pack, …
//! s.responsibilities([]);                            // per owner, the actions by risk
//! s.whatif([{ edit: "delete-rule", file: "fw1.iptables", line: 7 }], []); // what the edit changes
//! s.source_line(0, 12);                              // line 12 of the first file, or undefined
//! s.map([], ["subnet:10.20.2.0/24"]);                // MapView: the map with those groups open
//! s.matrix("tcp", 22, undefined, undefined, false);  // ServiceMatrix, as `portolan matrix --json`
//! ```

use std::cell::RefCell;

use serde::{Deserialize, Serialize};
use wasm_bindgen::prelude::*;

use crate::matrix::{self, MatrixRequest};
use crate::reach::{Analyzer, CNetwork, Origin, QueryRequest};
use crate::report::map::MapModel;
use crate::report::{render, roles, AnalyzeReport, ParseReport};
use crate::{whatif, InputFile, Workspace};

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
    /// The manifest, as the CLI's `--manifest FILE`: read as one whatever it looks like, and
    /// chosen over any other manifest among the files.
    #[serde(default)]
    manifest: bool,
}

fn into_error<E: std::fmt::Display>(e: E) -> js_sys::Error {
    js_sys::Error::new(&e.to_string())
}

/// Plain JSON values: maps become objects and 64-bit integers become numbers.
fn to_js<T: Serialize>(value: &T) -> Result<JsValue, js_sys::Error> {
    value.serialize(&serde_wasm_bindgen::Serializer::json_compatible()).map_err(into_error)
}

/// Inputs loaded into a workspace and compiled once, kept for the questions that follow.
#[wasm_bindgen]
pub struct Session {
    ws: Workspace,
    /// The workspace's network, compiled when the session is built.
    net: CNetwork,
    /// The last analysis and the origins it was asked for: exporting what the page shows does
    /// not analyse again.
    last: RefCell<Option<(Vec<String>, AnalyzeReport)>>,
    /// The last map and the origins of the analysis it shows (`None`: the network alone), so
    /// opening and closing groups does not build it again.
    map: RefCell<Option<(Option<Vec<String>>, MapModel)>>,
    /// How the inputs were given, for what-if edits that read a file again.
    inputs: whatif::Inputs,
}

impl Session {
    fn analyzer(&self) -> Analyzer<'_> {
        Analyzer::with_network(&self.ws, &self.net)
    }

    /// The analysis for `origins` (endpoint strings, as `portolan analyze --from`; none means
    /// `internet` and the manifest's origins), from the cache when the same origins were asked
    /// last.
    fn report(&self, origins: Vec<String>) -> AnalyzeReport {
        if let Some((asked, rep)) = self.last.borrow().as_ref() {
            if *asked == origins {
                return rep.clone();
            }
        }
        let an = self.analyzer();
        let list = origin_list(&an, &origins);
        let rep = AnalyzeReport::build(&an, &list);
        *self.last.borrow_mut() = Some((origins, rep.clone()));
        rep
    }
}

/// The origins asked for (none means `internet` and the manifest's origins).
fn origin_list(an: &Analyzer<'_>, origins: &[String]) -> Vec<Origin> {
    if origins.is_empty() {
        an.default_origins()
    } else {
        origins.iter().map(|o| an.origin_named(o)).collect()
    }
}

/// Input files read one at a time (`read` each, then `finish`), so the page can say how far
/// it is while a large set loads.
#[wasm_bindgen]
pub struct FileLoader {
    loader: crate::Loader,
    manifest: Option<InputFile>,
}

#[wasm_bindgen]
impl FileLoader {
    /// Nothing read yet.
    #[wasm_bindgen(constructor)]
    pub fn new() -> FileLoader {
        FileLoader { loader: crate::Loader::default(), manifest: None }
    }

    /// Parse one `{name, text}` or `{name, bytes}` object (`manifest: true` for the manifest
    /// given apart, read at the end).
    pub fn read(&mut self, file: JsValue) -> Result<(), js_sys::Error> {
        let f: JsInput = serde_wasm_bindgen::from_value(file).map_err(into_error)?;
        self.add(f)
    }

    /// Assemble the network from the files read and compile it.
    pub fn finish(self) -> Session {
        let inputs = whatif::Inputs { manifest_apart: self.manifest.is_some() };
        let ws = self.loader.finish(self.manifest);
        let net = Analyzer::new(&ws).into_network();
        Session { ws, net, last: RefCell::new(None), map: RefCell::new(None), inputs }
    }
}

impl Default for FileLoader {
    fn default() -> Self {
        FileLoader::new()
    }
}

impl FileLoader {
    fn add(&mut self, f: JsInput) -> Result<(), js_sys::Error> {
        let file = match (f.bytes, f.text) {
            (Some(b), _) => InputFile { path: f.name, bytes: b.into_vec() },
            (None, Some(t)) => InputFile::new(f.name, t),
            (None, None) => InputFile { path: f.name, bytes: Vec::new() },
        };
        if f.manifest {
            if self.manifest.is_some() {
                return Err(into_error("more than one file is marked as the manifest"));
            }
            self.manifest = Some(file);
        } else {
            self.loader.read(file);
        }
        Ok(())
    }
}

#[wasm_bindgen]
impl Session {
    /// Parse a list of `{name, text}` or `{name, bytes}` objects (at most one with
    /// `manifest: true`), assemble the network and compile it.
    #[wasm_bindgen(constructor)]
    pub fn new(files: JsValue) -> Result<Session, js_sys::Error> {
        let inputs: Vec<JsInput> = serde_wasm_bindgen::from_value(files).map_err(into_error)?;
        let mut loader = FileLoader::new();
        for f in inputs {
            loader.add(f)?;
        }
        Ok(loader.finish())
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
        let report = self.analyzer().query(&req).map_err(into_error)?;
        to_js(&report)
    }

    /// Everything each origin reaches (`internet`, a CIDR, `device:NAME`, an origin the
    /// manifest names; none means `internet` and the manifest's origins): the `AnalyzeReport`
    /// of `portolan analyze --format json`. An origin that cannot be analysed carries its
    /// `error`.
    pub fn analyze(&self, origins: Vec<String>) -> Result<JsValue, js_sys::Error> {
        to_js(&self.report(origins))
    }

    /// The analysis for `origins` as `markdown`, `csv`, `sarif`, `html`, `findings-csv`, `summary`
    /// (the management summary), `responsibilities`, `evidence` (the auditor's evidence pack)
    /// or `evidence-json` text, as the CLI writes it.
    pub fn export(&self, format: String, origins: Vec<String>) -> Result<String, js_sys::Error> {
        match format.as_str() {
            "markdown" | "md" => Ok(render::markdown(&self.report(origins))),
            "csv" => Ok(render::csv(&self.report(origins))),
            "sarif" => Ok(render::sarif(&self.report(origins))),
            "html" => Ok(crate::report::html::html(&self.report(origins))),
            "findings-csv" => Ok(render::findings_csv(&self.report(origins))),
            "summary" => Ok(roles::summary_markdown(&self.report(origins), None)),
            "responsibilities" => Ok(roles::responsibilities_markdown(&self.report(origins))),
            "evidence" => Ok(roles::evidence_markdown(&roles::evidence(&self.ws, &self.report(origins)))),
            "evidence-json" => serde_json::to_string_pretty(&roles::evidence(&self.ws, &self.report(origins)))
                .map(|s| s + "\n")
                .map_err(into_error),
            other => Err(into_error(format!(
                "unknown export format {other:?}: markdown, csv, sarif, html, findings-csv, summary, responsibilities, evidence or evidence-json"
            ))),
        }
    }

    /// The responsibility map of the analysis for `origins`: per owner, the actions ordered by
    /// risk with their evidence (`portolan analyze --format responsibilities`, as JSON).
    pub fn responsibilities(&self, origins: Vec<String>) -> Result<JsValue, js_sys::Error> {
        to_js(&roles::responsibilities(&self.report(origins)))
    }

    /// The figures the management summary gives for the analysis for `origins` (as `analyze`):
    /// services reachable from the Internet and how many are logins and databases, attack paths
    /// and connected (origin, crown jewel) pairs, policy violations, high and critical findings.
    pub fn figures(&self, origins: Vec<String>) -> Result<JsValue, js_sys::Error> {
        to_js(&roles::Figures::of(&self.report(origins)))
    }

    /// The network map with the heat and attack paths of the analysis for `origins` (as
    /// `analyze`; `undefined`: the network alone, without analysing), drawn with the groups
    /// `expanded` open (`undefined`: the default view): a `MapView`.
    pub fn map(
        &self,
        origins: Option<Vec<String>>,
        expanded: Option<Vec<String>>,
    ) -> Result<JsValue, js_sys::Error> {
        let cached = self
            .map
            .borrow()
            .as_ref()
            .is_some_and(|(asked, _)| *asked == origins);
        if !cached {
            let model = match &origins {
                Some(o) => MapModel::build(&self.ws, Some(&self.report(o.clone()))),
                None => MapModel::build(&self.ws, None),
            };
            *self.map.borrow_mut() = Some((origins, model));
        }
        let map = self.map.borrow();
        let (_, model) = map.as_ref().ok_or_else(|| into_error("no map"))?;
        to_js(&model.view(expanded.as_deref()))
    }

    /// What-if: the analysis for `origins` with `edits` made to the inputs (a list of
    /// `{edit: "delete-rule", file, line}`, `{edit: "set-action", file, line, action}`,
    /// `{edit: "close-port", addr, proto, port}`, `{edit: "replace-lines", file, line, count,
    /// text}`, …), compared with the analysis as the inputs are: `{edits, unmatched, reread, diff,
    /// after}` (`reread`: the reader's diagnostics of each replacement's new text). The inputs
    /// themselves are not changed.
    pub fn whatif(&self, edits: JsValue, origins: Vec<String>) -> Result<JsValue, js_sys::Error> {
        let edits: Vec<whatif::Edit> = serde_wasm_bindgen::from_value(edits).map_err(into_error)?;
        let before = self.report(origins.clone());
        let an = self.analyzer();
        to_js(&whatif::compare_with(&an, &origin_list(&an, &origins), &before, &edits, self.inputs))
    }

    /// The service matrix of one firewall for `proto`/`dport` (from `sport`; `undefined`: any
    /// source port) of connections through `device` (`undefined`: the only device with packet
    /// filter rules), or to the device itself when `to_device`: the `ServiceMatrix` of
    /// `portolan matrix --json`, or throws Error(message).
    pub fn matrix(
        &self,
        proto: String,
        dport: u16,
        sport: Option<u16>,
        device: Option<String>,
        to_device: bool,
    ) -> Result<JsValue, js_sys::Error> {
        let device = device.map(|d| d.trim().to_string()).filter(|d| !d.is_empty());
        let req = MatrixRequest { proto, dport, sport, device, to_device };
        to_js(&matrix::compute(&self.ws, &req).map_err(into_error)?)
    }

    /// How many lines the rule written at one-based `line` of input `file_index` takes
    /// ([`crate::whatif::rule_span`]), for the rule editor.
    pub fn rule_span(&self, file_index: usize, line: u32) -> u32 {
        self.ws.files.get(file_index).map_or(1, |f| crate::whatif::rule_span(&f.text, line))
    }

    /// The text of one-based `line` in input `file_index`, for the source viewer.
    pub fn source_line(&self, file_index: usize, line: u32) -> Option<String> {
        let f = self.ws.files.get(file_index)?;
        let n = usize::try_from(line).ok()?.checked_sub(1)?;
        f.text.lines().nth(n).map(str::to_string)
    }
}
