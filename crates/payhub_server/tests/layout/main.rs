//! The layout rules of issue 10 (docs: `architecture-review.md`, "The rules
//! this layout enforces"), checked on the source tree: no server, no
//! database, a fraction of a second.
//!
//! - **a** a dialect imports no other dialect;
//! - **b** generic modules import no dialect: only the composition root
//!   ([`COMPOSITION_ROOT`]) sees the dialects, and the `payhub_app` crate
//!   (once it exists) sees none;
//! - **c** `payhub_core` depends only on [`CORE_DEPENDENCIES`];
//! - **d** no source file has more than [`MAX_LINES`] lines before its tests;
//! - **e** `payhub_app` depends on no HTTP framework ([`APP_FORBIDDEN`]);
//! - **f** no import circle spans more than one module: within each crate,
//!   the top-level modules' imports (outside their tests) form no circle.
//!
//! A breach may be listed in [`ALLOWED`] with the step that removes it, while
//! a change is under way; the list is empty now. The test fails on a breach
//! that is not listed, and on a listed one that is gone, so the list only
//! shrinks.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod scan;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};

/// The dialects, by name, with the module each lives in today; each may
/// also live at `dialects::{name}` (the target layout). Both spellings are
/// checked, so the rename needs no change here.
const DIALECTS: &[(&str, &str)] = &[
    ("tmf676", "api_tmf676"),
    ("retail", "api_retail"),
    ("telco", "api_telco"),
    ("aps", "api_aps"),
];

/// The modules of `payhub_server` that may see every dialect: they compose
/// the application (routes, command line, the documents of every dialect).
/// `lib.rs` only declares modules.
const COMPOSITION_ROOT: &[&str] = &["app", "cli", "openapi", "main", "lib"];

/// What `payhub_core` may depend on, and why: the core is the rules, with
/// no IO, so each dependency must serve the domain's values.
const CORE_DEPENDENCIES: &[(&str, &str)] = &[
    ("chrono", "timestamps of payments, refunds and events"),
    (
        "rust_decimal",
        "exact decimal amounts at the edges of Money",
    ),
    (
        "serde",
        "the domain types' wire form, derived, never hand-parsed JSON",
    ),
    ("thiserror", "the core's typed errors"),
    (
        "rand",
        "payment and refund ids (time-ordered with a random part)",
    ),
];

/// What `payhub_app` must not depend on, and why.
const APP_FORBIDDEN: &[(&str, &str)] = &[
    (
        "axum",
        "HTTP lives in payhub_server; the use cases are called, not routed",
    ),
    ("axum-core", "axum by another name"),
    ("axum-extra", "axum by another name"),
    ("tower-http", "HTTP middleware belongs to payhub_server"),
    ("hyper", "HTTP lives in payhub_server"),
    ("hyper-util", "HTTP lives in payhub_server"),
    (
        "payhub_server",
        "the dialects live there; the use cases must import none",
    ),
];

/// The longest a source file may be before its `#[cfg(test)]` part.
const MAX_LINES: usize = 600;

/// A breach of today's code that issue 10 removes. `what` is the dialect
/// imported (rules a and b), the dependency (c and e), or empty (d).
struct Allowed {
    rule: Rule,
    file: &'static str,
    what: &'static str,
    reason: &'static str,
}

const fn allowed(
    rule: Rule,
    file: &'static str,
    what: &'static str,
    reason: &'static str,
) -> Allowed {
    Allowed {
        rule,
        file,
        what,
        reason,
    }
}

/// Today's breaches. Remove an entry when its step lands (the test says so).
#[rustfmt::skip]
const ALLOWED: &[Allowed] = &[
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Rule {
    DialectImportsDialect,
    GenericImportsDialect,
    CoreDependency,
    TooLong,
    AppDependency,
    ImportCircle,
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Rule::DialectImportsDialect => "a: a dialect imports another dialect",
            Rule::GenericImportsDialect => "b: a generic module imports a dialect",
            Rule::CoreDependency => "c: payhub_core depends on a crate outside its list",
            Rule::TooLong => "d: a source file is too long",
            Rule::AppDependency => "e: payhub_app depends on HTTP or the dialects",
            Rule::ImportCircle => "f: top-level modules import each other in a circle",
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Violation {
    rule: Rule,
    file: String,
    what: String,
    line: usize,
    message: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}: [{}] {}",
            self.file, self.line, self.rule, self.message
        )
    }
}

