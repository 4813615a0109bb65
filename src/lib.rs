/*!
Portolan: a network exposure analyzer.

The pipeline runs one way:

```text
files ─► detect format ─► parse (vendor-specific, keeps lines) ─► lower to model + diagnostics
      ─► assemble network (group files into devices)
      ─► engine: packet sets, per-device transfer (filter, NAT, routing, connection state)
      ─► verdicts with every hop explained ─► report (serde structs) ─► CLI | wasm ─► page
```

- [`parse`] holds every vendor-specific parser; vendor types never leave it.
- [`model`] is the vendor-independent network model.
- [`space`] is the exact packet-set algebra.
- [`reach`] evaluates packets through devices and across the network.
- [`report`] holds the serialisable output structs shared by the CLI and the page.
- [`findings`] checks rule hygiene (shadowed, redundant, permissive rules) and risky exposure.
- [`manifest`] reads the optional topology manifest (devices, zones, hosts, origins, policy).
- [`topology`] lists which device interfaces are neighbours (shared subnets, manifest links).
- [`matrix`] computes a firewall's service matrix (who may open connections to whom for one port).

```
let files = vec![portolan::InputFile::new("fw1.rules", "*filter\n:INPUT DROP [0:0]\n-A INPUT -p tcp --dport 22 -j ACCEPT\nCOMMIT\n")];
let ws = portolan::Workspace::load(files);
assert_eq!(ws.network.devices.len(), 1);
```
*/
#![deny(unsafe_code)]
#![deny(missing_docs)]

pub mod attack;
pub mod diag;
pub mod findings;
pub mod manifest;
pub mod matrix;
pub mod model;
pub mod owners;
pub mod parse;
pub mod policy;
pub mod reach;
pub mod report;
pub mod space;
/// Deterministic synthetic estates and flows for benchmarks and scale tests.
pub mod synth;
pub mod topology;
pub mod whatif;
mod workspace;

#[cfg(target_arch = "wasm32")]
mod wasm;
#[cfg(target_arch = "wasm32")]
pub use wasm::Session;

pub use workspace::{InputFile, LoadedFile, Loader, Network, Workspace};
