//! The layering, checked on the source: no import cycles between patgate's
//! top-level modules (so none among `app`, `audit`, `sso`, `accounts`,
//! `oauth` and `compat`) nor between the files of `oauth/`; the exchange
//! does not know the `@access-tokens` flavour; `web/` never names diesel and
//! the domain never names actix.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The code of a file without comments and without its unit tests.
fn code(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    let text = text.split("#[cfg(test)]").next().unwrap();
    text.lines()
        .map(|l| l.split("//").next().unwrap())
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every `prefix<name>` in `text`: the module names it refers to.
fn names_after(text: &str, prefix: &str) -> BTreeSet<String> {
    text.match_indices(prefix)
        .map(|(i, _)| {
            text[i + prefix.len()..]
                .chars()
                .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                .collect::<String>()
        })
        .filter(|n| !n.is_empty())
        .collect()
}

type Graph = BTreeMap<String, BTreeSet<String>>;

/// A cycle in `graph`, if there is one.
fn cycle(graph: &Graph) -> Option<Vec<String>> {
    fn visit(
        g: &Graph,
        node: &str,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(i) = path.iter().position(|n| n == node) {
            return Some(path[i..].to_vec());
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_string());
        for next in g.get(node).into_iter().flatten() {
            if let Some(c) = visit(g, next, path, done) {
                return Some(c);
            }
        }
        path.pop();
        done.insert(node.to_string());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|n| visit(graph, n, &mut Vec::new(), &mut done))
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// The top-level module a file belongs to (`None` for lib.rs and main.rs).
fn module_of(file: &Path) -> Option<String> {
    let rel = file.strip_prefix(src()).unwrap();
    let first = rel.components().next()?.as_os_str().to_string_lossy();
    let name = first.trim_end_matches(".rs").to_string();
    (name != "lib" && name != "main").then_some(name)
}

#[test]
fn a_cycle_is_found() {
    let graph: Graph = [("a", "b"), ("b", "c"), ("c", "a")]
        .into_iter()
        .map(|(k, v)| (k.to_string(), BTreeSet::from([v.to_string()])))
        .collect();
    assert!(cycle(&graph).is_some());
}

#[test]
fn top_level_modules_import_each_other_without_cycles() {
    let mut files = Vec::new();
    sources(&src(), &mut files);
    let mut graph = Graph::new();
    for file in &files {
        let Some(module) = module_of(file) else {
            continue;
        };
        let refs = names_after(&code(file), "crate::");
        let entry = graph.entry(module.clone()).or_default();
        entry.extend(refs.into_iter().filter(|r| *r != module));
    }
    for core in [
        "app", "audit", "sso", "accounts", "oauth", "compat", "policy",
    ] {
        assert!(graph.contains_key(core), "{core} is a module");
    }
    assert!(graph["tokens"].contains("audit") && graph["web"].contains("policy"));
    assert_eq!(cycle(&graph), None, "a cycle among {graph:?}");
    // `app` holds infrastructure only.
    for domain in ["audit", "sso", "accounts", "oauth", "compat", "tokens"] {
        assert!(!graph["app"].contains(domain), "app imports {domain}");
    }
}

#[test]
fn the_files_of_oauth_import_each_other_without_cycles() {
    let dir = src().join("oauth");
    let mut graph = Graph::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_string_lossy().to_string();
        if name == "mod" {
            continue;
        }
        let text = code(&path);
        let mut refs = names_after(&text, "super::");
        refs.extend(names_after(&text, "crate::oauth::"));
        // `super::{…}` names re-exports of mod.rs (the error types).
        refs.retain(|r| *r != name && dir.join(format!("{r}.rs")).exists());
        graph.insert(name, refs);
    }
    assert!(graph["device"].contains("code_grant"), "{graph:?}");
    assert_eq!(cycle(&graph), None, "a cycle among {graph:?}");
    assert!(
        !code(&dir.join("refresh_grant.rs")).contains("compat"),
        "the exchange takes the JWT flavour as a parameter"
    );
}

#[test]
fn the_web_layer_never_names_diesel_and_the_domain_never_names_actix() {
    let mut files = Vec::new();
    sources(&src(), &mut files);
    for file in &files {
        let module = module_of(file).unwrap_or_default();
        let text = code(file);
        if module == "web" {
            assert!(!text.contains("diesel"), "{} names diesel", file.display());
        }
        let domain = [
            "oauth", "tokens", "policy", "accounts", "audit", "compat", "sso", "app",
        ];
        if domain.contains(&module.as_str()) {
            assert!(!text.contains("actix"), "{} names actix", file.display());
        }
    }
}

/// The second-level modules of `web/` (`auth`, `errors`, `pages`, `api`,
/// `oauth`, `dto`, `render`, …) and which of them each imports.
fn web_graph() -> Graph {
    let dir = src().join("web");
    let mut files = Vec::new();
    sources(&dir, &mut files);
    let mut graph = Graph::new();
    for file in &files {
        let rel = file.strip_prefix(&dir).unwrap();
        let first = rel
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy();
        let name = first.trim_end_matches(".rs").to_string();
        if name == "mod" {
            continue;
        }
        let text = code(file);
        let mut refs = names_after(&text, "crate::web::");
        // A file directly in web/ names its siblings with `super::`.
        if rel.components().count() == 1 {
            refs.extend(names_after(&text, "super::"));
        }
        let known = |r: &String| dir.join(format!("{r}.rs")).exists() || dir.join(r).is_dir();
        refs.retain(|r| *r != name && known(r));
        graph.entry(name).or_default().extend(refs);
    }
    graph
}

#[test]
fn the_modules_of_web_import_each_other_without_cycles() {
    let graph = web_graph();
    assert!(graph["pages"].contains("auth"), "{graph:?}");
    assert_eq!(cycle(&graph), None, "a cycle among {graph:?}");
    // Leaves: what the handlers, the error mapping and the API document share.
    for leaf in ["dto", "render", "request"] {
        assert!(graph[leaf].is_empty(), "{leaf} imports {:?}", graph[leaf]);
    }
    assert!(
        graph["errors"].iter().all(|m| m == "dto" || m == "render"),
        "errors imports {:?}",
        graph["errors"]
    );
}