/// Who may see dialects: a dialect (itself only), the composition root
/// (all of them), or anything else (none).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Owner {
    Dialect(&'static str),
    Root,
    Generic,
}

/// The module path of a file under a crate's `src/` (`api_telco/flow.rs` is
/// `api_telco::flow`, `page/mod.rs` is `page`, `lib.rs` is the root).
fn module_of(relative: &Path) -> Vec<String> {
    let mut parts: Vec<String> = relative
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    if let Some(last) = parts.pop() {
        let stem = last.trim_end_matches(".rs");
        if stem != "mod" && !(stem == "lib" && parts.is_empty()) {
            parts.push(stem.to_owned());
        }
    }
    parts
}

/// What `use crate::dialects;` reaches.
const EVERY_DIALECT: &str = "every dialect";

/// The dialect a module path lies in, if any: `api_x::…` or `dialects::x::…`.
fn dialect_of(path: &[String]) -> Option<&'static str> {
    let first = path.first()?;
    let second = path.get(1);
    DIALECTS
        .iter()
        .find(|(name, today)| {
            first == today || first == "dialects" && second.is_some_and(|s| s == name)
        })
        .map(|(name, _)| *name)
}

/// What a path reaches: one dialect, or every one (`crate::dialects` itself).
fn dialect_reached(path: &[String]) -> Option<&'static str> {
    if path == ["dialects"] {
        return Some(EVERY_DIALECT);
    }
    dialect_of(path)
}

fn owner_of(module: &[String]) -> Owner {
    if let Some(name) = dialect_of(module) {
        return Owner::Dialect(name);
    }
    match module.first() {
        // `dialects/mod.rs` gathers the dialects, as the root does.
        None => Owner::Root,
        Some(_) if module == ["dialects"] => Owner::Root,
        Some(first) if COMPOSITION_ROOT.contains(&first.as_str()) => Owner::Root,
        Some(_) => Owner::Generic,
    }
}

/// Rules a and b for one file: every dialect its paths reach that its owner
/// may not see.
fn import_violations(file: &str, owner: Owner, module: &[String], source: &str) -> Vec<Violation> {
    let mut found = Vec::new();
    for path in scan::rooted_paths(source) {
        let Some(resolved) = scan::resolve(module, &path) else {
            continue;
        };
        let Some(imported) = dialect_reached(&resolved) else {
            continue;
        };
        let rule = match owner {
            Owner::Root => continue,
            Owner::Dialect(own) if own == imported => continue,
            Owner::Dialect(_) => Rule::DialectImportsDialect,
            Owner::Generic => Rule::GenericImportsDialect,
        };
        // The line of the segment that names the dialect (or the path's last).
        let today = DIALECTS
            .iter()
            .find(|(name, _)| *name == imported)
            .map_or("dialects", |(_, today)| *today);
        let named = path.iter().find(|s| s.name == today || s.name == imported);
        let line = named.or(path.last()).map_or(1, |s| s.line);
        let written: Vec<&str> = path
            .iter()
            .map(|s| s.name.as_str())
            .filter(|n| *n != "self")
            .collect();
        let whose = match owner {
            Owner::Dialect(own) => format!("the {own} dialect"),
            _ => "a generic module".to_owned(),
        };
        found.push(Violation {
            rule,
            file: file.to_owned(),
            what: imported.to_owned(),
            line,
            message: format!(
                "{whose} reaches the {imported} dialect through `{}`",
                written.join("::")
            ),
        });
    }
    found
}

