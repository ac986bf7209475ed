//! Replays every committed fuzz corpus through its target, so that a crash the
//! fuzzer once found (or any seed) stays fixed. Runs on stable with `cargo test`.

use std::path::Path;

#[test]
fn every_corpus_replays_without_panic() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    let mut replayed = 0usize;
    for (name, target) in ferrokafka_fuzz::all_targets() {
        let dir = root.join(name);
        let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| {
            panic!("fuzz target {name} has no corpus at {}: {e}", dir.display())
        });
        let mut files = 0usize;
        for entry in entries {
            let path = entry.expect("corpus entry").path();
            let data = std::fs::read(&path).expect("read corpus file");
            target(&data);
            files += 1;
        }
        assert!(files > 0, "fuzz target {name} has an empty corpus");
        replayed += files;
    }
    println!("replayed {replayed} corpus inputs");
}

#[test]
fn every_corpus_directory_has_a_target() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    let names: Vec<&str> = ferrokafka_fuzz::all_targets().map(|(n, _)| *n).collect();
    for entry in std::fs::read_dir(root).expect("corpus root") {
        let entry = entry.expect("corpus dir");
        if !entry.file_type().expect("file type").is_dir() {
            continue;
        }
        let name = entry.file_name().into_string().expect("utf-8 name");
        assert!(
            names.contains(&name.as_str()),
            "corpus/{name} has no fuzz target"
        );
    }
}
