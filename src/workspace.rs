//! Loading inputs and assembling them into a network of devices.

use std::collections::BTreeMap;

use crate::diag::{codes, Diagnostic, Severity};
use crate::manifest::{self, glob, Manifest};
use crate::model::Device;
use crate::parse::{self, Format, ParsedFile};

/// One input file as given by the user.
#[derive(Clone, Debug)]
pub struct InputFile {
    /// Path (or name) as given; used in every diagnostic and explanation.
    pub path: String,
    /// Raw content.
    pub bytes: Vec<u8>,
}

impl InputFile {
    /// A file from a path and its text.
    pub fn new(path: impl Into<String>, text: impl Into<String>) -> Self {
        InputFile { path: path.into(), bytes: text.into().into_bytes() }
    }
}

/// One input after parsing.
#[derive(Clone, Debug)]
pub struct LoadedFile {
    /// Path as given.
    pub path: String,
    /// Parse result, shared by the copies of the workspace (a what-if's,
    /// [`crate::whatif::apply`]) until one of them changes it.
    pub parsed: std::sync::Arc<ParsedFile>,
    /// The device the file was assigned to, if any. A file that describes several devices (a
    /// FortiGate file's VDOMs, see [`ParsedFile::parts`]) names them all here, separated by
    /// `, `; [`LoadedFile::devices`] lists them.
    pub device: Option<String>,
    /// Every device the file went to, in name order: one for most files, one per part for a
    /// file with device parts, none for scans, manifests and unknown files.
    pub devices: Vec<String>,
    /// The file's text (kept so explanations and the page can show source lines), shared by
    /// the workspace's copies.
    pub text: std::sync::Arc<str>,
    /// SHA-256 of the file's bytes as given, in lower-case hex.
    pub sha256: String,
}

/// SHA-256 of some bytes, in lower-case hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// The assembled network.
#[derive(Clone, Debug, Default)]
pub struct Network {
    /// Devices in name order.
    pub devices: Vec<Device>,
}

impl Network {
    /// The device with this name.
    pub fn device(&self, name: &str) -> Option<&Device> {
        self.devices.iter().find(|d| d.name == name)
    }
}

/// Parsed inputs and the network built from them.
#[derive(Clone, Debug, Default)]
pub struct Workspace {
    /// Inputs in the order given.
    pub files: Vec<LoadedFile>,
    /// The network assembled from them.
    pub network: Network,
    /// The topology manifest: the one given with `--manifest`, else the first found among the
    /// inputs. Its file is among [`Workspace::files`], with its diagnostics.
    pub manifest: Option<Manifest>,
}

impl Workspace {
    /// The device whose rule (or ruleset default) sits at `file:line`; failing that, the one
    /// device `file` went to. A file with device parts (a FortiGate file's VDOMs) holds several
    /// devices, so its path alone does not name one.
    pub fn device_at(&self, file: &str, line: u32) -> Option<&str> {
        let holds = |d: &crate::model::Device| {
            d.firewall.as_ref().is_some_and(|fw| {
                fw.rulesets.iter().any(|rs| {
                    (rs.default_prov.file == file && rs.default_prov.line == line)
                        || rs.rules.iter().any(|r| r.prov.file == file && r.prov.line == line)
                })
            })
        };
        if let Some(d) = self.network.devices.iter().find(|d| holds(d)) {
            return Some(&d.name);
        }
        match self.files.iter().find(|f| f.path == file).map(|f| f.devices.as_slice()) {
            Some([one]) => Some(one),
            _ => None,
        }
    }

    /// Parse every file and assemble the network. Never fails: unreadable or unknown files get
    /// a status and a diagnostic, and the rest is used.
    pub fn load(inputs: Vec<InputFile>) -> Workspace {
        Workspace::load_with_manifest(inputs, None)
    }

    /// As [`Workspace::load`], with a manifest file given apart from the inputs (the CLI's
    /// `--manifest FILE`): it is read as a manifest whatever its content looks like, takes
    /// precedence over any manifest among the inputs, and is listed after them in
    /// [`Workspace::files`].
    pub fn load_with_manifest(inputs: Vec<InputFile>, manifest_file: Option<InputFile>) -> Workspace {
        let mut loader = Loader::default();
        for f in inputs {
            loader.read(f);
        }
        loader.finish(manifest_file)
    }

