//! The layers of `src/project`: imports only go down, and no two files of it
//! import each other, directly or around a loop.
//!
//! The check reads the source, not the compiler's view: every
//! `crate::project::…` path, every `super::…` path (resolved from the module
//! it is written in, inline modules such as `mod tests` included) and, in a
//! `mod.rs`, every path through one of its child modules. Each is resolved to
//! the file of its longest prefix that is a module. `ARCHITECTURE.md` draws
//! the same order; a new folder under `src/project` fails here until it is
//! given a place in [`LAYERS`].

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The layers, bottom up: a file may import from its own layer and the
/// layers before it. The empty name is the top of `src/project` itself:
/// `Project` (`mod.rs`) and its parts (`lane.rs`, `observe.rs`, …).
const LAYERS: &[&str] = &["model", "format", "disk", "snapshot", "write", ""];

/// A module of `src/project`, as its path below `project` (`disk::workspace`;
/// empty for `project` itself).
type Module = Vec<String>;

#[derive(Debug)]
struct File {
    /// Relative to `src/project`, for messages.
    name: String,
    module: Module,
    text: String,
}

fn read_tree(root: &Path) -> Vec<File> {
    let mut files = Vec::new();
    let mut folders = vec![root.to_path_buf()];
    while let Some(dir) = folders.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                folders.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let name = path.strip_prefix(root).unwrap().to_string_lossy().replace('\\', "/");
                files.push(File { module: module_of(&name), text: std::fs::read_to_string(&path).unwrap(), name });
            }
        }
    }
    files.sort_by(|a, b| a.name.cmp(&b.name));
    files
}

/// `disk/workspace.rs` is `disk::workspace`; `snapshot/mod.rs` is `snapshot`.
fn module_of(name: &str) -> Module {
    let mut parts: Module = name.trim_end_matches(".rs").split('/').map(str::to_string).collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    parts
}

/// The layer a module belongs to: its folder, or the top for the files
/// directly in `src/project`.
fn layer_of(module: &Module, folders: &BTreeSet<String>) -> String {
    match module.first() {
        Some(first) if folders.contains(first) => first.clone(),
        _ => String::new(),
    }
}

/// Expands `a::{b, c::{d, e}}` (the text after a prefix) into its paths.
fn expand(text: &str) -> Vec<Vec<String>> {
    fn path(chars: &[char], i: &mut usize) -> Vec<Vec<String>> {
        let mut prefix = Vec::new();
        loop {
            while *i < chars.len() && chars[*i].is_whitespace() {
                *i += 1;
            }
            if *i < chars.len() && chars[*i] == '{' {
                *i += 1;
                let mut out = Vec::new();
                loop {
                    for tail in path(chars, i) {
                        out.push(prefix.iter().cloned().chain(tail).collect());
                    }
                    while *i < chars.len() && chars[*i].is_whitespace() {
                        *i += 1;
                    }
                    match chars.get(*i) {
                        Some(',') => *i += 1,
                        Some('}') => {
                            *i += 1;
                            return out;
                        }
                        _ => return out,
                    }
                    while *i < chars.len() && chars[*i].is_whitespace() {
                        *i += 1;
                    }
                    if chars.get(*i) == Some(&'}') {
                        *i += 1;
                        return out;
                    }
                }
            }
            let start = *i;
            while *i < chars.len() && (chars[*i].is_alphanumeric() || chars[*i] == '_') {
                *i += 1;
            }
            if start == *i {
                return vec![prefix];
            }
            prefix.push(chars[start..*i].iter().collect());
            if chars.get(*i) == Some(&':') && chars.get(*i + 1) == Some(&':') {
                *i += 2;
            } else {
                return vec![prefix];
            }
        }
    }
    let chars: Vec<char> = text.chars().collect();
    path(&chars, &mut 0)
}

