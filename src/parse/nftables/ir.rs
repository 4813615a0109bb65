//! The ruleset as both readers see it, before lowering: tables, chains, sets and rules made of
//! statements. The text reader and the JSON reader both produce these types, so one lowering
//! gives both forms the same model. Every item renders back to nft syntax (the JSON reader uses
//! that rendering as the rule text of its provenance).
//!
//! Names, literals and texts borrow from the file where they can ([`Str`]): the readers only
//! allocate for text they compose.

use std::borrow::Cow;
use std::fmt;

/// Text borrowed from the file where possible.
pub type Str<'a> = Cow<'a, str>;

/// Where an item was read: one-based line and its text.
#[derive(Clone, Debug, Default)]
pub struct Pos<'a> {
    pub line: u32,
    pub text: Str<'a>,
}

/// A table family.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fam {
    Ip,
    Ip6,
    Inet,
    Arp,
    Bridge,
    Netdev,
}

impl Fam {
    pub fn from_name(s: &str) -> Option<Fam> {
        Some(match s {
            "ip" => Fam::Ip,
            "ip6" => Fam::Ip6,
            "inet" => Fam::Inet,
            "arp" => Fam::Arp,
            "bridge" => Fam::Bridge,
            "netdev" => Fam::Netdev,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Fam::Ip => "ip",
            Fam::Ip6 => "ip6",
            Fam::Inet => "inet",
            Fam::Arp => "arp",
            Fam::Bridge => "bridge",
            Fam::Netdev => "netdev",
        }
    }
}

/// A table and what it holds.
#[derive(Clone, Debug)]
pub struct Table<'a> {
    pub fam: Fam,
    pub name: Str<'a>,
    pub pos: Pos<'a>,
    pub chains: Vec<Chain<'a>>,
    pub sets: Vec<SetDef<'a>>,
    /// `flags dormant`: the table's base chains are not attached.
    pub dormant: bool,
}

/// The `type … hook … priority …; policy …;` line of a base chain.
#[derive(Clone, Debug)]
pub struct BaseSpec<'a> {
    pub ty: Str<'a>,
    pub hook: Str<'a>,
    /// The priority as written (`filter`, `dstnat - 5`, `-300`).
    pub prio: Str<'a>,
    pub device: Option<Str<'a>>,
    pub pos: Pos<'a>,
}

/// A chain.
#[derive(Clone, Debug)]
pub struct Chain<'a> {
    pub name: Str<'a>,
    pub pos: Pos<'a>,
    pub base: Option<BaseSpec<'a>>,
    /// `policy accept|drop`, where it was written.
    pub policy: Option<(Str<'a>, Pos<'a>)>,
    pub rules: Vec<RuleIr<'a>>,
}

/// A named set or map.
#[derive(Clone, Debug, Default)]
pub struct SetDef<'a> {
    pub name: Str<'a>,
    pub pos: Pos<'a>,
    pub is_map: bool,
    /// Key type (`ipv4_addr`, `inet_service`, `ipv4_addr . inet_service`, or `typeof …`).
    pub key_type: Str<'a>,
    /// Data type of a map (`verdict`, `ipv4_addr`).
    pub data_type: Option<Str<'a>>,
    pub flags: Vec<Str<'a>>,
    /// True when the set has a default timeout (its content changes on its own).
    pub timeout: bool,
    pub elements: Vec<Elem<'a>>,
}

impl SetDef<'_> {
    /// True if the packet path may add or remove elements (`flags dynamic`, timeouts).
    pub fn dynamic(&self) -> bool {
        self.timeout || self.flags.iter().any(|f| f == "dynamic" || f == "timeout")
    }
}

/// One rule: its statements in order.
#[derive(Clone, Debug)]
pub struct RuleIr<'a> {
    pub pos: Pos<'a>,
    pub stmts: Vec<Stmt<'a>>,
}

