//! Who acts on each result: the one place where exposures, attack paths, findings, policy
//! violations and proposed changes get their owner, from a fixed vocabulary of the roles that
//! share responsibility for network security (`docs/owners.md` gives the rationale).
//!
//! | Role | Acts on |
//! |---|---|
//! | `it` | a device or rule to change (the default) |
//! | `management` | a policy gap or decision: an allowance nothing implements, an accepted risk |
//! | `vendor` | a vendor's access wider than its scope, what a vendor's origin reaches, a vendor-managed device |
//! | `employees` | what a phished workstation reaches: awareness and endpoint hardening |
//! | `auditor` | what needs verification: unmodelled constructs ("possible"), analyses not completed |
//!
//! The rules, first match wins:
//! 1. an owner the policy entry names (`owner:` on a manifest policy entry);
//! 2. an allowance of the zone matrix that nothing implements: `management` decides whether the
//!    policy or the implementation is wrong;
//! 3. anything only *possible*, or that needs verification: the `auditor`;
//! 4. a vendor's access wider than its scope: the `vendor`;
//! 5. the origin's role: what a vendor's origin reaches goes to the `vendor`, what a phished
//!    workstation's subnet reaches to `employees`;
//! 6. the owner the manifest gives a device that decided the result (`devices.NAME.owner`, e.g. a
//!    firewall the vendor manages);
//! 7. the owner the manifest gives the zone the result's destination lies in (`zones.NAME.owner`);
//! 8. `it`.

use std::net::IpAddr;

use crate::manifest::{AddrBlock, Manifest, Role};
use crate::report::Certainty;

/// What a result is, as far as ownership goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A service an origin reaches.
    Exposure,
    /// A path to a crown jewel.
    AttackPath,
    /// A rule-hygiene finding about a device's rules.
    Finding,
    /// Something that needs verification whatever its certainty (an analysis not completed).
    Verification,
    /// A broken `must_reach`, `must_not_reach` or zone-matrix entry.
    Violation,
    /// A vendor's access wider than its scope.
    VendorScope,
    /// A zone-matrix allowance nothing implements.
    UnusedPolicy,
    /// A proposed change (a choke point).
    Change,
}

/// The facts ownership depends on.
#[derive(Clone, Debug)]
pub struct Facts<'a> {
    /// What the result is.
    pub kind: Kind,
    /// Definite or possible.
    pub certainty: Certainty,
    /// The owner the policy entry names, if any.
    pub entry: Option<Role>,
    /// The role of the origin the result starts from (`vendor`, `employees`), if any.
    pub origin_role: Option<&'a str>,
    /// Devices that decided the result, in path order.
    pub devices: Vec<&'a str>,
    /// The result's destination, for zone ownership.
    pub dst: Option<IpAddr>,
}

impl<'a> Facts<'a> {
    /// Facts of a result of `kind` with the given certainty and nothing else known yet.
    pub fn new(kind: Kind, certainty: Certainty) -> Self {
        Facts { kind, certainty, entry: None, origin_role: None, devices: Vec::new(), dst: None }
    }
}

fn in_block(b: &AddrBlock, a: IpAddr) -> bool {
    match b {
        AddrBlock::Net(n) => n.contains(&a),
        AddrBlock::Range(r) => r.lo <= a && a <= r.hi && r.lo.is_ipv4() == a.is_ipv4(),
    }
}

/// The owner of a result (see the module documentation for the rules).
pub fn assign(m: Option<&Manifest>, f: &Facts) -> String {
    if let Some(r) = f.entry {
        return r.as_str().into();
    }
    if f.kind == Kind::UnusedPolicy {
        return Role::Management.as_str().into();
    }
    if f.certainty == Certainty::Possible || f.kind == Kind::Verification {
        return Role::Auditor.as_str().into();
    }
    if f.kind == Kind::VendorScope {
        return Role::Vendor.as_str().into();
    }
    match f.origin_role {
        Some("vendor") => return Role::Vendor.as_str().into(),
        Some("employees") => return Role::Employees.as_str().into(),
        _ => {}
    }
    if let Some(m) = m {
        for d in &f.devices {
            // A device part of a file (`fw/customer`, a VDOM) has the owner of the device the
            // manifest placed the whole file on (`fw`) unless the manifest names the part.
            let mut name = Some(*d);
            while let Some(n) = name {
                if let Some(o) = m.devices.get(n).and_then(|d| d.owner) {
                    return o.as_str().into();
                }
                name = n.rsplit_once('/').map(|x| x.0);
            }
        }
        if let Some(a) = f.dst {
            if let Some(o) = m.zones.values().find(|z| z.owner.is_some() && z.addresses.iter().any(|b| in_block(b, a))).and_then(|z| z.owner) {
                return o.as_str().into();
            }
        }
    }
    Role::It.as_str().into()
}

/// The devices that decided a path (each hop with a deciding rule), in order, without repeats.
pub fn deciding_devices(hops: &[crate::report::Hop]) -> Vec<&str> {
    let mut out: Vec<&str> = Vec::new();
    for h in hops.iter().filter(|h| h.rule.is_some()) {
        if !out.contains(&&*h.device) {
            out.push(&h.device);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest;

    fn manifest() -> Manifest {
        let text = "devices:\n  vfw: {owner: vendor}\nzones:\n  finance: {addresses: [10.9.0.0/16], owner: management}\n";
        manifest::read("m.yaml", text).0.expect("a manifest")
    }

    #[test]
    fn the_rules_apply_in_order() {
        let m = manifest();
        let base = Facts::new(Kind::Exposure, Certainty::Definite);
        assert_eq!(assign(None, &base), "it");
        assert_eq!(assign(Some(&m), &Facts { origin_role: Some("employees"), ..base.clone() }), "employees");
        assert_eq!(assign(Some(&m), &Facts { origin_role: Some("vendor"), ..base.clone() }), "vendor");
        // The origin's role beats the device's and zone's owners; a device's owner beats the
        // zone's.
        let fin = Facts { dst: Some("10.9.1.1".parse().unwrap()), ..base.clone() };
        assert_eq!(assign(Some(&m), &fin), "management");
        assert_eq!(assign(Some(&m), &Facts { devices: vec!["vfw"], ..fin.clone() }), "vendor");
        // A VDOM of the manifest's device has its owner.
        assert_eq!(assign(Some(&m), &Facts { devices: vec!["vfw/customer"], ..fin.clone() }), "vendor");
        assert_eq!(assign(Some(&m), &Facts { origin_role: Some("employees"), devices: vec!["vfw"], ..fin.clone() }), "employees");
        // Verification beats the overrides; an entry's own owner beats everything.
        assert_eq!(assign(Some(&m), &Facts { certainty: Certainty::Possible, devices: vec!["vfw"], ..fin.clone() }), "auditor");
        assert_eq!(assign(Some(&m), &Facts { entry: Some(Role::It), certainty: Certainty::Possible, ..fin.clone() }), "it");
        assert_eq!(assign(Some(&m), &Facts::new(Kind::UnusedPolicy, Certainty::Definite)), "management");
        assert_eq!(assign(Some(&m), &Facts::new(Kind::VendorScope, Certainty::Definite)), "vendor");
        assert_eq!(assign(Some(&m), &Facts::new(Kind::Verification, Certainty::Definite)), "auditor");
    }
}
