//! `cargo xtask check-layering`: the rules of ARCHITECTURE's dependency picture, checked
//! mechanically.
//!
//! (a) Our crates depend on each other only downwards (normal and build dependencies count; dev
//!     dependencies may point anywhere, so a lower crate can test against a higher one).
//! (b) No crate below the facade depends on an async runtime, sockets or TLS; the one exception
//!     is `tokio-util` as an *optional* dependency of `ferrokafka-wire` (its `codec` feature,
//!     which only the facade turns on).
//! (c) The sans-IO crates never read the clock, touch `std::net`, sleep or draw ambient
//!     randomness: a text scan of their `src/` (line comments excluded).
//! (d) The fake cluster (`ferrokafka-fake`) depends on wire and records only — never on the
//!     producer crates, which may use it as a dev-dependency only (rule (a) covers both) — except
//!     the engine as an *optional* dependency (its `engine` feature: the in-process driver), and
//!     on tokio only as an *optional* dependency (its `server` feature); its `src/` is scanned
//!     like the sans-IO crates except the server and the binary (`server.rs`, `main.rs`).

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use serde_json::Value;

use crate::util::cargo;

/// Our crates and which of ours each may depend on (normal dependencies).
const ALLOWED: &[(&str, &[&str])] = &[
    ("ferrokafka-wire", &[]),
    ("ferrokafka-records", &[]),
    ("ferrokafka-partition", &[]),
    ("ferrokafka-metadata", &["ferrokafka-wire"]),
    (
        "ferrokafka-accumulator",
        &["ferrokafka-records", "ferrokafka-wire"],
    ),
    ("ferrokafka-txn", &["ferrokafka-wire", "ferrokafka-records"]),
    ("ferrokafka-engine", BELOW_FACADE_NO_ENGINE),
    ("ferrokafka", BELOW_FACADE),
    ("ferrokafka-cli", FACADE_AND_BELOW),
    (FAKE, &["ferrokafka-wire", "ferrokafka-records"]),
];
/// The fake cluster: beside the producer crates, not above or below them.
const FAKE: &str = "ferrokafka-fake";
/// Our crates the fake may use, as optional dependencies only (feature `engine`).
const FAKE_OPTIONAL_OURS: &[&str] = &["ferrokafka-engine"];
/// The I/O crates the fake may use, as optional dependencies only (feature `server`).
const FAKE_OPTIONAL_IO: &[&str] = &["tokio"];
/// Files of a scanned crate that may do I/O: (crate, path under `src/`).
const SANS_IO_EXEMPT: &[(&str, &str)] = &[(FAKE, "server.rs"), (FAKE, "main.rs")];
const BELOW_FACADE_NO_ENGINE: &[&str] = &[
    "ferrokafka-wire",
    "ferrokafka-records",
    "ferrokafka-partition",
    "ferrokafka-metadata",
    "ferrokafka-accumulator",
    "ferrokafka-txn",
];
const BELOW_FACADE: &[&str] = &[
    "ferrokafka-wire",
    "ferrokafka-records",
    "ferrokafka-partition",
    "ferrokafka-metadata",
    "ferrokafka-accumulator",
    "ferrokafka-txn",
    "ferrokafka-engine",
];
const FACADE_AND_BELOW: &[&str] = &[
    "ferrokafka-wire",
    "ferrokafka-records",
    "ferrokafka-partition",
    "ferrokafka-metadata",
    "ferrokafka-accumulator",
    "ferrokafka-txn",
    "ferrokafka-engine",
    "ferrokafka",
];
/// Runtime, socket and TLS crates that must stay out of everything below the facade.
const IO_CRATES: &[&str] = &[
    "tokio",
    "tokio-util",
    "mio",
    "socket2",
    "async-std",
    "smol",
    "rustls",
    "tokio-rustls",
    "native-tls",
    "openssl",
];
/// The sans-IO crates whose sources are scanned.
const SANS_IO: &[&str] = &[
    "ferrokafka-metadata",
    "ferrokafka-accumulator",
    "ferrokafka-txn",
    "ferrokafka-engine",
    FAKE,
];
/// What the sans-IO crates must not say, and why.
const FORBIDDEN_TEXT: &[(&str, &str)] = &[
    ("Instant::now", "reads the clock; take `now` as an argument"),
    (
        "SystemTime::now",
        "reads the clock; take the time as an argument",
    ),
    ("std::net", "networking belongs to the facade"),
    (
        "thread::sleep",
        "sleeping belongs to the driver; return a deadline instead",
    ),
    (
        "thread_rng",
        "ambient randomness; take a seed or an RNG as an argument",
    ),
    (
        "rand::rng()",
        "ambient randomness; take a seed or an RNG as an argument",
    ),
];