    fn assemble_loaded(mut files: Vec<LoadedFile>, explicit: Option<usize>) -> Workspace {
        let chosen = choose_manifest(&mut files, explicit);
        let manifest = chosen.and_then(|i| files.get(i)).and_then(|f| f.parsed.content.manifest.clone());
        let overrides = match (&manifest, chosen) {
            (Some(m), Some(mi)) => assign_by_manifest(&mut files, m, mi, explicit),
            _ => Placements::new(),
        };
        let network = assemble(&mut files, &overrides);
        if let (Some(m), Some(mi)) = (&manifest, chosen) {
            check_manifest_against_network(&mut files, m, mi, &network);
        }
        Workspace { files, network, manifest }
    }
}

/// A workspace read one file at a time, so that a caller can say how far it is (the page shows
/// "reading 12 of 31"); [`Loader::finish`] assembles the network as [`Workspace::load_with_manifest`]
/// does, which is this loop.
#[derive(Default)]
pub struct Loader {
    files: Vec<LoadedFile>,
}

impl Loader {
    /// Parse one input file (detecting its format).
    pub fn read(&mut self, f: InputFile) {
        let i = self.files.len();
        self.files.push(load_file(i, f, false));
    }

    /// Read the manifest given apart from the inputs (if any), assemble the network.
    pub fn finish(mut self, manifest_file: Option<InputFile>) -> Workspace {
        let explicit = manifest_file.map(|f| {
            let i = self.files.len();
            self.files.push(load_file(i, f, true));
            i
        });
        Workspace::assemble_loaded(self.files, explicit)
    }
}

fn load_file(i: usize, f: InputFile, as_manifest: bool) -> LoadedFile {
    let sha256 = sha256_hex(&f.bytes);
    let (parsed, text) = match String::from_utf8(f.bytes) {
        Ok(text) if as_manifest => (manifest::parse_file(i, &f.path, &text), text),
        Ok(text) => (parse::parse(i, &f.path, &text), text),
        Err(e) => {
            let bytes = e.into_bytes();
            let mut p = ParsedFile::new(if as_manifest { Format::Manifest } else { Format::Unknown }, "");
            p.diags.push(Diagnostic {
                code: codes::UNREADABLE,
                severity: Severity::Error,
                line: 0,
                text: String::new(),
                reason: format!("not UTF-8 text ({} bytes): not a configuration export Portolan reads", bytes.len()),
                context: String::new(),
            });
            (p, String::new())
        }
    };
    LoadedFile { path: f.path, parsed: std::sync::Arc::new(parsed), device: None, devices: Vec::new(), text: text.into(), sha256 }
}

/// The manifest used: the explicit one, else the first manifest among the inputs. Every other
/// manifest gets a diagnostic saying it is not used.
fn choose_manifest(files: &mut [LoadedFile], explicit: Option<usize>) -> Option<usize> {
    let found: Vec<usize> =
        files.iter().enumerate().filter(|(_, f)| f.parsed.format == Format::Manifest).map(|(i, _)| i).collect();
    let chosen = explicit.or_else(|| found.first().copied())?;
    let chosen_path = files.get(chosen).map(|f| f.path.clone()).unwrap_or_default();
    for i in found.into_iter().filter(|&i| i != chosen) {
        if let Some(f) = files.get_mut(i) {
            std::sync::Arc::make_mut(&mut f.parsed).diags.insert(
                0,
                Diagnostic {
                    code: codes::STRUCTURE,
                    severity: Severity::Warning,
                    line: 0,
                    text: String::new(),
                    reason: format!("a second topology manifest is not used: the manifest is {chosen_path}"),
                    context: String::new(),
                },
            );
        }
    }
    Some(chosen)
}

/// What the manifest places: (file index, part index within the file, `None` for a whole file)
/// → device name.
type Placements = BTreeMap<(usize, Option<usize>), String>;

/// A `devices:` file pattern naming one device part of a file: `dc-fw.conf#customer` is the part
/// `customer` (a VDOM) of the files `dc-fw.conf` matches. Returns the file pattern and the part.
fn part_pattern(pattern: &str) -> Option<(&str, &str)> {
    pattern.rsplit_once('#').filter(|(f, p)| !f.trim().is_empty() && !p.trim().is_empty()).map(|(f, p)| (f, p.trim()))
}

/// The device a manifest pattern gives file `f` (or its part `part`) under the device `name`:
/// a pattern matching the file's path places a whole file on `name`, and each part of a file
/// with parts on `name/PART`; a pattern `FILE#PART` places that one part on `name`.
fn pattern_places(pattern: &str, f: &LoadedFile, part: Option<usize>, name: &str, root: &str) -> Option<String> {
    let part = part.and_then(|j| f.parsed.parts.get(j));
    if glob::matches_path(pattern, &f.path, root) {
        return Some(match part {
            Some(p) => format!("{name}/{}", p.name),
            None => name.to_string(),
        });
    }
    let (file_pat, want) = part_pattern(pattern)?;
    (part?.name == want && glob::matches_path(file_pat, &f.path, root)).then(|| name.to_string())
}