/// The dependencies a Cargo.toml links into its crate (`[dependencies]` and
/// target-specific ones; not dev or build), each with the line naming it.
fn dependencies(cargo_toml: &str) -> Vec<(String, usize)> {
    let table: toml::Table =
        toml::from_str(cargo_toml).unwrap_or_else(|e| panic!("Cargo.toml does not parse: {e}"));
    let mut names: Vec<String> = Vec::new();
    let mut add = |deps: Option<&toml::Value>| {
        if let Some(deps) = deps.and_then(toml::Value::as_table) {
            names.extend(deps.keys().cloned());
        }
    };
    add(table.get("dependencies"));
    if let Some(targets) = table.get("target").and_then(toml::Value::as_table) {
        for target in targets.values() {
            add(target.get("dependencies"));
        }
    }
    names
        .into_iter()
        .map(|name| {
            let line = cargo_toml
                .lines()
                .position(|l| {
                    let l = l.trim();
                    let rest = l.strip_prefix(name.as_str()).map(str::trim_start);
                    matches!(rest, Some(r) if r.starts_with('=') || r.starts_with('.'))
                        || l.ends_with(&format!("dependencies.{name}]"))
                })
                .map_or(1, |i| i + 1);
            (name, line)
        })
        .collect()
}

/// Rule c.
fn core_dependency_violations(file: &str, cargo_toml: &str) -> Vec<Violation> {
    dependencies(cargo_toml)
        .into_iter()
        .filter(|(name, _)| !CORE_DEPENDENCIES.iter().any(|(allowed, _)| allowed == name))
        .map(|(name, line)| Violation {
            rule: Rule::CoreDependency,
            file: file.to_owned(),
            message: format!(
                "payhub_core depends on `{name}`; the core is rules without IO and may use only {} (add it to CORE_DEPENDENCIES with a reason if it truly belongs)",
                CORE_DEPENDENCIES.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
            ),
            what: name,
            line,
        })
        .collect()
}

/// Rule e.
fn app_dependency_violations(file: &str, cargo_toml: &str) -> Vec<Violation> {
    dependencies(cargo_toml)
        .into_iter()
        .filter_map(|(name, line)| {
            let (_, why) = APP_FORBIDDEN
                .iter()
                .find(|(forbidden, _)| *forbidden == name)?;
            Some(Violation {
                rule: Rule::AppDependency,
                file: file.to_owned(),
                message: format!("payhub_app depends on `{name}`: {why}"),
                what: name,
                line,
            })
        })
        .collect()
}

