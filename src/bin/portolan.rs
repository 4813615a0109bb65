//! The `portolan` command line: argument parsing, file reading and rendering only; all logic is
//! in the library. Exit codes: 0 ok, 1 threshold met or policy violated, 2 usage or unreadable
//! input.

#[cfg(target_arch = "wasm32")]
fn main() {}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    std::process::exit(cli::main());
}

#[cfg(not(target_arch = "wasm32"))]
mod cli {
    use std::io::Write;
    use std::path::{Path, PathBuf};

    use anyhow::{bail, Context, Result};
    use clap::{Parser, Subcommand};
    use portolan::findings::Severity;
    use portolan::reach::{Analyzer, FailOn, Origin, QueryRequest, TestRow};
    use portolan::report::diff::DiffReport;
    use portolan::report::roles;
    use portolan::report::{render, AnalyzeReport, FlowResult, Hop, ParseReport, QueryReport};
    use portolan::{InputFile, Workspace};

    #[derive(Parser)]
    #[command(name = "portolan", version, about = "Which services are reachable from where, explained down to the config line")]
    struct Cli {
        #[command(subcommand)]
        cmd: Cmd,
    }

    #[derive(Subcommand)]
    enum Cmd {
        /// Parse inputs and report formats, devices, coverage and every line not understood.
        Parse {
            /// Print JSON.
            #[arg(long)]
            json: bool,
            /// Topology manifest (YAML or JSON); otherwise one found among the inputs is used.
            #[arg(long)]
            manifest: Option<PathBuf>,
            /// Files or folders (read recursively; formats are detected by content).
            #[arg(required = true)]
            paths: Vec<PathBuf>,
        },
        /// Everything each threat origin can reach, with certainty and one explained path each.
        Analyze {
            /// Origins to analyse: `internet`, an IP, CIDR or range, `device:NAME` (default:
            /// `internet`). Repeat for several.
            #[arg(long = "from")]
            from: Vec<String>,
            /// Output format.
            #[arg(long, value_enum, default_value = "text")]
            format: Format,
            /// Exit 1 when an exposure matches: ORIGIN or ORIGIN:SERVICES, e.g.
            /// `internet:tcp/22,tcp/3389`; or when a finding of severity LEVEL or worse is present
            /// (`low`, `medium`, `high`, `critical`). Repeatable.
            #[arg(long = "fail-on")]
            fail_on: Vec<String>,
            /// Topology manifest (YAML or JSON); otherwise one found among the inputs is used.
            #[arg(long)]
            manifest: Option<PathBuf>,
            /// An earlier `analyze --format json` output: the summary shows the trend since.
            #[arg(long)]
            previous: Option<PathBuf>,
            /// Files or folders.
            #[arg(required = true)]
            paths: Vec<PathBuf>,
        },
        /// Check the manifest's policy (zone matrix, must/must-not reach, vendor scopes) exactly;
        /// exit 1 on a violation.
        Check {
            /// Output format (text, json, markdown or sarif).
            #[arg(long, value_enum, default_value = "text")]
            format: Format,
            /// Topology manifest (YAML or JSON); otherwise one found among the inputs is used.
            #[arg(long)]
            manifest: Option<PathBuf>,
            /// Files or folders.
            #[arg(required = true)]
            paths: Vec<PathBuf>,
        },
        /// What a change adds and removes: exposures, attack paths and findings of OLD vs NEW.
        Diff {
            /// Origins to analyse, as for analyze (default: `internet` and the manifest's).
            #[arg(long = "from")]
            from: Vec<String>,
            /// Output format (text, json or markdown).
            #[arg(long, value_enum, default_value = "text")]
            format: Format,
            /// Exit 1 when the change adds: an exposure matching ORIGIN or ORIGIN:SERVICES
            /// (`internet:tcp/22`), an attack path (`paths`), a policy violation (`violations`),
            /// or a finding of severity LEVEL or worse (`low`, `medium`, `high`, `critical`).
            /// Repeatable.
            #[arg(long = "fail-on")]
            fail_on: Vec<String>,
            /// Topology manifest for both versions; otherwise each version's own is used.
            #[arg(long)]
            manifest: Option<PathBuf>,
            /// The inputs before the change (a file or folder).
            old: PathBuf,
            /// The inputs after the change.
            new: PathBuf,
        },
        /// Is a flow allowed? Every hop explained with the deciding rule.
        Query {
            /// Source: IP, CIDR, first-last range, `internet`, `device:NAME` or a device name.
            #[arg(long)]
            from: Option<String>,
            /// Destination, as for --from.
            #[arg(long)]
            to: Option<String>,
            /// tcp, udp, icmp, any or a protocol number.
            #[arg(long, default_value = "tcp")]
            proto: String,
            /// Port N or range N-M (ICMP: a type number or name such as echo-request).
            #[arg(long)]
            port: Option<String>,
            /// Source port (default: any of the ephemeral range).
            #[arg(long)]
            sport: Option<u16>,
            /// CSV of flows (header src,dst,proto,port[,sport]): one JSON line per flow.
            #[arg(long, conflicts_with_all = ["from", "to"])]
            flows: Option<PathBuf>,
            /// Print JSON.
            #[arg(long)]
            json: bool,
            /// Topology manifest (YAML or JSON); otherwise one found among the inputs is used.
            #[arg(long)]
            manifest: Option<PathBuf>,
            /// Files or folders.
            #[arg(required = true)]
            paths: Vec<PathBuf>,
        },
        /// Evaluate flows against one filter alone (a chain, an ACL) and name the matching rule.
        Test {
            /// CSV of flows (header src,dst,proto,port; optional sport,in_iface,out_iface,state).
            #[arg(long, required = true)]
            flows: PathBuf,
            /// The filter: NAME, table/NAME or device:table/NAME (may be omitted when there is one).
            #[arg(long)]
            filter: Option<String>,
            /// Print JSON lines (the default output is JSON lines too; kept for symmetry).
            #[arg(long)]
            json: bool,
            /// Topology manifest (YAML or JSON); otherwise one found among the inputs is used.
            #[arg(long)]
            manifest: Option<PathBuf>,
            /// Files or folders.
            #[arg(required = true)]
            paths: Vec<PathBuf>,
        },
        /// The service matrix for one port: classes of addresses and who may connect to whom.
        Matrix(MatrixArgs),
    }