/// The units a file gives to devices: the whole file, or each of its device parts.
fn units(f: &LoadedFile) -> Vec<Option<usize>> {
    if f.parsed.parts.is_empty() {
        vec![None]
    } else {
        (0..f.parsed.parts.len()).map(Some).collect()
    }
}

/// The device each file (or device part of a file) belongs to by the manifest's `devices:`
/// file patterns; what is not there is not named by the manifest. Patterns are tried in
/// device-name order; a file matched by several devices goes to the first, with a warning on the
/// manifest.
fn assign_by_manifest(files: &mut [LoadedFile], m: &Manifest, mi: usize, explicit: Option<usize>) -> Placements {
    let root = glob::common_root(
        files.iter().enumerate().filter(|(i, _)| Some(*i) != explicit).map(|(_, f)| f.path.as_str()),
    );
    let mut out = Placements::new();
    let mut notes: Vec<Diagnostic> = Vec::new();
    for (i, f) in files.iter().enumerate() {
        if i == mi || matches!(f.parsed.format, Format::Unknown | Format::Manifest) {
            continue;
        }
        for part in units(f) {
            let owners: Vec<(String, &String, u32)> = m
                .devices
                .iter()
                .filter_map(|(name, d)| {
                    let placed = d.files.iter().find_map(|p| pattern_places(p, f, part, name, &root))?;
                    Some((placed, name, d.line))
                })
                .collect();
            let Some((first, _, _)) = owners.first() else { continue };
            out.insert((i, part), first.clone());
            if owners.len() > 1 {
                let names: Vec<&str> = owners.iter().map(|(_, n, _)| n.as_str()).collect();
                let what = match part.and_then(|j| f.parsed.parts.get(j)) {
                    Some(p) => format!("{}#{}", f.path, p.name),
                    None => f.path.clone(),
                };
                notes.push(manifest_diag(
                    files,
                    mi,
                    owners.get(1).map_or(0, |o| o.2),
                    codes::STRUCTURE,
                    Severity::Warning,
                    format!("devices: {what} matches the files of devices {}; it belongs to {first}", names.join(", ")),
                ));
            }
        }
    }
    for (name, d) in &m.devices {
        for pat in &d.files {
            let used = files.iter().enumerate().any(|(i, f)| {
                i != mi
                    && !matches!(f.parsed.format, Format::Unknown | Format::Manifest)
                    && units(f).into_iter().any(|part| pattern_places(pat, f, part, name, &root).is_some())
            });
            if !used {
                notes.push(manifest_diag(
                    files,
                    mi,
                    d.line,
                    codes::UNDEFINED_REFERENCE,
                    Severity::Warning,
                    format!("devices.{name}.files: no input file matches {pat:?}"),
                ));
            }
        }
    }
    add_manifest_diags(files, mi, notes);
    out
}

/// A diagnostic on the manifest file at a line, quoting the line.
fn manifest_diag(files: &[LoadedFile], mi: usize, line: u32, code: &'static str, severity: Severity, reason: String) -> Diagnostic {
    let text = files
        .get(mi)
        .and_then(|f| f.text.lines().nth((line as usize).wrapping_sub(1)))
        .unwrap_or("")
        .trim()
        .to_string();
    Diagnostic { code, severity, line, text, reason, context: String::new() }
}

fn add_manifest_diags(files: &mut [LoadedFile], mi: usize, diags: Vec<Diagnostic>) {
    if let Some(f) = files.get_mut(mi) {
        let parsed = std::sync::Arc::make_mut(&mut f.parsed);
        parsed.diags.extend(diags);
        parsed.diags.sort_by_key(|d| d.line);
    }
}