/// Rule d: lines before the first `#[cfg(test)]` line (the tests at the end).
fn length_violation(file: &str, source: &str) -> Option<Violation> {
    let lines = source
        .lines()
        .take_while(|l| !l.trim_start().starts_with("#[cfg(test)]"))
        .count();
    (lines > MAX_LINES).then(|| Violation {
        rule: Rule::TooLong,
        file: file.to_owned(),
        what: String::new(),
        line: MAX_LINES + 1,
        message: format!("{lines} lines before its tests (at most {MAX_LINES}): split it by job"),
    })
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// Every breach in the workspace at `root`.
fn violations_in(root: &Path) -> Vec<Violation> {
    let mut found = Vec::new();
    let mut crates: Vec<PathBuf> = std::fs::read_dir(root.join("crates"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    crates.sort();
    for krate in crates.iter().filter(|k| k.join("src").is_dir()) {
        let name = krate.file_name().unwrap().to_string_lossy().into_owned();
        let mut files = Vec::new();
        rust_files(&krate.join("src"), &mut files);
        files.sort();
        found.extend(circle_violations(
            &format!("crates/{name}/src"),
            &module_imports(&krate.join("src"), &files),
        ));
        for path in files {
            let display = path
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            let source = read(&path);
            found.extend(length_violation(&display, &source));
            let module = module_of(path.strip_prefix(krate.join("src")).unwrap());
            let owner = match name.as_str() {
                "payhub_server" => owner_of(&module),
                "payhub_app" => Owner::Generic,
                _ => continue,
            };
            found.extend(import_violations(&display, owner, &module, &source));
        }
    }
    let core = "crates/payhub_core/Cargo.toml";
    found.extend(core_dependency_violations(core, &read(&root.join(core))));
    let app = "crates/payhub_app/Cargo.toml";
    if root.join(app).is_file() {
        found.extend(app_dependency_violations(app, &read(&root.join(app))));
    }
    found.sort();
    found
}

/// Which top-level modules of a crate each top-level module imports (from
/// every file below it, outside its tests; the crate root is left out).
fn module_imports(src: &Path, files: &[PathBuf]) -> BTreeMap<String, BTreeSet<String>> {
    let module_paths: Vec<Vec<String>> = files
        .iter()
        .map(|f| module_of(f.strip_prefix(src).unwrap()))
        .collect();
    let tops: BTreeSet<&str> = module_paths
        .iter()
        .filter_map(|m| m.first().map(String::as_str))
        .filter(|m| !matches!(*m, "lib" | "main"))
        .collect();
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (file, module) in files.iter().zip(&module_paths) {
        let Some(top) = module.first().filter(|t| tops.contains(t.as_str())) else {
            continue;
        };
        let source = read(file);
        let code = source.split("#[cfg(test)]").next().unwrap_or_default();
        for path in scan::rooted_paths(code) {
            let Some(target) = scan::resolve(module, &path) else {
                continue;
            };
            if let Some(to) = target
                .first()
                .filter(|t| *t != top && tops.contains(t.as_str()))
            {
                edges.entry(top.clone()).or_default().insert(to.clone());
            }
        }
    }
    edges
}

/// The groups of modules that reach each other through `edges` (a module
/// alone is no circle).
fn circles(edges: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    let reach = |from: &String| {
        let mut seen = BTreeSet::new();
        let mut todo = vec![from.clone()];
        while let Some(next) = todo.pop() {
            for to in edges.get(&next).into_iter().flatten() {
                if seen.insert(to.clone()) {
                    todo.push(to.clone());
                }
            }
        }
        seen
    };
    let reached: BTreeMap<&String, BTreeSet<String>> =
        edges.keys().map(|m| (m, reach(m))).collect();
    let mut grouped = BTreeSet::new();
    let mut out = Vec::new();
    for (module, from_it) in &reached {
        if grouped.contains(*module) || !from_it.contains(*module) {
            continue;
        }
        let group: Vec<String> = from_it
            .iter()
            .filter(|other| reached.get(other).is_some_and(|r| r.contains(*module)))
            .cloned()
            .collect();
        grouped.extend(group.iter().cloned());
        out.push(group);
    }
    out
}

fn circle_violations(src: &str, edges: &BTreeMap<String, BTreeSet<String>>) -> Vec<Violation> {
    circles(edges)
        .into_iter()
        .map(|group| Violation {
            rule: Rule::ImportCircle,
            file: src.to_owned(),
            what: group.join(", "),
            line: 0,
            message: format!("{} import each other: break the circle", group.join(" ⇄ ")),
        })
        .collect()
}

impl Allowed {
    fn covers(&self, v: &Violation) -> bool {
        self.rule == v.rule && self.file == v.file && self.what == v.what
    }
}

/// The breaches no entry of `allowed` covers.
fn unlisted<'a>(found: &'a [Violation], allowed: &[Allowed]) -> Vec<&'a Violation> {
    found
        .iter()
        .filter(|v| !allowed.iter().any(|a| a.covers(v)))
        .collect()
}

/// The entries of `allowed` that cover no breach any more.
fn stale<'a>(allowed: &'a [Allowed], found: &[Violation]) -> Vec<&'a Allowed> {
    allowed
        .iter()
        .filter(|a| !found.iter().any(|v| a.covers(v)))
        .collect()
}

#[test]
fn the_source_tree_keeps_the_layout_rules() {
    let found = violations_in(&workspace_root());
    let breaches: Vec<String> = unlisted(&found, ALLOWED)
        .iter()
        .map(ToString::to_string)
        .collect();
    assert!(
        breaches.is_empty(),
        "the layout rules of issue 10 are broken (see tests/layout/main.rs for each rule and its reason):\n{}",
        breaches.join("\n")
    );
}

#[test]
fn every_allowed_breach_still_exists() {
    let found = violations_in(&workspace_root());
    let gone: Vec<String> = stale(ALLOWED, &found)
        .iter()
        .map(|a| format!("{} [{}] {} ({})", a.file, a.rule, a.what, a.reason))
        .collect();
    assert!(
        gone.is_empty(),
        "fixed, so remove these entries from ALLOWED in tests/layout/main.rs (the list only shrinks):\n{}",
        gone.join("\n")
    );
}

#[test]
fn the_allowlist_names_each_breach_once_with_a_reason() {
    let mut seen = BTreeSet::new();
    for a in ALLOWED {
        assert!(!a.reason.trim().is_empty(), "{} has no reason", a.file);
        assert!(
            a.file.starts_with("crates/"),
            "{}: paths start at the workspace root",
            a.file
        );
        assert!(
            seen.insert((a.rule, a.file, a.what)),
            "{} [{}] {} is listed twice",
            a.file,
            a.rule,
            a.what
        );
    }
    assert!(ALLOWED
        .iter()
        .all(|a| a.rule == Rule::TooLong || !a.what.is_empty()));
}