/// A value: a literal, a set, a reference to a named set, a concatenation.
#[derive(Clone, Debug, PartialEq)]
pub enum Val<'a> {
    /// A literal as written (`10.0.0.0/8`, `22-25`, `ssh`, `eth*`); interpreted by the key.
    Atom(Str<'a>),
    /// `{ a, b : verdict, … }`, or a comma list `new,established`.
    Set(Vec<Elem<'a>>),
    /// `@name`.
    SetRef(Str<'a>),
    /// `a . b`.
    Concat(Vec<Val<'a>>),
    /// `syn | ack`: flags or'ed together.
    Or(Vec<Val<'a>>),
    /// A verdict as the data of a verdict map.
    Verdict(Verdict<'a>),
    /// `KEY map MAP`: the value the map gives for the packet's key (`tcp dport map { … }`).
    Map { key: Str<'a>, map: Box<Val<'a>> },
    /// An expression the model does not follow (`numgen inc mod 2`), as text.
    Other(Str<'a>),
}

/// An element of a set or map.
#[derive(Clone, Debug, PartialEq)]
pub struct Elem<'a> {
    pub key: Val<'a>,
    pub data: Option<Val<'a>>,
}

/// A verdict.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict<'a> {
    Accept,
    Drop,
    Continue,
    Return,
    Jump(Str<'a>),
    Goto(Str<'a>),
    /// `queue …`: to user space.
    Queue(Str<'a>),
}

/// A comparison operator. `Implicit` is the operator nft chooses when none is written: equality,
/// or "any of these bits" for flag types (`ct state`, `tcp flags`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Implicit,
    Eq,
    Ne,
    Lt,
    Gt,
    Le,
    Ge,
}

/// NAT statement kinds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NatKind {
    Snat,
    Dnat,
    Masquerade,
    Redirect,
}

/// `snat|dnat [ip|ip6] [to] ADDR[:PORT]`, `masquerade [to :PORT]`, `redirect [to :PORT]` (boxed
/// in [`Stmt`], which is otherwise much smaller).
#[derive(Clone, Debug, PartialEq)]
pub struct Nat<'a> {
    pub kind: NatKind,
    pub family: Option<Str<'a>>,
    pub addr: Option<Val<'a>>,
    pub port: Option<Val<'a>>,
    pub flags: Vec<Str<'a>>,
}

/// A statement of a rule.
#[derive(Clone, Debug, PartialEq)]
pub enum Stmt<'a> {
    /// `KEY [& MASK] [OP] VALUE`.
    Match { key: Str<'a>, mask: Option<Box<Val<'a>>>, op: Op, right: Val<'a> },
    /// `KEY vmap VALUE`.
    Vmap { key: Str<'a>, map: Val<'a> },
    Verdict(Verdict<'a>),
    /// `reject [with …]`: the words after `with`.
    Reject(Option<Str<'a>>),
    /// `snat|dnat [ip|ip6] [to] ADDR[:PORT]`, `masquerade [to :PORT]`, `redirect [to :PORT]`.
    Nat(Box<Nat<'a>>),
    Notrack,
    /// Counters, logging, marks, comments: no effect on where the packet goes.
    Effect(Str<'a>),
    /// `limit rate [over] …`.
    Limit { over: bool, text: Str<'a> },
    /// A statement that changes the packet or its fate in a way the model does not follow.
    UnmodelledAction(Str<'a>),
    /// A match the model does not follow.
    UnmodelledMatch(Str<'a>),
    /// Words the reader does not know, kept as text.
    Unrecognized(Str<'a>),
}

impl fmt::Display for Verdict<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Verdict::Accept => f.write_str("accept"),
            Verdict::Drop => f.write_str("drop"),
            Verdict::Continue => f.write_str("continue"),
            Verdict::Return => f.write_str("return"),
            Verdict::Jump(c) => write!(f, "jump {c}"),
            Verdict::Goto(c) => write!(f, "goto {c}"),
            Verdict::Queue(t) if t.is_empty() => f.write_str("queue"),
            Verdict::Queue(t) => write!(f, "queue {t}"),
        }
    }
}

impl fmt::Display for Val<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Val::Atom(a) => f.write_str(a),
            Val::Set(v) => {
                f.write_str("{ ")?;
                for (i, e) in v.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{e}")?;
                }
                f.write_str(" }")
            }
            Val::SetRef(n) => write!(f, "@{n}"),
            Val::Concat(v) => {
                for (i, e) in v.iter().enumerate() {
                    if i > 0 {
                        f.write_str(" . ")?;
                    }
                    write!(f, "{e}")?;
                }
                Ok(())
            }
            Val::Or(v) => {
                for (i, e) in v.iter().enumerate() {
                    if i > 0 {
                        f.write_str(" | ")?;
                    }
                    write!(f, "{e}")?;
                }
                Ok(())
            }
            Val::Verdict(v) => write!(f, "{v}"),
            Val::Map { key, map } => write!(f, "{key} map {map}"),
            Val::Other(t) => f.write_str(t),
        }
    }
}

impl fmt::Display for Elem<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.data {
            Some(d) => write!(f, "{} : {d}", self.key),
            None => write!(f, "{}", self.key),
        }
    }
}

impl fmt::Display for Stmt<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Stmt::Match { key, mask, op, right } => {
                write!(f, "{}", KeyText(key))?;
                if let Some(m) = mask {
                    write!(f, " & {m}")?;
                }
                // `==` is what nft means when it writes no operator, except for flags
                let exact = key.ends_with("flags") && mask.is_none();
                let o = match op {
                    Op::Implicit => "",
                    Op::Eq if !exact => "",
                    Op::Eq => "== ",
                    Op::Ne => "!= ",
                    Op::Lt => "< ",
                    Op::Gt => "> ",
                    Op::Le => "<= ",
                    Op::Ge => ">= ",
                };
                if matches!(key.as_ref(), "iifname" | "oifname" | "iif" | "oif") {
                    write!(f, " {o}{}", Quoted(right))
                } else {
                    write!(f, " {o}{right}")
                }
            }
            Stmt::Vmap { key, map } => write!(f, "{} vmap {map}", KeyText(key)),
            Stmt::Verdict(v) => write!(f, "{v}"),
            Stmt::Reject(None) => f.write_str("reject"),
            Stmt::Reject(Some(w)) => write!(f, "reject with {w}"),
            Stmt::Nat(n) => {
                let Nat { kind, family, addr, port, flags } = &**n;
                let k = match kind {
                    NatKind::Snat => "snat",
                    NatKind::Dnat => "dnat",
                    NatKind::Masquerade => "masquerade",
                    NatKind::Redirect => "redirect",
                };
                f.write_str(k)?;
                if let Some(fam) = family {
                    write!(f, " {fam}")?;
                }
                if addr.is_some() || port.is_some() {
                    f.write_str(" to ")?;
                }
                if let Some(a) = addr {
                    write!(f, "{a}")?;
                }
                if let Some(p) = port {
                    write!(f, ":{p}")?;
                }
                if !flags.is_empty() {
                    write!(f, " {}", flags.join(","))?;
                }
                Ok(())
            }
            Stmt::Notrack => f.write_str("notrack"),
            Stmt::Effect(t)
            | Stmt::UnmodelledAction(t)
            | Stmt::UnmodelledMatch(t)
            | Stmt::Unrecognized(t) => f.write_str(t),
            Stmt::Limit { text, .. } => f.write_str(text),
        }
    }
}

/// A selector as nft writes it: meta keys other than the interface ones with `meta`.
pub struct KeyText<'k>(pub &'k str);

impl fmt::Display for KeyText<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            "mark" | "skuid" | "skgid" | "pkttype" | "cpu" | "cgroup" | "iifgroup" | "oifgroup" | "rtclassid"
            | "iiftype" | "oiftype" => write!(f, "meta {}", self.0),
            k => f.write_str(k),
        }
    }
}

/// A value with its literals in quotes (interface names).
struct Quoted<'v, 'a>(&'v Val<'a>);

impl fmt::Display for Quoted<'_, '_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Val::Atom(a) => write!(f, "\"{a}\""),
            Val::Set(els) => {
                f.write_str("{ ")?;
                for (i, e) in els.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{}", Quoted(&e.key))?;
                }
                f.write_str(" }")
            }
            other => write!(f, "{other}"),
        }
    }
}

/// A rule's statements as nft writes them.
pub fn render(stmts: &[Stmt<'_>]) -> String {
    let mut s = String::with_capacity(16 * stmts.len());
    for st in stmts {
        if !s.is_empty() {
            s.push(' ');
        }
        let _ = std::fmt::Write::write_fmt(&mut s, format_args!("{st}"));
    }
    s
}
