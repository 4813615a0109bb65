//! A JSON document as one flat list of nodes whose strings borrow from the text (a
//! `serde_json::Value` allocates every key, string, object and array on its own).
//!
//! Nodes are in document order; an array or object node records where its subtree ends, and an
//! object's children alternate key and value. [`V`] answers the questions the `nft -j` reader
//! asks the way `serde_json::Value` (with its default sorted maps) answers them: an object's
//! first entry is its smallest key, a key given twice keeps its last value, and values print as
//! `serde_json` prints them.
//!
//! [`parse`] reads the plain JSON `nft -j` writes with a small scanner. Anything outside that
//! subset (`\u` escapes, fractions and exponents, very long numbers, `-0`, deep nesting) and
//! every malformed document go through `serde_json` instead, so the accepted documents, their
//! values and the error messages are `serde_json`'s.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Number, Value};

/// One node of the document.
#[derive(Clone, Debug, PartialEq)]
pub enum Node<'a> {
    Null,
    Bool(bool),
    Num(Number),
    Str(Cow<'a, str>),
    /// An array; its elements follow, up to node index `end` (exclusive).
    Arr { end: usize },
    /// An object; keys (as `Str` nodes) and values alternate up to node index `end`.
    Obj { end: usize },
}

/// Bytes that end the plain run of a string: the quote, the escape and control characters.
const STRING_STOP: [bool; 256] = {
    let mut t = [false; 256];
    let mut k = 0;
    while k < 0x20 {
        t[k] = true;
        k += 1;
    }
    t[b'"' as usize] = true;
    t[b'\\' as usize] = true;
    t
};

/// Nesting beyond which the scanner leaves the document to `serde_json` (whose own limit is 128).
const MAX_DEPTH: usize = 100;

/// Digits of the longest integer the scanner reads itself (it fits `i64` and `u64`).
const MAX_DIGITS: usize = 18;

/// Parse a document: the scanner for plain documents, `serde_json` for the rest.
pub fn parse(text: &str) -> Result<Vec<Node<'_>>, serde_json::Error> {
    let mut sc = Scanner { b: text.as_bytes(), t: text, i: 0, out: Vec::with_capacity(text.len() / 12 + 1) };
    if sc.value(0).is_some() {
        sc.ws();
        if sc.i == sc.b.len() {
            return Ok(sc.out);
        }
    }
    let j: J<'_> = serde_json::from_str(text)?;
    let mut out = Vec::new();
    j.flatten(&mut out);
    Ok(out)
}

struct Scanner<'a> {
    b: &'a [u8],
    t: &'a str,
    i: usize,
    out: Vec<Node<'a>>,
}