    /// Arguments of `portolan matrix`.
    #[derive(clap::Args)]
    struct MatrixArgs {
        /// Protocol: tcp or udp.
        #[arg(long, default_value = "tcp")]
        proto: String,
        /// Destination port of the service.
        #[arg(long)]
        dport: u16,
        /// Source port (default: any; a pair is listed when some source port is allowed).
        #[arg(long)]
        sport: Option<u16>,
        /// The firewall (default: the only device with packet filter rules).
        #[arg(long)]
        device: Option<String>,
        /// Connections to the device itself (its INPUT rules) instead of through it (FORWARD).
        #[arg(long)]
        to_device: bool,
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// Topology manifest (YAML or JSON); otherwise one found among the inputs is used.
        #[arg(long)]
        manifest: Option<PathBuf>,
        /// Files or folders: rules, and interface assignments (`ipassmt`, `ip addr`, `ip route`).
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    }

    #[derive(Clone, Copy, clap::ValueEnum)]
    enum Format {
        Text,
        Json,
        Markdown,
        Csv,
        /// SARIF 2.1.0 (findings, for code-scanning tools).
        Sarif,
        /// CSV, one finding per row.
        FindingsCsv,
        /// CSV, one attack-path step per row.
        PathsCsv,
        /// The one-page management summary (Markdown; with --previous, the trend).
        Summary,
        /// The responsibility map: per owner, the actions by risk with their evidence (Markdown).
        Responsibilities,
        /// The auditor's evidence pack: inputs with SHA-256, coverage, assumptions, every
        /// "possible" and why (Markdown).
        Evidence,
        /// One self-contained HTML page (no script, its style inside) to archive or print.
        Html,
        /// The evidence pack as JSON.
        EvidenceJson,
    }