/// Every path a file names in `src/project`, as absolute module paths, with
/// the line it is on.
fn references(file: &File, children: &BTreeSet<String>) -> Vec<(usize, Module)> {
    let mut out = Vec::new();
    // The module each line is in: the file's, or an inline module's inside it
    // (rustfmt closes an inline module at the indentation that opened it).
    let mut inline: Vec<(String, usize)> = Vec::new();
    for (n, line) in file.text.lines().enumerate() {
        let code = line.split("//").next().unwrap_or("");
        let indent = line.len() - line.trim_start().len();
        if let Some((_, at)) = inline.last() {
            if line.trim_start() == "}" && indent == *at {
                inline.pop();
                continue;
            }
        }
        let trimmed = code.trim_start();
        let rest = trimmed.strip_prefix("pub ").unwrap_or(trimmed);
        if let Some(name) = rest.strip_prefix("mod ").and_then(|r| r.strip_suffix(" {")) {
            inline.push((name.trim().to_string(), indent));
            continue;
        }
        let here: Module = file.module.iter().cloned().chain(inline.iter().map(|(m, _)| m.clone())).collect();
        for (at, _) in code.match_indices("crate::project::") {
            for p in expand(&code[at + "crate::project::".len()..]) {
                out.push((n + 1, p));
            }
        }
        let mut from = 0;
        while let Some(at) = code[from..].find("super::").map(|a| a + from) {
            let before = code[..at].chars().last();
            from = at + "super::".len();
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
                continue;
            }
            // `super::super::x` climbs twice.
            let mut up = 1;
            let mut rest = &code[from..];
            while let Some(r) = rest.strip_prefix("super::") {
                up += 1;
                rest = r;
            }
            from = code.len() - rest.len();
            if up > here.len() {
                continue;
            }
            let base = &here[..here.len() - up];
            for p in expand(rest) {
                out.push((n + 1, base.iter().cloned().chain(p).collect()));
            }
        }
        // In a folder's `mod.rs` (and in `project/mod.rs`), a child module
        // is named without a prefix: `use divergence::Item`.
        if inline.is_empty() {
            for child in children {
                for (at, _) in code.match_indices(&format!("{child}::")) {
                    let before = code[..at].chars().last();
                    if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
                        continue;
                    }
                    for p in expand(&code[at..]) {
                        out.push((n + 1, file.module.iter().cloned().chain(p).collect()));
                    }
                }
            }
        }
    }
    out
}

/// Every violation: an import up the layers, or a cycle between files.
fn violations(files: &[File]) -> Vec<String> {
    let modules: BTreeMap<Module, usize> = files.iter().enumerate().map(|(i, f)| (f.module.clone(), i)).collect();
    let folders: BTreeSet<String> =
        files.iter().filter(|f| f.name.contains('/')).map(|f| f.module[0].clone()).collect();
    let mut problems = Vec::new();
    for folder in &folders {
        if !LAYERS.contains(&folder.as_str()) {
            problems.push(format!("src/project/{folder}/ has no place in LAYERS (tests/layers.rs)"));
        }
    }
    let rank = |layer: &str| LAYERS.iter().position(|l| *l == layer).unwrap_or(usize::MAX);
    let mut edges: BTreeMap<usize, BTreeSet<usize>> = BTreeMap::new();
    for (i, file) in files.iter().enumerate() {
        let is_mod_rs = file.name.ends_with("mod.rs");
        let children: BTreeSet<String> = if is_mod_rs {
            modules
                .keys()
                .filter(|m| m.len() == file.module.len() + 1 && m.starts_with(&file.module))
                .map(|m| m.last().unwrap().clone())
                .collect()
        } else {
            BTreeSet::new()
        };
        let from = layer_of(&file.module, &folders);
        for (line, path) in references(file, &children) {
            let Some(j) = (0..=path.len()).rev().find_map(|k| modules.get(&path[..k])).copied() else { continue };
            if j == i {
                continue;
            }
            let to = layer_of(&files[j].module, &folders);
            if rank(&to) > rank(&from) {
                let name = |l: &str| if l.is_empty() { "project".to_string() } else { l.to_string() };
                problems.push(format!(
                    "src/project/{}:{line} imports {} (layer {}) from layer {}: imports only go down",
                    file.name,
                    files[j].name,
                    name(&to),
                    name(&from)
                ));
            }
            // The parts of `Project` name it: `project/mod.rs` is one type
            // spread over the top layer's files, not a cycle between layers.
            if files[j].module.is_empty() && from.is_empty() {
                continue;
            }
            edges.entry(i).or_default().insert(j);
        }
    }
    for cycle in cycles(files.len(), &edges) {
        let names: Vec<&str> = cycle.iter().map(|&i| files[i].name.as_str()).collect();
        problems.push(format!("import cycle: {}", names.join(" -> ")));
    }
    problems
}

