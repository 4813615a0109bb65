//! A folder of inputs as the command line reads it: every file below it, recursively, in sorted
//! order, named by its path relative to the folder.

use std::path::Path;

use portolan::InputFile;

/// Every file below `dir` except those whose file name is in `skip`.
pub fn dir_inputs(dir: &Path, skip: &[&str]) -> Vec<InputFile> {
    let mut out = Vec::new();
    walk(dir, dir, skip, &mut out);
    out
}

fn walk(dir: &Path, base: &Path, skip: &[&str], out: &mut Vec<InputFile>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir).unwrap().flatten().map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            walk(&p, base, skip, out);
        } else if !p.file_name().and_then(|n| n.to_str()).is_some_and(|n| skip.contains(&n)) {
            let rel = p.strip_prefix(base).unwrap().to_string_lossy().into_owned();
            out.push(InputFile { path: rel, bytes: std::fs::read(&p).unwrap() });
        }
    }
}
