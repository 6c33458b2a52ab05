//! The scripted harness shipped under `editors/scripts/` runs against the
//! real binary and prints what the packer said, through the generated
//! Python client (`editors/scripts/packer_protocol.py`, written by
//! tests/generated.rs). It needs python3: where python3 does not run, the
//! test fails (scripts/test.sh installs it).

mod common;

use std::path::Path;
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
    // -B: no __pycache__ of the generated module in the source tree.
    let out = Command::new("python3").arg("-B").arg(script).arg("--bin").arg(BIN).arg(f.root()).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(lines[0].starts_with("server studio-packer "), "{stdout}");
    assert!(lines[1].contains("assets=2 divergence=clean errors=0"), "{stdout}");
    assert!(lines.iter().any(|l| l.starts_with("event ") && l.contains("kind=queued")), "{stdout}");
    assert!(lines.iter().any(|l| l == &"progress token=script-build begin"), "{stdout}");
    assert!(lines.iter().any(|l| l == &"progress token=script-build end"), "{stdout}");
    assert!(lines.iter().any(|l| l.starts_with("event ") && l.contains("kind=succeeded")), "{stdout}");
    assert!(lines.iter().any(|l| l.starts_with("pack build/desktop/main.pack assets=2 bytes=")), "{stdout}");
    assert!(lines.contains(&"build succeeded processed=2 reused=0"), "{stdout}");
    assert_eq!(lines.last(), Some(&"exit 0"));
}

/// The script's client is the generated one: loaded from elsewhere, with
/// nothing but its own folder to find modules in (`-I`: no current folder,
/// no PYTHONPATH), `packer_client.py` imports `packer_protocol.py` from its
/// folder, uses its `Client`, and defines no client of its own.
#[test]
fn the_python_example_uses_the_generated_client() {
    common::require_python3("to import editors/scripts/packer_client.py");
    let scripts = Path::new(env!("CARGO_MANIFEST_DIR")).join("editors/scripts");
    let generated = scripts.join("packer_protocol.py");
    let header = std::fs::read_to_string(&generated).unwrap();
    assert!(
        header.starts_with("# Generated from the protocol's Rust types"),
        "{} is not the generated client",
        generated.display()
    );
    let check = r#"
import importlib.util, os, sys
spec = importlib.util.spec_from_file_location("packer_client", sys.argv[1])
script = importlib.util.module_from_spec(spec)
spec.loader.exec_module(script)
import packer_protocol
assert script.Client is packer_protocol.Client, "packer_client.Client is not packer_protocol.Client"
own = sorted(n for n, v in vars(script).items() if isinstance(v, type) and v.__module__ == script.__name__)
assert not own, f"packer_client.py defines classes of its own: {own}"
print(os.path.realpath(packer_protocol.__file__))
"#;
    let elsewhere = tempfile::tempdir().unwrap();
    let out = Command::new("python3")
        .args(["-I", "-B", "-c", check])
        .arg(scripts.join("packer_client.py"))
        .current_dir(elsewhere.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(stdout.trim_end(), generated.canonicalize().unwrap().to_str().unwrap());
    // No framing of its own either: the generated module reads and writes the messages.
    let source = std::fs::read_to_string(scripts.join("packer_client.py")).unwrap();
    assert!(!source.contains("Content-Length"), "packer_client.py frames messages itself");
}
