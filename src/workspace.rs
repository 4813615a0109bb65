//! Loading inputs and assembling them into a network of devices.

use std::collections::BTreeMap;

use crate::diag::{codes, Diagnostic, Severity};
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
    /// Parse result.
    pub parsed: ParsedFile,
    /// The device the file was assigned to, if any.
    pub device: Option<String>,
    /// The file's text (kept so explanations and the page can show source lines).
    pub text: String,
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
}

impl Workspace {
    /// Parse every file and assemble the network. Never fails: unreadable or unknown files get
    /// a status and a diagnostic, and the rest is used.
    pub fn load(inputs: Vec<InputFile>) -> Workspace {
        let mut files = Vec::with_capacity(inputs.len());
        for (i, f) in inputs.into_iter().enumerate() {
            let (parsed, text) = match String::from_utf8(f.bytes) {
                Ok(text) => (parse::parse(i, &f.path, &text), text),
                Err(e) => {
                    let bytes = e.into_bytes();
                    let mut p = ParsedFile::new(Format::Unknown, "");
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
            files.push(LoadedFile { path: f.path, parsed, device: None, text });
        }
        let network = assemble(&mut files);
        Workspace { files, network }
    }
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

fn assemble(files: &mut [LoadedFile]) -> Network {
    let mut groups: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, f) in files.iter().enumerate() {
        // Scans (nmap, …) describe hosts, not a device: they attach facts to hosts by address.
        if matches!(f.parsed.format, Format::Unknown) || f.parsed.content.scan.is_some() {
            continue;
        }
        let key = device_key(&f.path, f.parsed.device_hint.as_deref());
        groups.entry(key).or_default().push(i);
    }
    // Loose files without a shared name: when exactly one group holds rules and the others hold
    // only interface or route dumps, and no file was placed by folder, they describe one device.
    let with_rules: Vec<&String> = groups
        .iter()
        .filter(|(_, idx)| idx.iter().any(|&i| files[i].parsed.content.firewall.is_some()))
        .map(|(k, _)| k)
        .collect();
    let any_folder = files.iter().any(|f| f.path.replace('\\', "/").trim_start_matches("./").contains('/'));
    if with_rules.len() == 1 && groups.len() > 1 && !any_folder {
        let target = with_rules[0].clone();
        let others: Vec<String> = groups.keys().filter(|k| **k != target).cloned().collect();
        let dumps_per_kind = |fmt: &[Format]| {
            groups.values().flatten().filter(|&&i| fmt.contains(&files[i].parsed.format)).count()
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
    for (name, idx) in groups {
        let mut dev = Device { name: name.clone(), ..Default::default() };
        for &i in &idx {
            files[i].device = Some(name.clone());
            dev.sources.push(i);
            let c = &files[i].parsed.content;
            dev.interfaces.extend(c.interfaces.iter().cloned());
            dev.routes.extend(c.routes.iter().cloned());
            if let Some(fw) = &c.firewall {
                match &mut dev.firewall {
                    None => dev.firewall = Some(fw.clone()),
                    Some(existing) => existing.merge(fw.clone()),
                }
            }
        }
        merge_interfaces(&mut dev);
        devices.push(dev);
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
