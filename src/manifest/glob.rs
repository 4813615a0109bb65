//! File patterns of the manifest's `devices:` entries.
//!
//! A tiny matcher rather than the `globset` crate: the manifest needs `*`, `?` and `**` only, and
//! a regex engine in the WebAssembly module would cost more than the whole matcher. Matching is
//! linear in pattern length times path length (no backtracking), so hostile patterns cannot make
//! it slow.
//!
//! - `*` matches any run of characters within one path segment (no `/`);
//! - `?` matches one character other than `/`;
//! - `**/` matches zero or more whole folders; `**` elsewhere matches anything, `/` included;
//! - everything else matches itself (case-sensitive). Paths use `/`; `\` in paths counts as `/`.
//!
//! [`matches_path`] applies a pattern the way the manifest means it: a pattern matches a file
//! when it matches the file's path or any tail of it that starts after a `/` (`fw1/*` matches
//! `site/fw1/rules.v4`). A pattern starting with `/` is anchored: it matches only the path
//! relative to the given root (the common folder of all inputs), or the path as given.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Tok {
    Lit(char),
    One,
    Star,
    AnyDirs,
    Any,
}

fn compile(pattern: &str) -> Vec<Tok> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = Vec::with_capacity(chars.len());
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        match c {
            '*' if chars.get(i + 1) == Some(&'*') => {
                let at_segment_start = i == 0 || chars.get(i - 1) == Some(&'/');
                let mut j = i;
                while chars.get(j) == Some(&'*') {
                    j += 1;
                }
                if at_segment_start && chars.get(j) == Some(&'/') {
                    out.push(Tok::AnyDirs);
                    j += 1;
                } else {
                    out.push(Tok::Any);
                }
                i = j;
                continue;
            }
            '*' => out.push(Tok::Star),
            '?' => out.push(Tok::One),
            '\\' => out.push(Tok::Lit('/')),
            c => out.push(Tok::Lit(c)),
        }
        i += 1;
    }
    out
}

/// True when `pattern` matches the whole of `path`.
pub fn matches(pattern: &str, path: &str) -> bool {
    let toks = compile(pattern);
    let text: Vec<char> = path.chars().map(|c| if c == '\\' { '/' } else { c }).collect();
    let n = text.len();
    // cur[i]: the pattern so far matches text[..i].
    let mut cur = vec![false; n + 1];
    cur[0] = true;
    let mut next = vec![false; n + 1];
    for tok in toks {
        next.iter_mut().for_each(|b| *b = false);
        match tok {
            Tok::Lit(c) => {
                for i in 0..n {
                    next[i + 1] = cur[i] && text[i] == c;
                }
            }
            Tok::One => {
                for i in 0..n {
                    next[i + 1] = cur[i] && text[i] != '/';
                }
            }
            Tok::Star => {
                let mut open = false;
                for i in 0..=n {
                    open |= cur[i];
                    next[i] = open;
                    if i < n && text[i] == '/' {
                        open = false;
                    }
                }
            }
            Tok::Any => {
                let mut open = false;
                for i in 0..=n {
                    open |= cur[i];
                    next[i] = open;
                }
            }
            Tok::AnyDirs => {
                let mut seen = false;
                for i in 0..=n {
                    next[i] = cur[i] || (seen && i > 0 && text[i - 1] == '/');
                    seen |= cur[i];
                }
            }
        }
        std::mem::swap(&mut cur, &mut next);
        if !cur.iter().any(|&b| b) {
            return false;
        }
    }
    cur[n]
}

/// Normalise a path for matching: `/` separators, no leading `./`, no empty or `.` segments
/// (a leading `/` is kept).
pub fn normalize(path: &str) -> String {
    let p = path.replace('\\', "/");
    let absolute = p.starts_with('/');
    let parts: Vec<&str> = p.split('/').filter(|s| !s.is_empty() && *s != ".").collect();
    let joined = parts.join("/");
    if absolute {
        format!("/{joined}")
    } else {
        joined
    }
}

/// The longest folder shared by all paths (normalised, ending in `/`, or empty).
pub fn common_root<'a>(paths: impl IntoIterator<Item = &'a str>) -> String {
    let mut root: Option<Vec<String>> = None;
    for p in paths {
        let norm = normalize(p);
        let mut dirs: Vec<String> = norm.split('/').map(str::to_string).collect();
        dirs.pop();
        root = Some(match root {
            None => dirs,
            Some(r) => r.into_iter().zip(dirs).take_while(|(a, b)| a == b).map(|(a, _)| a).collect(),
        });
    }
    match root {
        Some(r) if !r.is_empty() => format!("{}/", r.join("/")),
        _ => String::new(),
    }
}

/// True when a manifest file pattern matches a file, as described in the module docs. `root` is
/// the common folder of all inputs (see [`common_root`]).
pub fn matches_path(pattern: &str, path: &str, root: &str) -> bool {
    let norm = normalize(path);
    let pat = pattern.trim();
    if let Some(anchored) = pat.strip_prefix('/') {
        let rel = norm.strip_prefix(root).unwrap_or(&norm);
        return matches(anchored, rel) || matches(pat, &norm) || matches(anchored, &norm);
    }
    let pat = pat.strip_prefix("./").unwrap_or(pat);
    if matches(pat, &norm) {
        return true;
    }
    norm.match_indices('/').any(|(i, _)| norm.get(i + 1..).is_some_and(|tail| !tail.is_empty() && matches(pat, tail)))
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn wildcards() {
        assert!(matches("fw1/*", "fw1/rules.v4"));
        assert!(!matches("fw1/*", "fw1/sub/rules.v4"));
        assert!(matches("fw1/**", "fw1/sub/rules.v4"));
        assert!(matches("**/rules.v4", "rules.v4"));
        assert!(matches("**/rules.v4", "a/b/rules.v4"));
        assert!(!matches("**/rules.v4", "a/brules.v4"));
        assert!(matches("fw?.iptables", "fw1.iptables"));
        assert!(!matches("fw?.iptables", "fw10.iptables"));
        assert!(matches("fw1.*", "fw1.ip-addr.json"));
        assert!(matches("a/**/z", "a/z"));
        assert!(matches("a/**/z", "a/b/c/z"));
        assert!(matches("*", ""));
        assert!(!matches("a", "ab"));
        assert!(matches("x**y", "x/1/2y"));
        assert!(matches("fw1\\*", "fw1/a"));
        // No exponential blow-up on many stars.
        let p = "*a".repeat(200) + "b";
        assert!(!matches(&p, &"a".repeat(2000)));
    }

    #[test]
    fn paths_tails_and_roots() {
        assert_eq!(normalize("./a\\b//c"), "a/b/c");
        assert_eq!(normalize("/x/./y"), "/x/y");
        assert_eq!(common_root(["/e/s/fw1/a", "/e/s/fw2/b"]), "/e/s/");
        assert_eq!(common_root(["a", "b/c"]), "");
        assert!(matches_path("fw1/*", "site/fw1/rules.v4", ""));
        assert!(matches_path("fw1/*", "./fw1/rules.v4", ""));
        assert!(!matches_path("fw1/*", "site/xfw1/rules.v4", ""));
        assert!(matches_path("/fw1/*", "/home/u/site/fw1/rules", "/home/u/site/"));
        assert!(!matches_path("/fw1/*", "/home/u/site/a/fw1/rules", "/home/u/site/"));
        assert!(matches_path("edge-fw.*", "www/samples/edge-fw/edge-fw.iptables", "www/samples/edge-fw/"));
    }
}