/// One cycle through each strongly connected group of files (depth-first).
fn cycles(n: usize, edges: &BTreeMap<usize, BTreeSet<usize>>) -> Vec<Vec<usize>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Open,
        Done,
    }
    fn visit(
        v: usize,
        edges: &BTreeMap<usize, BTreeSet<usize>>,
        marks: &mut [Mark],
        stack: &mut Vec<usize>,
        out: &mut Vec<Vec<usize>>,
    ) {
        marks[v] = Mark::Open;
        stack.push(v);
        for &w in edges.get(&v).into_iter().flatten() {
            match marks[w] {
                Mark::New => visit(w, edges, marks, stack, out),
                Mark::Open => {
                    let at = stack.iter().position(|&x| x == w).unwrap();
                    let mut cycle = stack[at..].to_vec();
                    cycle.push(w);
                    out.push(cycle);
                }
                Mark::Done => {}
            }
        }
        stack.pop();
        marks[v] = Mark::Done;
    }
    let mut marks = vec![Mark::New; n];
    let mut out = Vec::new();
    for v in 0..n {
        if marks[v] == Mark::New {
            visit(v, edges, &mut marks, &mut Vec::new(), &mut out);
        }
    }
    out
}

fn project_tree() -> Vec<File> {
    read_tree(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src/project"))
}

fn file<'a>(files: &'a mut [File], name: &str) -> &'a mut File {
    files.iter_mut().find(|f| f.name == name).unwrap_or_else(|| panic!("no src/project/{name}"))
}

#[test]
fn src_project_imports_only_go_down_its_layers_and_have_no_cycle() {
    let problems = violations(&project_tree());
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn an_import_up_the_layers_is_refused() {
    let mut files = project_tree();
    file(&mut files, "format/registry.rs").text.push_str("\nuse crate::project::write::mutation::Plan;\n");
    let problems = violations(&files);
    assert!(
        problems.iter().any(|p| p.starts_with("src/project/format/registry.rs:")
            && p.contains("imports write/mutation.rs (layer write) from layer format")),
        "{problems:?}"
    );
}

#[test]
fn an_import_up_through_super_in_a_test_module_is_refused() {
    let mut files = project_tree();
    file(&mut files, "model/paths.rs")
        .text
        .push_str("\n#[cfg(test)]\nmod more {\n    use super::super::super::disk::sandbox::Sandbox;\n}\n");
    let problems = violations(&files);
    assert!(
        problems.iter().any(|p| p.contains("imports disk/sandbox.rs (layer disk) from layer model")),
        "{problems:?}"
    );
}

#[test]
fn a_cycle_inside_one_layer_is_refused() {
    let mut files = project_tree();
    // merge already imports registry; the reverse closes a loop.
    file(&mut files, "format/registry.rs").text.push_str("\nuse super::merge::merge;\n");
    let problems = violations(&files);
    assert!(
        problems.iter().any(|p| p.starts_with("import cycle:")
            && p.contains("format/registry.rs")
            && p.contains("format/merge.rs")),
        "{problems:?}"
    );
}

#[test]
fn a_folder_without_a_layer_is_refused() {
    let mut files = project_tree();
    files.push(File { name: "cache/mod.rs".into(), module: vec!["cache".into()], text: String::new() });
    let problems = violations(&files);
    assert!(problems.iter().any(|p| p.contains("src/project/cache/ has no place in LAYERS")), "{problems:?}");
}

#[test]
fn paths_in_braces_are_expanded() {
    assert_eq!(
        expand("disk::{sandbox, state::{self, STATE_DIR}};"),
        vec![vec!["disk", "sandbox"], vec!["disk", "state", "self"], vec!["disk", "state", "STATE_DIR"],]
    );
}