#[cfg(test)]
mod rules {
    use super::*;

    fn graph(pairs: &[(&str, &str)]) -> BTreeMap<String, BTreeSet<String>> {
        let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (from, to) in pairs {
            edges
                .entry((*from).into())
                .or_default()
                .insert((*to).into());
        }
        edges
    }

    #[test]
    fn rule_f_finds_circles_of_modules_and_only_those() {
        let circular = graph(&[("a", "b"), ("b", "c"), ("c", "a"), ("c", "d"), ("d", "e")]);
        assert_eq!(
            circles(&circular),
            vec![vec!["a".to_owned(), "b".into(), "c".into()]]
        );
        let layered = graph(&[("a", "b"), ("b", "c"), ("a", "c")]);
        assert!(circles(&layered).is_empty());
        let two = graph(&[("a", "b"), ("b", "a"), ("c", "d"), ("d", "c")]);
        assert_eq!(circles(&two).len(), 2);
    }

    fn module(path: &str) -> Vec<String> {
        module_of(Path::new(path))
    }

    fn imports(path: &str, source: &str) -> Vec<(Rule, String, usize)> {
        let m = module(path);
        import_violations(path, owner_of(&m), &m, source)
            .into_iter()
            .map(|v| (v.rule, v.what, v.line))
            .collect()
    }

    #[test]
    fn files_map_to_modules_and_owners() {
        assert_eq!(module("api_telco/flow.rs"), ["api_telco", "flow"]);
        assert_eq!(module("dialects/retail/mod.rs"), ["dialects", "retail"]);
        assert!(module("lib.rs").is_empty());
        assert_eq!(
            owner_of(&module("dialects/retail/view.rs")),
            Owner::Dialect("retail")
        );
        assert_eq!(owner_of(&module("api_aps/mod.rs")), Owner::Dialect("aps"));
        assert_eq!(owner_of(&module("cli/merchant.rs")), Owner::Root);
        assert_eq!(owner_of(&module("main.rs")), Owner::Root);
        assert_eq!(owner_of(&module("hosted_page/routes.rs")), Owner::Generic);
        assert_eq!(owner_of(&module("dialects/mod.rs")), Owner::Root);
        assert_eq!(owner_of(&module("dialects/hooks.rs")), Owner::Generic);
    }

    #[test]
    fn rule_a_a_dialect_importing_another_fails_in_every_spelling() {
        let file = "dialects/retail/refund.rs";
        assert_eq!(
            imports(file, "use crate::dialects::telco::bill;\n"),
            [(Rule::DialectImportsDialect, "telco".into(), 1)]
        );
        assert_eq!(
            imports(file, "\nfn f() { crate::api_aps::view::x(); }"),
            [(Rule::DialectImportsDialect, "aps".into(), 2)]
        );
        let grouped = imports(
            file,
            "use crate::{\n    app::x,\n    dialects::{retail::y, tmf676::wire},\n};\n",
        );
        assert_eq!(grouped, [(Rule::DialectImportsDialect, "tmf676".into(), 3)]);
        assert_eq!(
            imports(file, "use super::super::telco::x;"),
            [(Rule::DialectImportsDialect, "telco".into(), 1)]
        );
    }

    #[test]
    fn rule_a_a_dialect_using_itself_and_shared_modules_passes() {
        let source = "use crate::dialects::retail::view;\nuse super::signature;\nuse crate::{app, http::auth, dialects::Hooks};\n// crate::dialects::telco in a comment\nconst S: &str = \"crate::api_aps\";\n";
        assert!(imports("dialects/retail/refund.rs", source).is_empty());
    }