impl<'a> Scanner<'a> {
    fn ws(&mut self) {
        while matches!(self.b.get(self.i), Some(b' ' | b'\n' | b'\t' | b'\r')) {
            self.i += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    /// One value; `None` for anything the scanner leaves to `serde_json`.
    fn value(&mut self, depth: usize) -> Option<()> {
        self.ws();
        match self.peek()? {
            b'{' => {
                if depth >= MAX_DEPTH {
                    return None;
                }
                self.i += 1;
                let at = self.out.len();
                self.out.push(Node::Obj { end: 0 });
                self.ws();
                if self.peek() == Some(b'}') {
                    self.i += 1;
                } else {
                    loop {
                        self.ws();
                        if self.peek() != Some(b'"') {
                            return None;
                        }
                        let k = self.string()?;
                        self.out.push(Node::Str(k));
                        self.ws();
                        if self.peek() != Some(b':') {
                            return None;
                        }
                        self.i += 1;
                        self.value(depth + 1)?;
                        self.ws();
                        match self.peek()? {
                            b',' => self.i += 1,
                            b'}' => {
                                self.i += 1;
                                break;
                            }
                            _ => return None,
                        }
                    }
                }
                let end = self.out.len();
                *self.out.get_mut(at)? = Node::Obj { end };
            }
            b'[' => {
                if depth >= MAX_DEPTH {
                    return None;
                }
                self.i += 1;
                let at = self.out.len();
                self.out.push(Node::Arr { end: 0 });
                self.ws();
                if self.peek() == Some(b']') {
                    self.i += 1;
                } else {
                    loop {
                        self.value(depth + 1)?;
                        self.ws();
                        match self.peek()? {
                            b',' => self.i += 1,
                            b']' => {
                                self.i += 1;
                                break;
                            }
                            _ => return None,
                        }
                    }
                }
                let end = self.out.len();
                *self.out.get_mut(at)? = Node::Arr { end };
            }
            b'"' => {
                let s = self.string()?;
                self.out.push(Node::Str(s));
            }
            b't' => self.literal("true", Node::Bool(true))?,
            b'f' => self.literal("false", Node::Bool(false))?,
            b'n' => self.literal("null", Node::Null)?,
            b'-' | b'0'..=b'9' => {
                let n = self.number()?;
                self.out.push(Node::Num(n));
            }
            _ => return None,
        }
        Some(())
    }

    fn literal(&mut self, word: &str, node: Node<'a>) -> Option<()> {
        if self.b.get(self.i..self.i + word.len())? != word.as_bytes() {
            return None;
        }
        self.i += word.len();
        self.out.push(node);
        Some(())
    }

    /// An integer of at most [`MAX_DIGITS`] digits, not `-0`.
    fn number(&mut self) -> Option<Number> {
        let neg = self.peek() == Some(b'-');
        if neg {
            self.i += 1;
        }
        let start = self.i;
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.i += 1;
        }
        let digits = self.b.get(start..self.i)?;
        if digits.is_empty() || digits.len() > MAX_DIGITS || (digits.len() > 1 && digits.first() == Some(&b'0')) {
            return None;
        }
        if matches!(self.peek(), Some(b'.' | b'e' | b'E')) {
            return None;
        }
        let mut v: u64 = 0;
        for &d in digits {
            v = v * 10 + u64::from(d - b'0');
        }
        if !neg {
            return Some(Number::from(v));
        }
        if v == 0 {
            return None;
        }
        Some(Number::from(-i64::try_from(v).ok()?))
    }

    /// A string (at its opening quote): borrowed unless it has escapes.
    fn string(&mut self) -> Option<Cow<'a, str>> {
        self.i += 1;
        let start = self.i;
        // the plain run up to the closing quote, an escape or a control character
        let run = self.b.get(start..)?.iter().position(|&c| STRING_STOP[usize::from(c)])?;
        self.i = start + run;
        match *self.b.get(self.i)? {
            b'"' => {
                let s = self.t.get(start..self.i)?;
                self.i += 1;
                return Some(Cow::Borrowed(s));
            }
            b'\\' => {}
            _ => return None,
        }
        let mut s = String::from(self.t.get(start..self.i)?);
        loop {
            match *self.b.get(self.i)? {
                b'"' => {
                    self.i += 1;
                    return Some(Cow::Owned(s));
                }
                b'\\' => {
                    let c = match *self.b.get(self.i + 1)? {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        _ => return None,
                    };
                    s.push(c);
                    self.i += 2;
                }
                c if c < 0x20 => return None,
                _ => {
                    // copy the run up to the next quote or escape
                    let from = self.i;
                    while self.b.get(self.i).is_some_and(|&c| c != b'"' && c != b'\\' && c >= 0x20) {
                        self.i += 1;
                    }
                    s.push_str(self.t.get(from..self.i)?);
                }
            }
        }
    }
}

/// A value of a document: the node list and the index of the value's node.
#[derive(Clone, Copy)]
pub struct V<'d, 'a> {
    doc: &'d [Node<'a>],
    i: usize,
}

static NULL_DOC: [Node<'static>; 1] = [Node::Null];

/// `null`, for lookups that find nothing.
pub fn null<'d, 'a>() -> V<'d, 'a> {
    V { doc: &NULL_DOC, i: 0 }
}

/// The document's top value (`null` for an empty list).
pub fn root<'d, 'a>(doc: &'d [Node<'a>]) -> V<'d, 'a> {
    if doc.is_empty() {
        null()
    } else {
        V { doc, i: 0 }
    }
}

/// The children of an array or object, one value (or key) after the other.
pub struct Children<'d, 'a> {
    doc: &'d [Node<'a>],
    i: usize,
    end: usize,
}

impl<'d, 'a> Iterator for Children<'d, 'a> {
    type Item = V<'d, 'a>;

    fn next(&mut self) -> Option<V<'d, 'a>> {
        if self.i >= self.end {
            return None;
        }
        let v = V { doc: self.doc, i: self.i };
        self.i = v.end();
        Some(v)
    }
}

impl<'d, 'a> V<'d, 'a> {
    pub fn node(&self) -> &'d Node<'a> {
        self.doc.get(self.i).unwrap_or(&Node::Null)
    }

    /// Index just past this value's subtree.
    fn end(&self) -> usize {
        match self.node() {
            Node::Arr { end } | Node::Obj { end } => (*end).max(self.i + 1),
            _ => self.i + 1,
        }
    }

    fn children(&self) -> Children<'d, 'a> {
        match self.node() {
            Node::Arr { .. } | Node::Obj { .. } => Children { doc: self.doc, i: self.i + 1, end: self.end() },
            _ => Children { doc: self.doc, i: 0, end: 0 },
        }
    }