/// Dependency kind, as `cargo metadata` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Normal,
    Build,
    Dev,
}

/// One dependency edge of a workspace package.
#[derive(Debug, Clone)]
pub(crate) struct Dep {
    pub(crate) name: String,
    pub(crate) kind: Kind,
    pub(crate) optional: bool,
}

/// One workspace package.
#[derive(Debug, Clone)]
pub(crate) struct Package {
    pub(crate) name: String,
    pub(crate) dir: PathBuf,
    pub(crate) deps: Vec<Dep>,
}

/// A broken rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Violation {
    /// (a) an edge between our crates that points the wrong way.
    Direction { from: String, to: String },
    /// (b) a runtime/socket/TLS crate below the facade.
    IoDependency { from: String, to: String },
    /// (c) a forbidden call in a sans-IO crate's source.
    SansIo {
        krate: String,
        file: PathBuf,
        line: usize,
        pattern: &'static str,
        why: &'static str,
    },
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Violation::Direction { from, to } => {
                write!(f, "layering: {from} depends on {to}, which is not below it")
            }
            Violation::IoDependency { from, to } => write!(
                f,
                "sans-IO: {from} (below the facade) depends on {to}; only the facade does I/O"
            ),
            Violation::SansIo {
                krate,
                file,
                line,
                pattern,
                why,
            } => write!(
                f,
                "sans-IO: {}:{line}: `{pattern}` in {krate}: {why}",
                file.display()
            ),
        }
    }
}

fn allowed_for(name: &str) -> Option<&'static [&'static str]> {
    ALLOWED.iter().find(|(n, _)| *n == name).map(|(_, a)| *a)
}

fn below_facade(name: &str) -> bool {
    BELOW_FACADE.contains(&name)
}

/// Rules (a) and (b) on a dependency graph.
pub(crate) fn check_graph(packages: &[Package]) -> Vec<Violation> {
    let ours: Vec<&str> = ALLOWED.iter().map(|(n, _)| *n).collect();
    let mut out = Vec::new();
    for pkg in packages {
        let Some(allowed) = allowed_for(&pkg.name) else {
            // xtask, tests, fuzz: tooling, free to depend on anything.
            continue;
        };
        for dep in pkg.deps.iter().filter(|d| d.kind != Kind::Dev) {
            let optional_for_fake =
                pkg.name == FAKE && dep.optional && FAKE_OPTIONAL_OURS.contains(&dep.name.as_str());
            if ours.contains(&dep.name.as_str())
                && !allowed.contains(&dep.name.as_str())
                && !optional_for_fake
            {
                out.push(Violation::Direction {
                    from: pkg.name.clone(),
                    to: dep.name.clone(),
                });
            }
            if below_facade(&pkg.name) && IO_CRATES.contains(&dep.name.as_str()) {
                let exception =
                    pkg.name == "ferrokafka-wire" && dep.name == "tokio-util" && dep.optional;
                if !exception {
                    out.push(Violation::IoDependency {
                        from: pkg.name.clone(),
                        to: dep.name.clone(),
                    });
                }
            }
            if pkg.name == FAKE
                && IO_CRATES.contains(&dep.name.as_str())
                && !(dep.optional && FAKE_OPTIONAL_IO.contains(&dep.name.as_str()))
            {
                out.push(Violation::IoDependency {
                    from: pkg.name.clone(),
                    to: dep.name.clone(),
                });
            }
        }
    }
    out
}