    pub fn main() -> i32 {
        let cli = match Cli::try_parse() {
            Ok(c) => c,
            Err(e) => {
                let code = if e.use_stderr() { 2 } else { 0 };
                let _ = e.print();
                return code;
            }
        };
        match run(cli) {
            Ok(code) => code,
            Err(e) => {
                // A closed pipe (`| head`) is not an error.
                if e.chain().any(|c| c.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)) {
                    return 0;
                }
                eprintln!("portolan: {e:#}");
                2
            }
        }
    }

    fn run(cli: Cli) -> Result<i32> {
        let stdout = std::io::stdout();
        let mut out = std::io::BufWriter::new(stdout.lock());
        match cli.cmd {
            Cmd::Parse { json, manifest, paths } => {
                let ws = load(&paths, manifest.as_deref())?;
                let rep = ParseReport::build(&ws);
                if json {
                    serde_json::to_writer_pretty(&mut out, &rep)?;
                    writeln!(out)?;
                } else {
                    render_parse(&mut out, &rep)?;
                }
            }
            Cmd::Analyze { from, format, fail_on, manifest, previous, paths } => {
                let previous = match &previous {
                    Some(p) => {
                        let text = std::fs::read_to_string(p).with_context(|| format!("cannot read {}", p.display()))?;
                        let v: serde_json::Value = serde_json::from_str(&text).with_context(|| format!("{} is not JSON", p.display()))?;
                        Some(roles::Figures::of_json(&v).with_context(|| format!("{} is not an `analyze --format json` output", p.display()))?)
                    }
                    None => None,
                };
                // A severity word gates on findings; anything else names an origin.
                let level = fail_on.iter().filter_map(|f| Severity::parse(f)).min();
                let gates: Vec<FailOn> = fail_on
                    .iter()
                    .filter(|f| Severity::parse(f).is_none())
                    .map(|f| FailOn::parse(f))
                    .collect::<Result<_, _>>()
                    .map_err(anyhow::Error::msg)?;
                let ws = load(&paths, manifest.as_deref())?;
                let an = Analyzer::new(&ws);
                let origins: Vec<Origin> = if from.is_empty() {
                    an.default_origins()
                } else {
                    from.iter().map(|f| an.origin_named(f)).collect()
                };
                let rep = AnalyzeReport::build(&an, &origins);
                match format {
                    Format::Json => {
                        serde_json::to_writer_pretty(&mut out, &rep)?;
                        writeln!(out)?;
                    }
                    Format::Text => write!(out, "{}", render::text(&rep))?,
                    Format::Markdown => write!(out, "{}", render::markdown(&rep))?,
                    Format::Csv => write!(out, "{}", render::csv(&rep))?,
                    Format::Sarif => write!(out, "{}", render::sarif(&rep))?,
                    Format::FindingsCsv => write!(out, "{}", render::findings_csv(&rep))?,
                    Format::PathsCsv => write!(out, "{}", render::paths_csv(&rep))?,
                    Format::Summary => write!(out, "{}", roles::summary_markdown(&rep, previous.as_ref()))?,
                    Format::Responsibilities => write!(out, "{}", roles::responsibilities_markdown(&rep))?,
                    Format::Evidence => write!(out, "{}", roles::evidence_markdown(&roles::evidence(&ws, &rep)))?,
                    Format::Html => write!(out, "{}", portolan::report::html::html(&rep))?,
                    Format::EvidenceJson => {
                        serde_json::to_writer_pretty(&mut out, &roles::evidence(&ws, &rep))?;
                        writeln!(out)?;
                    }
                }
                out.flush()?;
                if rep.exposure.origins.iter().any(|o| o.error.is_some()) {
                    for o in rep.exposure.origins.iter().filter(|o| o.error.is_some()) {
                        eprintln!("portolan: origin {}: {}", o.name, o.error.as_deref().unwrap_or(""));
                    }
                    return Ok(2);
                }
                let tripped: Vec<&portolan::report::Exposure> =
                    rep.exposure.exposures.iter().filter(|e| gates.iter().any(|g| g.matches(e))).collect();
                if !tripped.is_empty() {
                    eprintln!("portolan: {} exposures match --fail-on", tripped.len());
                    for e in tripped.iter().take(20) {
                        eprintln!("  {} → {} {}/{} ({:?})", e.origin, e.ip, e.proto, e.ports, e.certainty);
                    }
                    return Ok(1);
                }
                if let Some(level) = level {
                    let hit: Vec<&portolan::findings::Finding> = rep.findings.iter().filter(|f| f.severity >= level).collect();
                    if !hit.is_empty() {
                        eprintln!("portolan: {} findings of severity {} or worse", hit.len(), level.as_str());
                        for f in hit.iter().take(20) {
                            eprintln!("  {} {} {}:{} {}", f.code, f.severity.as_str(), f.file, f.line, f.message);
                        }
                        return Ok(1);
                    }
                }
                return Ok(0);
            }
            Cmd::Check { format, manifest, paths } => {
                let ws = load(&paths, manifest.as_deref())?;
                let an = Analyzer::new(&ws);
                let rep = portolan::policy::check(&an);
                match format {
                    Format::Json => {
                        serde_json::to_writer_pretty(&mut out, &rep)?;
                        writeln!(out)?;
                    }
                    Format::Markdown => write!(out, "{}", render::check_markdown(&rep))?,
                    Format::Sarif => write!(out, "{}", render::check_sarif(&rep))?,
                    Format::Text => write!(out, "{}", render::check_text(&rep))?,
                    _ => bail!("check writes text, json, markdown or sarif"),
                }
                out.flush()?;
                if rep.manifest.is_none() {
                    eprintln!("portolan: no manifest among the inputs; give one with --manifest");
                    return Ok(2);
                }
                if !rep.violations.is_empty() {
                    eprintln!("portolan: {} policy violations", rep.violations.len());
                    return Ok(1);
                }
                return Ok(0);
            }
            Cmd::Diff { from, format, fail_on, manifest, old, new } => {
                let level = fail_on.iter().filter_map(|f| Severity::parse(f)).min();
                let on_paths = fail_on.iter().any(|f| f == "paths");
                let on_violations = fail_on.iter().any(|f| f == "violations");
                let gates: Vec<FailOn> = fail_on
                    .iter()
                    .filter(|f| Severity::parse(f).is_none() && f.as_str() != "paths" && f.as_str() != "violations")
                    .map(|f| FailOn::parse(f))
                    .collect::<Result<_, _>>()
                    .map_err(anyhow::Error::msg)?;
                let analyse = |p: &PathBuf| -> Result<AnalyzeReport> {
                    let ws = load(std::slice::from_ref(p), manifest.as_deref())?;
                    let an = Analyzer::new(&ws);
                    let origins: Vec<Origin> = if from.is_empty() {
                        an.default_origins()
                    } else {
                        from.iter().map(|f| an.origin_named(f)).collect()
                    };
                    Ok(AnalyzeReport::build(&an, &origins))
                };
                let (a, b) = (analyse(&old)?, analyse(&new)?);
                let d = DiffReport::build(&a, &b);
                match format {
                    Format::Json => {
                        serde_json::to_writer_pretty(&mut out, &d)?;
                        writeln!(out)?;
                    }
                    Format::Markdown => write!(out, "{}", render::diff_markdown(&d))?,
                    Format::Text => write!(out, "{}", render::diff_text(&d))?,
                    _ => bail!("diff writes text, json or markdown"),
                }
                out.flush()?;
                let exposures = d.exposures_added.iter().filter(|c| gates.iter().any(|g| g.matches(&c.exposure))).count();
                let paths = if on_paths { d.paths_added.len() } else { 0 };
                let findings = level.map_or(0, |l| d.findings_added.iter().filter(|f| f.severity >= l).count());
                let violations = if on_violations { d.violations_added.len() } else { 0 };
                if exposures + paths + findings + violations > 0 {
                    eprintln!("portolan: the change adds {exposures} matching exposures, {paths} attack paths, {violations} policy violations, {findings} findings at the --fail-on level");
                    return Ok(1);
                }
                return Ok(0);
            }
            Cmd::Query { from, to, proto, port, sport, flows, json, manifest, paths } => {
                let ws = load(&paths, manifest.as_deref())?;
                let an = Analyzer::new(&ws);
                if let Some(f) = flows {
                    return run_flows(&mut out, &an, &f);
                }
                let (Some(from), Some(to)) = (from, to) else {
                    bail!("query needs --from and --to, or --flows FILE.csv");
                };
                let rep = an
                    .query(&QueryRequest { from, to, proto, port, sport })
                    .map_err(anyhow::Error::msg)?;
                if json {
                    serde_json::to_writer_pretty(&mut out, &rep)?;
                    writeln!(out)?;
                } else {
                    render_query(&mut out, &rep)?;
                }
            }
            Cmd::Matrix(a) => {
                let ws = load(&a.paths, a.manifest.as_deref())?;
                let req = portolan::matrix::MatrixRequest { proto: a.proto, dport: a.dport, sport: a.sport, device: a.device, to_device: a.to_device };
                let m = portolan::matrix::compute(&ws, &req).map_err(anyhow::Error::msg)?;
                if a.json {
                    serde_json::to_writer_pretty(&mut out, &m)?;
                    writeln!(out)?;
                } else {
                    write!(out, "{}", portolan::matrix::render_text(&m))?;
                }
            }
            Cmd::Test { flows, filter, json: _, manifest, paths } => {
                let ws = load(&paths, manifest.as_deref())?;
                let an = Analyzer::new(&ws);
                let filter = match filter {
                    Some(f) => f,
                    None => an.only_filter().map_err(anyhow::Error::msg)?,
                };
                return run_test(&mut out, &an, &filter, &flows);
            }
        }
        out.flush()?;
        Ok(0)
    }

    /// Read files and folders (recursively, in sorted order) into a workspace.
    fn load(paths: &[PathBuf], manifest: Option<&Path>) -> Result<Workspace> {
        let mut files = Vec::new();
        for p in paths {
            collect(p, &mut files).with_context(|| format!("cannot read {}", p.display()))?;
        }
        if files.is_empty() {
            bail!("no input files found in {}", paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", "));
        }
        let manifest = match manifest {
            Some(m) => Some(InputFile {
                path: m.display().to_string(),
                bytes: std::fs::read(m).with_context(|| format!("cannot read {}", m.display()))?,
            }),
            None => None,
        };
        Ok(Workspace::load_with_manifest(files, manifest))
    }

    fn collect(p: &Path, files: &mut Vec<InputFile>) -> Result<()> {
        let meta = std::fs::metadata(p)?;
        if meta.is_dir() {
            let mut entries: Vec<PathBuf> = std::fs::read_dir(p)?.filter_map(|e| e.ok().map(|e| e.path())).collect();
            entries.sort();
            for e in entries {
                let hidden = e.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with('.'));
                if !hidden {
                    collect(&e, files)?;
                }
            }
        } else {
            let bytes = std::fs::read(p)?;
            files.push(InputFile { path: p.display().to_string(), bytes });
        }
        Ok(())
    }

    /// A CSV row: its line index and its fields.
    type Row = (usize, Vec<String>);

    /// A minimal CSV reader: comma-separated, optional double quotes, header first; the rows
    /// come with their line index.
    fn read_csv(path: &Path) -> Result<(Vec<String>, Vec<Row>)> {
        let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
        let mut lines = text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty() && !l.trim_start().starts_with('#'));
        let Some((_, header)) = lines.next() else { bail!("{}: empty CSV", path.display()) };
        let header: Vec<String> = split_csv(header).into_iter().map(|h| h.trim().to_ascii_lowercase()).collect();
        for need in ["src", "dst", "proto"] {
            if !header.iter().any(|h| h == need) {
                bail!("{}: the CSV header must name src,dst,proto,port (found {})", path.display(), header.join(","));
            }
        }
        let rows = lines.map(|(i, l)| (i + 1, split_csv(l))).collect();
        Ok((header, rows))
    }

    fn split_csv(line: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut cur = String::new();
        let mut quoted = false;
        let mut chars = line.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '"' if quoted && chars.peek() == Some(&'"') => {
                    cur.push('"');
                    chars.next();
                }
                '"' => quoted = !quoted,
                ',' if !quoted => out.push(std::mem::take(&mut cur)),
                c => cur.push(c),
            }
        }
        out.push(cur);
        out.into_iter().map(|s| s.trim().to_string()).collect()
    }

    fn field<'a>(header: &[String], row: &'a [String], name: &str) -> Option<&'a str> {
        header.iter().position(|h| h == name).and_then(|i| row.get(i)).map(|s| s.as_str())
    }

    fn row_object(header: &[String], row: &[String]) -> serde_json::Map<String, serde_json::Value> {
        let mut m = serde_json::Map::new();
        for (i, h) in header.iter().enumerate() {
            m.insert(h.clone(), serde_json::Value::String(row.get(i).cloned().unwrap_or_default()));
        }
        m
    }

    fn parse_sport(header: &[String], row: &[String]) -> Result<Option<u16>, String> {
        match field(header, row, "sport").map(str::trim).filter(|s| !s.is_empty()) {
            None => Ok(None),
            Some(s) => s.parse::<u16>().map(Some).map_err(|_| format!("sport {s:?} is not a port number")),
        }
    }

    type Fields = serde_json::Map<String, serde_json::Value>;

    /// Answer every row of a flows CSV with `answer`, printing one JSON object per row in input
    /// order: the row's own fields plus the answer's, or an `error` naming file and line. Exit
    /// code 2 if any row was bad.
    fn each_row(
        out: &mut impl Write,
        path: &Path,
        answer: impl Fn(&[String], &[String], Option<u16>) -> Result<Fields, String>,
    ) -> Result<i32> {
        let (header, rows) = read_csv(path)?;
        let mut bad = 0;
        for (line, row) in rows {
            let mut obj = row_object(&header, &row);
            match parse_sport(&header, &row).and_then(|sport| answer(&header, &row, sport)) {
                Ok(fields) => obj.extend(fields),
                Err(e) => {
                    bad += 1;
                    obj.insert("error".into(), format!("{}:{line}: {e}", path.display()).into());
                }
            }
            serde_json::to_writer(&mut *out, &obj)?;
            writeln!(out)?;
        }
        out.flush()?;
        Ok(if bad > 0 { 2 } else { 0 })
    }

    fn json(v: impl serde::Serialize) -> serde_json::Value {
        serde_json::to_value(v).unwrap_or(serde_json::Value::Null)
    }

    fn run_flows(out: &mut impl Write, an: &Analyzer, path: &Path) -> Result<i32> {
        each_row(out, path, |header, row, sport| {
            let get = |n: &str| field(header, row, n).unwrap_or("");
            let r = an.flow(get("src"), get("dst"), get("proto"), get("port"), sport)?;
            let mut f = Fields::new();
            f.insert("verdict".into(), json(r.verdict));
            f.insert("reason".into(), r.reason.into());
            f.insert("hops".into(), json(&r.hops));
            if !r.uncertain.is_empty() {
                f.insert("uncertain".into(), json(&r.uncertain));
            }
            Ok(f)
        })
    }

    fn run_test(out: &mut impl Write, an: &Analyzer, filter: &str, path: &Path) -> Result<i32> {
        each_row(out, path, |header, row, sport| {
            let get = |n: &str| field(header, row, n).map(str::to_string);
            let a = an.test_filter(
                filter,
                &TestRow {
                    src: get("src").unwrap_or_default(),
                    dst: get("dst").unwrap_or_default(),
                    proto: get("proto").unwrap_or_default(),
                    port: get("port").unwrap_or_default(),
                    sport,
                    in_iface: get("in_iface"),
                    out_iface: get("out_iface"),
                    state: get("state"),
                },
            )?;
            let mut f = Fields::new();
            f.insert("verdict".into(), a.verdict.into());
            f.insert("filter".into(), a.filter.into());
            f.insert("rule".into(), json(&a.rule));
            f.insert("hops".into(), serde_json::Value::Array(vec![]));
            if a.matches.len() > 1 {
                f.insert("matches".into(), json(&a.matches));
            }
            if !a.uncertain.is_empty() {
                f.insert("uncertain".into(), json(&a.uncertain));
            }
            Ok(f)
        })
    }

    fn render_parse(out: &mut impl Write, rep: &ParseReport) -> Result<()> {
        for i in &rep.inputs {
            writeln!(
                out,
                "{}: {} · device {} · {} · {} lines, {} not understood ({:.1}% coverage)",
                i.path,
                i.format,
                i.device.as_deref().unwrap_or("-"),
                serde_json::to_value(i.status)?.as_str().unwrap_or(""),
                i.lines.total,
                i.lines.unrecognized,
                i.coverage
            )?;
            for d in &i.diagnostics {
                writeln!(out, "  {}", portolan::diag::render(&i.path, d))?;
            }
        }
        for d in &rep.devices {
            writeln!(
                out,
                "device {}: {} interfaces, {} routes, {} rulesets, {} rules ({} not fully modelled)",
                d.name,
                d.interfaces.len(),
                d.routes,
                d.rulesets,
                d.rules,
                d.unknown_rules
            )?;
            for i in &d.interfaces {
                writeln!(out, "  {i}")?;
            }
        }
        for h in rep.hosts.iter().filter(|h| h.up) {
            let addrs = h.addresses.join(" ");
            let name = if addrs == h.name || addrs.is_empty() { h.name.clone() } else { format!("{} {addrs}", h.name) };
            let n = h.open.len();
            writeln!(out, "host {name}: up, {n} open port{} ({}:{})", if n == 1 { "" } else { "s" }, h.file, h.line)?;
            for s in &h.open {
                writeln!(out, "  {s}")?;
            }
            if !h.other_ports.is_empty() {
                writeln!(out, "  not open: {}", h.other_ports.join(", "))?;
            }
            if let Some(os) = &h.os {
                writeln!(out, "  os: {os}")?;
            }
            if let Some(v) = &h.vulnerabilities {
                writeln!(out, "  vulnerabilities: {}", v.text())?;
            }
        }
        let down = rep.hosts.iter().filter(|h| !h.up).count();
        if down > 0 {
            writeln!(out, "{down} hosts seen down (listed by --json)")?;
        }
        Ok(())
    }

    fn render_hop(out: &mut impl Write, h: &Hop) -> Result<()> {
        let iif = h.in_iface.as_deref().unwrap_or("(self)");
        let oif = h.out_iface.as_deref().unwrap_or("(self)");
        writeln!(out, "    {:<7} {} {} → {} [{}] {}", h.direction, h.device, iif, oif, h.path, h.outcome)?;
        for n in &h.nat {
            match &n.rule {
                Some(r) => writeln!(out, "            {} {} → {}   {}:{} {}", n.kind, n.from, n.to, r.file, r.line, r.text)?,
                None => writeln!(out, "            {} {} → {}", n.kind, n.from, n.to)?,
            }
        }
        if let Some(r) = &h.rule {
            writeln!(out, "            {} by {} {}:{} {}", r.action, r.ruleset, r.file, r.line, r.text)?;
        }
        Ok(())
    }

    fn render_result(out: &mut impl Write, r: &FlowResult) -> Result<()> {
        writeln!(out, "  [{}] {}", r.verdict.as_str(), r.covers)?;
        writeln!(out, "    {}", r.reason)?;
        let w = &r.witness;
        writeln!(
            out,
            "    e.g. {} {}{} → {}{}",
            w.proto,
            w.src,
            w.sport.map(|p| format!(":{p}")).unwrap_or_default(),
            w.dst,
            w.port.map(|p| format!(":{p}")).unwrap_or_default()
        )?;
        for h in &r.hops {
            render_hop(out, h)?;
        }
        for u in &r.uncertain {
            writeln!(out, "    depends on: {u}")?;
        }
        Ok(())
    }

    fn render_query(out: &mut impl Write, rep: &QueryReport) -> Result<()> {
        writeln!(
            out,
            "{} {}{} from {} to {}",
            rep.verdict.as_str(),
            rep.proto,
            rep.port.as_deref().map(|p| format!("/{p}")).unwrap_or_default(),
            rep.from,
            rep.to
        )?;
        for r in &rep.results {
            render_result(out, r)?;
        }
        for a in &rep.assumptions {
            writeln!(out, "  assumption: {a}")?;
        }
        Ok(())
    }
}