/// References in the manifest that need the network: bare names, `device:NAME`, link and zone
/// interface devices, and declared devices that no file describes.
fn check_manifest_against_network(files: &mut [LoadedFile], m: &Manifest, mi: usize, net: &Network) {
    let names: std::collections::BTreeSet<String> = net.devices.iter().map(|d| d.name.clone()).collect();
    let text = files.get(mi).map(|f| f.text.clone()).unwrap_or_default();
    let mut diags = m.check_network_names(&names, &text);
    for (i, (a, b)) in m.links.iter().enumerate() {
        for (j, end) in [a, b].into_iter().enumerate() {
            let Some(dev) = net.device(&end.device) else { continue };
            if !dev.interfaces.is_empty() && !dev.interfaces.iter().any(|x| x.name == end.interface) {
                let known: Vec<&str> = dev.interfaces.iter().map(|x| x.name.as_str()).collect();
                diags.push(manifest_diag(
                    files,
                    mi,
                    end.line,
                    codes::UNDEFINED_REFERENCE,
                    Severity::Warning,
                    format!(
                        "links[{i}][{j}]: device {:?} has no interface {:?} (it has {}); the link is not used",
                        end.device,
                        end.interface,
                        known.join(", ")
                    ),
                ));
            }
        }
    }
    for (name, d) in &m.devices {
        if d.files.is_empty() && !names.contains(name) {
            diags.push(manifest_diag(
                files,
                mi,
                d.line,
                codes::UNDEFINED_REFERENCE,
                Severity::Warning,
                format!("devices.{name}: no input file describes this device (give its files: patterns)"),
            ));
        }
    }
    add_manifest_diags(files, mi, diags);
}

/// The device a file belongs to by name: a name the file states, else its folder, else the
/// part of its file name before the first dot (`fw1.iptables`, `fw1.ip-addr.json` → `fw1`).
fn device_key(path: &str, hint: Option<&str>) -> String {
    if let Some(h) = hint {
        return h.to_string();
    }
    let norm = path.replace('\\', "/");
    let parts: Vec<&str> = norm.split('/').filter(|p| !p.is_empty() && *p != ".").collect();
    if parts.len() >= 2 {
        return parts[parts.len() - 2].to_string();
    }
    let name = parts.last().copied().unwrap_or("device");
    let stem = name.split('.').next().unwrap_or(name);
    if stem.is_empty() { name.to_string() } else { stem.to_string() }
}

/// Files another input names as part of its device (a Batfish host file's `iptablesFile`):
/// file index → index of the file that names it. A reference matches an input whose path,
/// compared by whole path components, ends with it. Also returns the references no input
/// matches, with the index of the file that makes them.
fn referenced_by(files: &[LoadedFile]) -> (BTreeMap<usize, usize>, Vec<(usize, String)>) {
    let comps = |p: &str| -> Vec<String> {
        p.replace('\\', "/").split('/').filter(|c| !c.is_empty() && *c != ".").map(str::to_string).collect()
    };
    let mut out = BTreeMap::new();
    let mut missing = Vec::new();
    for (owner, f) in files.iter().enumerate() {
        for r in &f.parsed.content.references {
            let want = comps(r);
            let mut found = false;
            for (i, g) in files.iter().enumerate() {
                let have = comps(&g.path);
                if i != owner && !want.is_empty() && have.len() >= want.len() && have[have.len() - want.len()..] == want[..] {
                    out.entry(i).or_insert(owner);
                    found = true;
                }
            }
            if !found {
                missing.push((owner, r.clone()));
            }
        }
    }
    (out, missing)
}