    /// The elements of an array (nothing for other values).
    pub fn elems(&self) -> Children<'d, 'a> {
        if self.is_array() {
            self.children()
        } else {
            Children { doc: self.doc, i: 0, end: 0 }
        }
    }

    /// The entries of an object, in document order (nothing for other values).
    pub fn entries(&self) -> impl Iterator<Item = (&'d str, V<'d, 'a>)> {
        let mut c = if self.is_object() { self.children() } else { Children { doc: self.doc, i: 0, end: 0 } };
        std::iter::from_fn(move || {
            let k = c.next()?;
            let v = c.next()?;
            Some((k.as_str().unwrap_or(""), v))
        })
    }

    /// The value of key `k` of an object (the last one when the key is repeated).
    pub fn get(&self, k: &str) -> Option<V<'d, 'a>> {
        let mut found = None;
        for (key, v) in self.entries() {
            if key == k {
                found = Some(v);
            }
        }
        found
    }

    /// Element `i` of an array.
    pub fn at(&self, i: usize) -> Option<V<'d, 'a>> {
        self.elems().nth(i)
    }

    /// Number of elements of an array.
    pub fn len(&self) -> usize {
        self.elems().count()
    }

    pub fn contains_key(&self, k: &str) -> bool {
        self.entries().any(|(key, _)| key == k)
    }

    pub fn as_str(&self) -> Option<&'d str> {
        match self.node() {
            Node::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The string, borrowed from the document when it had no escapes.
    pub fn as_cow(&self) -> Option<Cow<'a, str>> {
        match self.node() {
            Node::Str(Cow::Borrowed(s)) => Some(Cow::Borrowed(s)),
            Node::Str(Cow::Owned(s)) => Some(Cow::Owned(s.clone())),
            _ => None,
        }
    }

    pub fn is_array(&self) -> bool {
        matches!(self.node(), Node::Arr { .. })
    }

    pub fn is_object(&self) -> bool {
        matches!(self.node(), Node::Obj { .. })
    }

    pub fn is_str(&self) -> bool {
        matches!(self.node(), Node::Str(_))
    }

    pub fn as_number(&self) -> Option<&'d Number> {
        match self.node() {
            Node::Num(n) => Some(n),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self.node() {
            Node::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// The entry with the smallest key (a sorted map's first entry), with the key's last value.
    pub fn first(&self) -> Option<(&'d str, V<'d, 'a>)> {
        let mut best: Option<(&'d str, V<'d, 'a>)> = None;
        for (k, v) in self.entries() {
            match best {
                Some((b, _)) if k > b => {}
                _ => best = Some((k, v)),
            }
        }
        best
    }

    /// The same value as a `serde_json::Value`.
    pub fn to_value(self) -> Value {
        match self.node() {
            Node::Null => Value::Null,
            Node::Bool(b) => Value::Bool(*b),
            Node::Num(n) => Value::Number(n.clone()),
            Node::Str(s) => Value::String(s.to_string()),
            Node::Arr { .. } => Value::Array(self.elems().map(|e| e.to_value()).collect()),
            Node::Obj { .. } => {
                let mut m = serde_json::Map::new();
                for (k, v) in self.entries() {
                    m.insert(k.to_string(), v.to_value());
                }
                Value::Object(m)
            }
        }
    }
}

/// Compact JSON text, as `serde_json::Value` writes it.
impl fmt::Display for V<'_, '_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.node() {
            Node::Num(n) => write!(f, "{n}"),
            Node::Null => f.write_str("null"),
            Node::Bool(b) => write!(f, "{b}"),
            _ => write!(f, "{}", self.to_value()),
        }
    }
}

/// A JSON value as `serde_json` reads it, for the documents the scanner leaves to it.
enum J<'a> {
    Null,
    Bool(bool),
    Num(Number),
    Str(Cow<'a, str>),
    Arr(Vec<J<'a>>),
    Obj(Vec<(Cow<'a, str>, J<'a>)>),
}

impl<'a> J<'a> {
    fn flatten(self, out: &mut Vec<Node<'a>>) {
        match self {
            J::Null => out.push(Node::Null),
            J::Bool(b) => out.push(Node::Bool(b)),
            J::Num(n) => out.push(Node::Num(n)),
            J::Str(s) => out.push(Node::Str(s)),
            J::Arr(a) => {
                let at = out.len();
                out.push(Node::Arr { end: 0 });
                for e in a {
                    e.flatten(out);
                }
                let end = out.len();
                if let Some(n) = out.get_mut(at) {
                    *n = Node::Arr { end };
                }
            }
            J::Obj(es) => {
                let at = out.len();
                out.push(Node::Obj { end: 0 });
                for (k, v) in es {
                    out.push(Node::Str(k));
                    v.flatten(out);
                }
                let end = out.len();
                if let Some(n) = out.get_mut(at) {
                    *n = Node::Obj { end };
                }
            }
        }
    }
}

impl<'de> Deserialize<'de> for J<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(JVisitor)
    }
}