    #[test]
    fn rule_b_generic_modules_import_no_dialect_but_the_root_may() {
        let source = "use crate::api_tmf676::error::TmfError;\n";
        assert_eq!(
            imports("hosted_page/routes.rs", source),
            [(Rule::GenericImportsDialect, "tmf676".into(), 1)]
        );
        assert_eq!(
            imports("operator/sandbox.rs", "use crate::dialects;"),
            [(Rule::GenericImportsDialect, "every dialect".into(), 1)]
        );
        assert!(imports("app.rs", source).is_empty());
        assert!(imports("cli/telco.rs", "use crate::dialects::telco;").is_empty());
        assert!(imports(
            "hosted_page/routes.rs",
            "use crate::http::lang;\nuse crate::dialects::DialectHooks;"
        )
        .is_empty());
        let app = import_violations(
            "crates/payhub_app/src/lib.rs",
            Owner::Generic,
            &[],
            "use payhub_server::api_retail::x;",
        );
        assert_eq!(app.len(), 1);
    }

    #[test]
    fn rule_c_core_keeps_to_its_dependencies() {
        let clean = "[package]\nname = \"payhub_core\"\n\n[dependencies]\nchrono.workspace = true\nserde = { version = \"1\" }\n\n[dev-dependencies]\nproptest = \"1\"\n";
        assert!(core_dependency_violations("Cargo.toml", clean).is_empty());
        let dirty = format!("{clean}\n[target.'cfg(unix)'.dependencies]\nsqlx = \"0.8\"\n");
        let v = core_dependency_violations("Cargo.toml", &dirty);
        assert_eq!(
            v.iter()
                .map(|v| (v.what.as_str(), v.line))
                .collect::<Vec<_>>(),
            [("sqlx", 12)]
        );
        let table = "[dependencies.axum]\nversion = \"0.7\"\n";
        assert_eq!(core_dependency_violations("Cargo.toml", table)[0].line, 1);
    }

    #[test]
    fn rule_d_counts_lines_before_the_tests() {
        let long = "fn f() {}\n".repeat(MAX_LINES + 1);
        let v = length_violation("x.rs", &long).unwrap();
        assert!(v.to_string().contains("601 lines"), "{v}");
        let with_tests = format!(
            "{}#[cfg(test)]\nmod tests {{\n{}}}\n",
            "fn f() {}\n".repeat(MAX_LINES),
            "\n".repeat(500)
        );
        assert!(length_violation("x.rs", &with_tests).is_none());
    }

    #[test]
    fn rule_e_the_app_crate_has_no_http_dependency() {
        let clean = "[dependencies]\npayhub_core.workspace = true\npayhub_store.workspace = true\ntokio.workspace = true\n";
        assert!(app_dependency_violations("Cargo.toml", clean).is_empty());
        let dirty = format!("{clean}tower-http.workspace = true\npayhub_server = {{ path = \"../payhub_server\" }}\n");
        let mut what: Vec<String> = app_dependency_violations("Cargo.toml", &dirty)
            .into_iter()
            .map(|v| v.what)
            .collect();
        what.sort();
        assert_eq!(what, ["payhub_server", "tower-http"]);
    }

    #[test]
    fn a_breach_names_file_line_and_rule() {
        let v = &import_violations(
            "crates/payhub_server/src/page/routes.rs",
            Owner::Generic,
            &module("page/routes.rs"),
            "\n\nuse crate::api_retail::view;",
        )[0];
        assert_eq!(
            v.to_string(),
            "crates/payhub_server/src/page/routes.rs:3: [b: a generic module imports a dialect] a generic module reaches the retail dialect through `crate::api_retail::view`"
        );
    }

    #[test]
    fn the_allowlist_covers_listed_breaches_only_and_reports_fixed_ones() {
        let source = "use crate::api_retail::view;\nuse crate::api_aps::view as aps;\n";
        let found = import_violations(
            "page/routes.rs",
            Owner::Generic,
            &module("page/routes.rs"),
            source,
        );
        let allowed = [
            allowed(
                Rule::GenericImportsDialect,
                "page/routes.rs",
                "retail",
                "moves",
            ),
            allowed(
                Rule::GenericImportsDialect,
                "page/routes.rs",
                "telco",
                "moved already",
            ),
        ];
        let unlisted: Vec<&str> = unlisted(&found, &allowed)
            .iter()
            .map(|v| v.what.as_str())
            .collect();
        assert_eq!(unlisted, ["aps"]);
        let stale: Vec<&str> = stale(&allowed, &found).iter().map(|a| a.what).collect();
        assert_eq!(stale, ["telco"]);
    }
}