/// Group files into devices. `overrides` are the devices the manifest assigns files (or
/// device parts of files) to; they win over the file's own name, folder or stem. A file with
/// device parts gives each part to a device of its own.
fn assemble(files: &mut [LoadedFile], overrides: &Placements) -> Network {
    let (joined, missing) = referenced_by(files);
    for (owner, r) in missing {
        if let Some(f) = files.get_mut(owner) {
            let line = f.text.lines().position(|l| l.contains(&r)).map_or(0, |n| n as u32 + 1);
            let text = f.text.lines().nth((line as usize).wrapping_sub(1)).unwrap_or("").trim().to_string();
            std::sync::Arc::make_mut(&mut f.parsed).diags.push(Diagnostic {
                code: codes::UNDEFINED_REFERENCE,
                severity: Severity::Warning,
                line,
                text,
                reason: format!("{r} is not among the inputs: this device is modelled without its rules (add the file)"),
                context: String::new(),
            });
            std::sync::Arc::make_mut(&mut f.parsed).diags.sort_by_key(|d| d.line);
        }
    }
    // The parse result a unit (file, part) contributes.
    fn parsed(files: &[LoadedFile], (i, part): (usize, Option<usize>)) -> Option<&ParsedFile> {
        let f = files.get(i)?;
        match part {
            None => Some(&f.parsed),
            Some(j) => f.parsed.parts.get(j).map(|p| &p.parsed),
        }
    }
    let mut groups: BTreeMap<String, Vec<(usize, Option<usize>)>> = BTreeMap::new();
    for (i, f) in files.iter().enumerate() {
        if f.parsed.format == Format::Manifest {
            continue;
        }
        // Scans (nmap, …) describe hosts, not a device: they attach facts to hosts by address.
        if matches!(f.parsed.format, Format::Unknown) || f.parsed.content.scan.is_some() {
            continue;
        }
        for part in units(f) {
            let key = match (overrides.get(&(i, part)), joined.get(&i), part.and_then(|j| f.parsed.parts.get(j))) {
                (Some(name), _, _) => name.clone(),
                (None, _, Some(p)) => match &p.parsed.device_hint {
                    Some(h) => h.clone(),
                    None => format!("{}/{}", device_key(&f.path, None), p.name),
                },
                (None, Some(&owner), None) => device_key(&files[owner].path, files[owner].parsed.device_hint.as_deref()),
                (None, None, None) => device_key(&f.path, f.parsed.device_hint.as_deref()),
            };
            groups.entry(key).or_default().push((i, part));
        }
    }
    // Loose files without a shared name: when exactly one group holds rules and the others hold
    // only interface or route dumps, and no file was placed by folder, they describe one device.
    let with_rules: Vec<&String> = groups
        .iter()
        .filter(|(_, units)| units.iter().any(|&u| parsed(files, u).is_some_and(|p| p.content.firewall.is_some())))
        .map(|(k, _)| k)
        .collect();
    let any_folder = files.iter().any(|f| f.path.replace('\\', "/").trim_start_matches("./").contains('/'));
    // Files the manifest places, and files with device parts, are never regrouped by this guess.
    let any_placed = !overrides.is_empty() || files.iter().any(|f| !f.parsed.parts.is_empty());
    if with_rules.len() == 1 && groups.len() > 1 && !any_folder && !any_placed {
        let target = with_rules[0].clone();
        let others: Vec<String> = groups.keys().filter(|k| **k != target).cloned().collect();
        let dumps_per_kind = |fmt: &[Format]| {
            groups.values().flatten().filter(|&&(i, _)| fmt.contains(&files[i].parsed.format)).count()
        };
        if dumps_per_kind(&[Format::IpAddr, Format::IpAddrJson]) <= 1
            && dumps_per_kind(&[Format::IpRoute, Format::IpRouteJson]) <= 1
        {
            for k in others {
                if let Some(v) = groups.remove(&k) {
                    groups.entry(target.clone()).or_default().extend(v);
                }
            }
        }
    }
    let mut devices = Vec::new();
    for (name, units) in groups {
        let mut dev = Device { name: name.clone(), ..Default::default() };
        for &(i, part) in &units {
            if let Some(f) = files.get_mut(i) {
                if !f.devices.contains(&name) {
                    f.devices.push(name.clone());
                }
            }
            if !dev.sources.contains(&i) {
                dev.sources.push(i);
            }
            let Some(c) = parsed(files, (i, part)).map(|p| &p.content) else { continue };
            dev.interfaces.extend(c.interfaces.iter().cloned());
            dev.routes.extend(c.routes.iter().cloned());
            if let Some(fw) = &c.firewall {
                match &mut dev.firewall {
                    None => dev.firewall = Some(fw.clone()),
                    Some(existing) => std::sync::Arc::make_mut(existing).merge(crate::model::Firewall::clone(fw)),
                }
            }
        }
        merge_interfaces(&mut dev);
        devices.push(dev);
    }
    for f in files.iter_mut() {
        f.devices.sort();
        f.device = (!f.devices.is_empty()).then(|| f.devices.join(", "));
    }
    Network { devices }
}

/// `ip addr` and `ip -6 addr` dumps of one device list the same interfaces: merge by name.
fn merge_interfaces(dev: &mut Device) {
    let mut out: Vec<crate::model::Interface> = Vec::new();
    for itf in dev.interfaces.drain(..) {
        if let Some(e) = out.iter_mut().find(|e| e.name == itf.name) {
            for a in itf.addresses {
                if !e.addresses.contains(&a) {
                    e.addresses.push(a);
                }
            }
            e.up &= itf.up;
        } else {
            out.push(itf);
        }
    }
    dev.interfaces = out;
}

#[cfg(test)]
mod test {
    use super::device_key;

    #[test]
    fn device_names_from_paths() {
        assert_eq!(device_key("fw1.iptables", None), "fw1");
        assert_eq!(device_key("fw1.ip-addr.json", None), "fw1");
        assert_eq!(device_key("site/fw2/rules.v4", None), "fw2");
        assert_eq!(device_key("./fw3/addr", None), "fw3");
        assert_eq!(device_key("anything", Some("edge")), "edge");
    }
}