struct JVisitor;

impl<'de> Visitor<'de> for JVisitor {
    type Value = J<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any valid JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<J<'de>, E> {
        Ok(J::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<J<'de>, E> {
        Ok(J::Num(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<J<'de>, E> {
        Ok(J::Num(v.into()))
    }

    fn visit_f64<E>(self, v: f64) -> Result<J<'de>, E> {
        Ok(Number::from_f64(v).map_or(J::Null, J::Num))
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<J<'de>, E> {
        Ok(J::Str(Cow::Borrowed(v)))
    }

    fn visit_str<E>(self, v: &str) -> Result<J<'de>, E> {
        Ok(J::Str(Cow::Owned(v.to_owned())))
    }

    fn visit_string<E>(self, v: String) -> Result<J<'de>, E> {
        Ok(J::Str(Cow::Owned(v)))
    }

    fn visit_none<E>(self) -> Result<J<'de>, E> {
        Ok(J::Null)
    }

    fn visit_unit<E>(self) -> Result<J<'de>, E> {
        Ok(J::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<J<'de>, D::Error> {
        Deserialize::deserialize(d)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<J<'de>, A::Error> {
        let mut v = Vec::new();
        while let Some(e) = seq.next_element()? {
            v.push(e);
        }
        Ok(J::Arr(v))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<J<'de>, A::Error> {
        let mut v = Vec::new();
        while let Some(Key(k)) = map.next_key()? {
            let val = map.next_value()?;
            v.push((k, val));
        }
        Ok(J::Obj(v))
    }
}

/// An object key, borrowed when it has no escapes.
struct Key<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string key")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v)))
            }
        }
        d.deserialize_str(KeyVisitor)
    }
}

#[cfg(test)]
mod test {
    use super::*;

    /// The scanner's tree, `serde_json`'s tree (through the fallback) and a `Value` agree.
    fn check(t: &str) {
        let fast = parse(t).unwrap();
        let v: Value = serde_json::from_str(t).unwrap();
        let j: J<'_> = serde_json::from_str(t).unwrap();
        let mut slow = Vec::new();
        j.flatten(&mut slow);
        assert_eq!(fast, slow, "{t}");
        let r = root(&fast);
        assert_eq!(r.to_value(), v, "{t}");
        assert_eq!(r.to_string(), v.to_string(), "{t}");
        if let Some(o) = v.as_object() {
            let (k, first) = r.first().unwrap();
            let (vk, vfirst) = o.iter().next().unwrap();
            assert_eq!((k, first.to_value()), (vk.as_str(), vfirst.clone()));
            for (k, x) in o {
                assert_eq!(r.get(k).unwrap().to_value(), *x);
            }
        }
    }

    #[test]
    fn answers_like_a_value() {
        check(r#"{"b": 1, "a": {"x": "y\"z\n", "x": [15, -2, null, true, false, {}, []]}, "c": "d\\"}"#);
        check(r#"  [ {"nftables": [{"rule": {"expr": [{"match": {"op": "==", "right": -300}}]}}]} ]  "#);
        // left to serde_json: fractions, exponents, \u escapes, long numbers, -0
        check(r#"{"a": 1.5, "b": 2e3, "c": "\u00e9\ud83d\ude00", "d": 123456789012345678901, "e": -0, "f": 0}"#);
        let t = r#"{"k": "v"}"#;
        assert!(matches!(parse(t).unwrap().get(2), Some(Node::Str(Cow::Borrowed("v")))));
    }

    #[test]
    fn malformed_documents_fail_as_in_serde_json() {
        for bad in ["", "{", "[1,]", "{\"a\" 1}", "tru", "{\"a\":1} x", "01", "\"a\u{1}\"", "[-]", "{\"a\":1,}", "\"\\x\""] {
            let e1 = parse(bad).unwrap_err().to_string();
            let e2 = serde_json::from_str::<Value>(bad).unwrap_err().to_string();
            assert_eq!(e1, e2, "{bad:?}");
        }
        // nesting: the scanner stops early, serde_json's limit decides
        let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
        assert_eq!(parse(&deep).unwrap_err().to_string(), serde_json::from_str::<Value>(&deep).unwrap_err().to_string());
        let ok = format!("{}{}", "[".repeat(120), "]".repeat(120));
        assert_eq!(root(&parse(&ok).unwrap()).to_value(), serde_json::from_str::<Value>(&ok).unwrap());
    }
}
