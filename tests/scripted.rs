//! The scripted harness shipped under `editors/scripts/` runs against the
//! real binary and prints what the packer said. It needs python3: where
//! python3 does not run, the test fails (scripts/test.sh installs it).

mod common;

use std::process::Command;

use common::{Fixture, BIN};

#[test]
fn the_python_example_builds_the_sample_and_prints_the_events() {
    // Never skipped: without python3 this fails (scripts/test.sh installs it).
    common::require_python3("to run editors/scripts/packer_client.py");
    let f = Fixture::new(&[("assets/a.txt", b"a\n"), ("assets/b.json", b"{ \"b\": 2 }")]);
    let reg = Command::new(BIN)
        .args(["call", "packer/applyMutation", r#"{"mutation":{"kind":"reconcile"}}"#, "--root"])
        .arg(f.root())
        .output()
        .unwrap();
    assert!(reg.status.success());
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/editors/scripts/packer_client.py");
    let out = Command::new("python3").arg(script).arg("--bin").arg(BIN).arg(f.root()).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(lines[0].starts_with("server studio-packer "), "{stdout}");
    assert!(lines[1].contains("assets=2 divergence=clean errors=0"), "{stdout}");
    assert!(lines.iter().any(|l| l.starts_with("event ") && l.contains("kind=queued")), "{stdout}");
    assert!(lines.iter().any(|l| l == &"progress token=script-build begin"), "{stdout}");
    assert!(lines.iter().any(|l| l == &"progress token=script-build end"), "{stdout}");
    assert!(lines.iter().any(|l| l.starts_with("event ") && l.contains("kind=succeeded")), "{stdout}");
    assert!(lines.iter().any(|l| l.starts_with("pack build/main.pack assets=2 bytes=")), "{stdout}");
    assert!(lines.contains(&"build succeeded processed=2 reused=0"), "{stdout}");
    assert_eq!(lines.last(), Some(&"exit 0"));
}