/// Rule (c) on one source file's text.
pub(crate) fn scan_source(krate: &str, file: &Path, text: &str) -> Vec<Violation> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let code = line.find("//").map_or(line, |at| &line[..at]);
        for &(pattern, why) in FORBIDDEN_TEXT {
            if code.contains(pattern) {
                out.push(Violation::SansIo {
                    krate: krate.to_string(),
                    file: file.to_path_buf(),
                    line: i + 1,
                    pattern,
                    why,
                });
            }
        }
    }
    out
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    if !dir.is_dir() {
        return Ok(());
    }
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("list {}", dir.display()))?
        .map(|e| e.map(|e| e.path()))
        .collect::<std::io::Result<_>>()?;
    entries.sort();
    for path in entries {
        if path.is_dir() {
            rust_files(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    Ok(())
}

/// Rule (c) on the packages' `src/` directories.
fn check_sources(packages: &[Package], root: &Path) -> Result<(Vec<Violation>, usize)> {
    let mut out = Vec::new();
    let mut scanned = 0;
    for pkg in packages
        .iter()
        .filter(|p| SANS_IO.contains(&p.name.as_str()))
    {
        let mut files = Vec::new();
        let src = pkg.dir.join("src");
        rust_files(&src, &mut files)?;
        files.retain(|f| {
            let rel = f.strip_prefix(&src).unwrap_or(f);
            !SANS_IO_EXEMPT
                .iter()
                .any(|(k, path)| *k == pkg.name && rel == Path::new(path))
        });
        for file in files {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("read {}", file.display()))?;
            let shown = file.strip_prefix(root).unwrap_or(&file).to_path_buf();
            out.extend(scan_source(&pkg.name, &shown, &text));
            scanned += 1;
        }
    }
    Ok((out, scanned))
}

/// Parses `cargo metadata --format-version 1` output into the workspace packages.
pub(crate) fn parse_metadata(json: &Value) -> Result<Vec<Package>> {
    let members: Vec<&str> = json["workspace_members"]
        .as_array()
        .context("metadata has no workspace_members")?
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let mut packages = Vec::new();
    for pkg in json["packages"]
        .as_array()
        .context("metadata has no packages")?
    {
        let id = pkg["id"].as_str().unwrap_or_default();
        if !members.contains(&id) {
            continue;
        }
        let name = pkg["name"]
            .as_str()
            .context("package without a name")?
            .to_string();
        let manifest = pkg["manifest_path"]
            .as_str()
            .context("package without manifest_path")?;
        let dir = Path::new(manifest)
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        let mut deps = Vec::new();
        for dep in pkg["dependencies"].as_array().into_iter().flatten() {
            let kind = match dep["kind"].as_str() {
                None => Kind::Normal,
                Some("build") => Kind::Build,
                Some("dev") => Kind::Dev,
                Some(other) => bail!("{name}: unknown dependency kind {other:?}"),
            };
            deps.push(Dep {
                name: dep["name"]
                    .as_str()
                    .context("dependency without a name")?
                    .to_string(),
                kind,
                optional: dep["optional"].as_bool().unwrap_or(false),
            });
        }
        packages.push(Package { name, dir, deps });
    }
    Ok(packages)
}

fn load_packages() -> Result<Vec<Package>> {
    let out = cargo()
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .output()
        .context("cannot run cargo metadata")?;
    if !out.status.success() {
        bail!(
            "cargo metadata failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let json: Value =
        serde_json::from_slice(&out.stdout).context("cargo metadata printed invalid JSON")?;
    parse_metadata(&json)
}

/// Crates that link a system library or need tools beyond a C compiler: none may be in the
/// facade's default build (`cargo build -p ferrokafka` must work with a Rust toolchain and a C
/// compiler alone, on musl, aarch64 and Windows too).
const SYSTEM_LIBRARY_CRATES: &[&str] = &[
    "openssl-sys",
    "rdkafka-sys",
    "libz-sys",
    "sasl2-sys",
    "libsasl2-sys",
    "krb5-sys",
    "gssapi-sys",
    "curl-sys",
    "aws-lc-sys",
    "aws-lc-fips-sys",
];

/// Crates of the facade's default build that compile C with the C compiler (reported, allowed).
const C_COMPILED_CRATES: &[&str] = &["ring", "zstd-sys"];

/// The facade's default normal dependencies: no crate that needs a system library.
fn check_system_libraries() -> Result<(Vec<String>, Vec<String>)> {
    let out = cargo()
        .args([
            "tree",
            "-p",
            "ferrokafka",
            "-e",
            "normal",
            "--prefix",
            "none",
            "--format",
            "{p}",
        ])
        .output()
        .context("cannot run cargo tree")?;
    if !out.status.success() {
        bail!(
            "cargo tree failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let names: std::collections::BTreeSet<&str> = text
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    let bad = names
        .iter()
        .filter(|n| SYSTEM_LIBRARY_CRATES.contains(n))
        .map(|n| (*n).to_owned())
        .collect();
    let c = names
        .iter()
        .filter(|n| C_COMPILED_CRATES.contains(n))
        .map(|n| (*n).to_owned())
        .collect();
    Ok((bad, c))
}

/// Checks all three rules; prints each violation. Returns whether everything passed.
pub(crate) fn check() -> Result<bool> {
    let root = crate::util::workspace_root();
    let packages = load_packages()?;
    let mut missing: Vec<&str> = ALLOWED
        .iter()
        .map(|(n, _)| *n)
        .filter(|n| !packages.iter().any(|p| p.name == *n))
        .collect();
    missing.sort_unstable();
    let mut violations = check_graph(&packages);
    let (source_violations, scanned) = check_sources(&packages, &root)?;
    violations.extend(source_violations);
    for v in &violations {
        println!("{v}");
    }
    let (system, c_compiled) = check_system_libraries()?;
    for name in &system {
        println!(
            "ferrokafka's default build depends on {name}, which needs a system library: \
             `cargo build -p ferrokafka` must need nothing but Rust and a C compiler"
        );
    }
    println!(
        "check-layering: ferrokafka's default build links no system library; C compiled by the \
         C compiler: {}",
        if c_compiled.is_empty() {
            "none".to_owned()
        } else {
            c_compiled.join(", ")
        }
    );
    if !missing.is_empty() {
        println!(
            "check-layering: note: not in the workspace: {}",
            missing.join(", ")
        );
    }
    let edges: usize = packages
        .iter()
        .filter(|p| allowed_for(&p.name).is_some())
        .map(|p| p.deps.iter().filter(|d| d.kind != Kind::Dev).count())
        .sum();
    if violations.is_empty() && system.is_empty() {
        println!(
            "check-layering: OK ({} crates, {edges} dependency edges, {scanned} sans-IO source files)",
            packages
                .iter()
                .filter(|p| allowed_for(&p.name).is_some())
                .count()
        );
        Ok(true)
    } else {
        println!(
            "check-layering: {} violation(s)",
            violations.len() + system.len()
        );
        Ok(false)
    }
}

pub(crate) fn run() -> Result<ExitCode> {
    Ok(if check()? {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dep(name: &str, kind: Kind, optional: bool) -> Dep {
        Dep {
            name: name.into(),
            kind,
            optional,
        }
    }

    fn pkg(name: &str, deps: Vec<Dep>) -> Package {
        Package {
            name: name.into(),
            dir: PathBuf::from(name),
            deps,
        }
    }

    fn good_graph() -> Vec<Package> {
        vec![
            pkg(
                "ferrokafka-wire",
                vec![
                    dep("bytes", Kind::Normal, false),
                    dep("tokio-util", Kind::Normal, true),
                    dep("kafka-protocol", Kind::Dev, false),
                ],
            ),
            pkg(
                "ferrokafka-records",
                vec![dep("crc32c", Kind::Normal, false)],
            ),
            pkg("ferrokafka-partition", vec![]),
            pkg(
                "ferrokafka-metadata",
                vec![dep("ferrokafka-wire", Kind::Normal, false)],
            ),
            pkg(
                "ferrokafka-accumulator",
                vec![
                    dep("ferrokafka-records", Kind::Normal, false),
                    dep("ferrokafka-wire", Kind::Normal, false),
                ],
            ),
            pkg(
                "ferrokafka-txn",
                vec![dep("ferrokafka-wire", Kind::Normal, false)],
            ),
            pkg(
                "ferrokafka-engine",
                vec![
                    dep("ferrokafka-metadata", Kind::Normal, false),
                    dep("ferrokafka-txn", Kind::Normal, false),
                    // Dev dependencies may point anywhere.
                    dep("ferrokafka", Kind::Dev, false),
                    dep("tokio", Kind::Dev, false),
                ],
            ),
            pkg(
                "ferrokafka",
                vec![
                    dep("ferrokafka-engine", Kind::Normal, false),
                    dep("ferrokafka-wire", Kind::Normal, false),
                    dep("tokio", Kind::Normal, false),
                ],
            ),
            pkg(
                "ferrokafka-cli",
                vec![dep("ferrokafka", Kind::Normal, false)],
            ),
            pkg(
                "xtask",
                vec![
                    dep("ferrokafka-cli", Kind::Normal, false),
                    dep("tokio", Kind::Normal, false),
                ],
            ),
        ]
    }

    #[test]
    fn the_intended_graph_passes() {
        assert_eq!(check_graph(&good_graph()), vec![]);
    }

    #[test]
    fn upward_and_sideways_edges_are_reported() {
        let mut graph = good_graph();
        graph[1]
            .deps
            .push(dep("ferrokafka-wire", Kind::Normal, false)); // records -> wire
        graph[3]
            .deps
            .push(dep("ferrokafka-engine", Kind::Build, false)); // metadata -> engine (build)
        graph[2].deps.push(dep("ferrokafka-wire", Kind::Dev, false)); // dev: allowed
        assert_eq!(
            check_graph(&graph),
            vec![
                Violation::Direction {
                    from: "ferrokafka-records".into(),
                    to: "ferrokafka-wire".into()
                },
                Violation::Direction {
                    from: "ferrokafka-metadata".into(),
                    to: "ferrokafka-engine".into()
                },
            ]
        );
    }

    #[test]
    fn io_crates_below_the_facade_are_reported() {
        let mut graph = good_graph();
        graph[6].deps.push(dep("tokio", Kind::Normal, false)); // engine -> tokio
        graph[0].deps[1].optional = false; // wire -> tokio-util, no longer optional
        graph[4].deps.push(dep("tokio-util", Kind::Normal, true)); // only wire may
        graph[2].deps.push(dep("socket2", Kind::Normal, true)); // optional does not excuse
        let got = check_graph(&graph);
        let pairs: Vec<(&str, &str)> = got
            .iter()
            .map(|v| match v {
                Violation::IoDependency { from, to } => (from.as_str(), to.as_str()),
                other => panic!("unexpected {other:?}"),
            })
            .collect();
        assert_eq!(
            pairs,
            vec![
                ("ferrokafka-wire", "tokio-util"),
                ("ferrokafka-partition", "socket2"),
                ("ferrokafka-accumulator", "tokio-util"),
                ("ferrokafka-engine", "tokio"),
            ]
        );
    }

    #[test]
    fn the_fake_depends_on_wire_and_records_and_on_the_engine_and_tokio_only_optionally() {
        let fake = |deps| pkg(FAKE, deps);
        let mut graph = good_graph();
        graph.push(fake(vec![
            dep("ferrokafka-wire", Kind::Normal, false),
            dep("ferrokafka-records", Kind::Normal, false),
            dep("tokio", Kind::Normal, true),
            dep("ferrokafka-engine", Kind::Normal, true),
            dep("ferrokafka", Kind::Dev, false),
        ]));
        // The producer crates may test against the fake.
        graph[6].deps.push(dep(FAKE, Kind::Dev, false));
        assert_eq!(check_graph(&graph), vec![]);

        let mut graph = good_graph();
        graph.push(fake(vec![
            dep("ferrokafka-txn", Kind::Normal, false),
            dep("ferrokafka-engine", Kind::Normal, false),
            dep("ferrokafka-txn", Kind::Normal, true),
            dep("tokio", Kind::Normal, false),
            dep("socket2", Kind::Normal, true),
        ]));
        graph[6].deps.push(dep(FAKE, Kind::Normal, false)); // engine -> fake
        let got: Vec<String> = check_graph(&graph)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            got,
            vec![
                "layering: ferrokafka-engine depends on ferrokafka-fake, which is not below it",
                "layering: ferrokafka-fake depends on ferrokafka-txn, which is not below it",
                "layering: ferrokafka-fake depends on ferrokafka-engine, which is not below it",
                "layering: ferrokafka-fake depends on ferrokafka-txn, which is not below it",
                "sans-IO: ferrokafka-fake (below the facade) depends on tokio; only the facade does I/O",
                "sans-IO: ferrokafka-fake (below the facade) depends on socket2; only the facade does I/O",
            ]
        );
    }

    #[test]
    fn source_scan_finds_calls_but_not_comments() {
        let text = "\
//! Never calls Instant::now; time is an argument.
use std::time::Instant;
fn f(now: Instant) -> Instant { now } // not Instant::now()
fn g() { let t = std::time::Instant::now(); }
fn h() { std::thread::sleep(d); let s = std::net::TcpStream::connect(a); }
fn r() { let x = rand::rng().random::<u8>(); let y = thread_rng(); }
";
        let got = scan_source("ferrokafka-engine", Path::new("src/lib.rs"), text);
        let found: Vec<(usize, &str)> = got
            .iter()
            .map(|v| match v {
                Violation::SansIo { line, pattern, .. } => (*line, *pattern),
                other => panic!("unexpected {other:?}"),
            })
            .collect();
        assert_eq!(
            found,
            vec![
                (4, "Instant::now"),
                (5, "std::net"),
                (5, "thread::sleep"),
                (6, "thread_rng"),
                (6, "rand::rng()"),
            ]
        );
        assert!(got[0].to_string().contains("src/lib.rs:4"));
    }

    #[test]
    fn metadata_json_is_parsed() {
        let json: Value = serde_json::json!({
            "workspace_members": ["path+file:///w/crates/wire#ferrokafka-wire@0.1.0"],
            "packages": [
                {
                    "id": "path+file:///w/crates/wire#ferrokafka-wire@0.1.0",
                    "name": "ferrokafka-wire",
                    "manifest_path": "/w/crates/wire/Cargo.toml",
                    "dependencies": [
                        {"name": "bytes", "kind": null, "optional": false},
                        {"name": "tokio-util", "kind": null, "optional": true},
                        {"name": "proptest", "kind": "dev", "optional": false},
                        {"name": "cc", "kind": "build", "optional": false}
                    ]
                },
                {
                    "id": "registry+https://github.com/rust-lang/crates.io-index#bytes@1.10.0",
                    "name": "bytes",
                    "manifest_path": "/r/bytes/Cargo.toml",
                    "dependencies": []
                }
            ]
        });
        let pkgs = parse_metadata(&json).unwrap();
        assert_eq!(pkgs.len(), 1);
        assert_eq!(pkgs[0].name, "ferrokafka-wire");
        assert_eq!(pkgs[0].dir, PathBuf::from("/w/crates/wire"));
        let kinds: Vec<(&str, Kind, bool)> = pkgs[0]
            .deps
            .iter()
            .map(|d| (d.name.as_str(), d.kind, d.optional))
            .collect();
        assert_eq!(
            kinds,
            vec![
                ("bytes", Kind::Normal, false),
                ("tokio-util", Kind::Normal, true),
                ("proptest", Kind::Dev, false),
                ("cc", Kind::Build, false),
            ]
        );
    }
}
