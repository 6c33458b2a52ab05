//! The hostile-input catalogue: one row per kind of broken or hostile input
//! on the wire, each with the exact answer it gets. After every row the
//! stream is still readable and every valid request behind it is answered;
//! no row may panic, hang or grow memory. RELIABILITY.md points here.

mod common;

use std::time::Duration;

use common::{Fixture, Server};
use serde_json::{json, Value};

/// The documented maximum message body (protocol/README.md, "Transport").
const MAX_BODY: u64 = 64 * 1024 * 1024;

fn frame(body: &[u8]) -> Vec<u8> {
    let mut v = format!("Content-Length: {}\r\n\r\n", body.len()).into_bytes();
    v.extend_from_slice(body);
    v
}

/// One row: what is sent, and the one error answer it must get.
struct Row {
    name: &'static str,
    bytes: Vec<u8>,
    /// The `id` of the error answer (`null` when the id could not be read).
    id: Value,
    code: i64,
    /// A phrase the error message must contain: the error says what was wrong.
    says: &'static str,
}

fn row(name: &'static str, bytes: impl Into<Vec<u8>>, id: Value, code: i64, says: &'static str) -> Row {
    Row { name, bytes: bytes.into(), id, code, says }
}

/// A request to put behind a bad header block as its body. Were it ever read
/// as a message, it would get an answer of its own (-32601, id 900), which
/// the catalogue test counts as a second error.
const SMUGGLED: &str = r#"{"jsonrpc":"2.0","id":900,"method":"packer/smuggled","params":{}}"#;

/// A header block (`{n}` replaced by the length of [`SMUGGLED`]) followed by
/// [`SMUGGLED`].
fn with_body(header: &str) -> Vec<u8> {
    format!("{}{SMUGGLED}", header.replace("{n}", &SMUGGLED.len().to_string())).into_bytes()
}

fn catalogue() -> Vec<Row> {
    let null = Value::Null;
    vec![
        row("header without Content-Length", &b"Content-Type: x\r\n\r\n"[..], null.clone(), -32700, "without a Content-Length"),
        row("header line without a colon", &b"Content-Length 12\r\n\r\n"[..], null.clone(), -32700, "not `Name: value`"),
        row("non-numeric length", &b"Content-Length: abc\r\n\r\n{}"[..], null.clone(), -32700, "`abc` is not a non-negative integer"),
        row("negative length", &b"Content-Length: -5\r\n\r\n{}"[..], null.clone(), -32700, "`-5` is not a non-negative integer"),
        row("absurd length", &b"Content-Length: 99999999999\r\n\r\n"[..], null.clone(), -32700, "exceeds the maximum message size"),
        row(
            "length one over the maximum",
            format!("Content-Length: {}\r\n\r\n", MAX_BODY + 1),
            null.clone(),
            -32700,
            "exceeds the maximum message size of 67108864 bytes",
        ),
        row("length past u64", &b"Content-Length: 184467440737095516160\r\n\r\n"[..], null.clone(), -32700, "is not a non-negative integer"),
        row("header block over 8 KiB", [b"X-Pad: ".to_vec(), vec![b'a'; 9000]].concat(), null.clone(), -32700, "header block longer than"),
        // A bad header block followed by a body: the body is skipped with
        // it, never read as the next header block.
        row("no Content-Length, then a body", with_body("Content-Type: x\r\n\r\n"), null.clone(), -32700, "without a Content-Length"),
        row("Content-Lenght typo, then its body", with_body("Content-Lenght: {n}\r\n\r\n"), null.clone(), -32700, "without a Content-Length"),
        row("header line without a colon, then a body", with_body("Content-Length {n}\r\n\r\n"), null.clone(), -32700, "not `Name: value`"),
        row("a line without a colon among good ones", with_body("Content-Length: {n}\r\njunk\r\n\r\n"), null.clone(), -32700, "not `Name: value`: `junk`"),
        row("non-numeric length, then a body", with_body("Content-Length: ten\r\n\r\n"), null.clone(), -32700, "`ten` is not a non-negative integer"),
        row("absurd length, then a body", with_body("Content-Length: 99999999999\r\n\r\n"), null.clone(), -32700, "exceeds the maximum message size"),
        row("two lengths, the right one first", with_body("Content-Length: {n}\r\nContent-Length: 2\r\n\r\n"), null.clone(), -32700, "two Content-Length headers disagree"),
        row("two lengths, the right one last", with_body("Content-Length: 2\r\ncontent-length: {n}\r\n\r\n"), null.clone(), -32700, "two Content-Length headers disagree"),
        row("LF-only line endings", with_body("Content-Length: {n}\n\n"), null.clone(), -32700, "bare LF"),
        row("CRLF line, then a bare-LF blank line", with_body("Content-Length: {n}\r\n\n"), null.clone(), -32700, "bare LF"),
        row("bare-LF line, then a CRLF blank line", with_body("Content-Length: {n}\n\r\n"), null.clone(), -32700, "bare LF"),
        row("bare LF before a good Content-Length line", with_body("Content-Type: x\nContent-Length: {n}\r\n\r\n"), null.clone(), -32700, "bare LF"),
        row("CR-only line endings", with_body("Content-Length: {n}\r\r"), null.clone(), -32700, "bare CR"),
        row(
            "header block over 8 KiB, then a body",
            [b"X-Pad: ".to_vec(), vec![b'a'; 9000], with_body("\r\nContent-Length: {n}\r\n\r\n")].concat(),
            null.clone(),
            -32700,
            "header block longer than",
        ),
        row("invalid UTF-8", frame(b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"\xff\xfe\"}"), null.clone(), -32700, "not valid UTF-8"),
        row("not JSON", frame(b"{not json"), null.clone(), -32700, "parse error"),
        row("truncated JSON", frame(br#"{"jsonrpc":"2.0","id":3,"met"#), null.clone(), -32700, "parse error"),
        row("JSON number", frame(b"42"), null.clone(), -32600, "must be a JSON object"),
        row("JSON string", frame(br#""hello""#), null.clone(), -32600, "must be a JSON object"),
        row("JSON null", frame(b"null"), null.clone(), -32600, "must be a JSON object"),
        row("batch array", frame(br#"[{"jsonrpc":"2.0","id":1,"method":"packer/listProjects"}]"#), null.clone(), -32600, "batches are not supported"),
        row("empty batch", frame(b"[]"), null.clone(), -32600, "batches are not supported"),
        row("missing jsonrpc", frame(br#"{"id":9,"method":"packer/listProjects"}"#), json!(9), -32600, "`jsonrpc` must be \"2.0\""),
        row("wrong jsonrpc", frame(br#"{"jsonrpc":"1.0","id":9,"method":"packer/listProjects"}"#), json!(9), -32600, "`jsonrpc` must be \"2.0\""),
        row("null id", frame(br#"{"jsonrpc":"2.0","id":null,"method":"packer/listProjects"}"#), null.clone(), -32600, "`id` must be a number or a string"),
        row("object id", frame(br#"{"jsonrpc":"2.0","id":{"a":1},"method":"packer/listProjects"}"#), null.clone(), -32600, "`id` must be a number or a string"),
        row("no method", frame(br#"{"jsonrpc":"2.0","id":9}"#), json!(9), -32600, "no `method`"),
        row("method not a string", frame(br#"{"jsonrpc":"2.0","id":9,"method":7}"#), null.clone(), -32600, "invalid request"),
        row("unknown method", frame(br#"{"jsonrpc":"2.0","id":9,"method":"packer/teleport","params":{}}"#), json!(9), -32601, "unknown method `packer/teleport`"),
        row("params an array", frame(br#"{"jsonrpc":"2.0","id":9,"method":"packer/summary","params":["p-1"]}"#), json!(9), -32602, "`params`"),
        row("wrong parameter type", frame(br#"{"jsonrpc":"2.0","id":9,"method":"packer/summary","params":{"projectId":7}}"#), json!(9), -32602, "`projectId`"),
        row("wrong nested type", frame(br#"{"jsonrpc":"2.0","id":9,"method":"packer/listAssets","params":{"projectId":"p-1","limit":"ten"}}"#), json!(9), -32602, "`limit`"),
        row("wrong build flag type", frame(br#"{"jsonrpc":"2.0","id":9,"method":"packer/build","params":{"projectId":"p-1","clean":"yes"}}"#), json!(9), -32602, "`clean`"),
        row("unknown mutation kind", frame(br#"{"jsonrpc":"2.0","id":9,"method":"packer/previewMutation","params":{"projectId":"p-1","mutation":{"kind":"teleport"}}}"#), json!(9), -32602, "`mutation.kind`"),
        row("initialize twice", frame(br#"{"jsonrpc":"2.0","id":9,"method":"initialize","params":{}}"#), json!(9), -32600, "already received"),
    ]
}

/// The peak resident memory of a process, in KiB (Linux).
fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[test]
fn every_catalogue_row_gets_its_exact_answer_and_the_next_request_is_answered() {
    let mut s = Server::ready();
    let rows = catalogue();
    for r in &rows {
        s.log.clear();
        s.send_raw(&r.bytes);
        // Valid requests right behind the bad bytes: each must be answered,
        // not only the first (a decoder that lost its place eats one header
        // after another).
        let probes: Vec<i64> = (0..3).map(|_| s.send("packer/listProjects", json!({}))).collect();
        for &probe in &probes {
            let answer = s.response(probe);
            assert_eq!(answer["result"], json!({"projects": []}), "{}: request {probe} after it: {answer}", r.name);
        }
        // Reads are answered concurrently, so the error may come after them.
        s.wait_for(r.name, |m| m.get("error").is_some());
        let errors: Vec<&Value> = s.log.iter().filter(|m| m.get("error").is_some()).collect();
        assert_eq!(errors.len(), 1, "{}: exactly one error answer, got {:?}", r.name, s.log);
        let others: Vec<&Value> =
            s.log.iter().filter(|m| m.get("error").is_none() && !probes.iter().any(|&p| m["id"] == p)).collect();
        assert!(others.is_empty(), "{}: nothing but the error and the answers, got {others:?}", r.name);
        let e = errors[0];
        assert_eq!(e["id"], r.id, "{}: {e}", r.name);
        assert_eq!(e["error"]["code"], r.code, "{}: {e}", r.name);
        let message = e["error"]["message"].as_str().unwrap();
        assert!(message.contains(r.says), "{}: `{message}` should say `{}`", r.name, r.says);
    }
    // Nothing announced was ever allocated: the largest accepted body is
    // 64 MiB and several rows announced more.
    if let Some(kib) = peak_rss_kib(s.child.id()) {
        assert!(kib < 48 * 1024, "peak memory {kib} KiB after the catalogue");
    }
    eprintln!("hostile-input catalogue: {} rows, server still serving", rows.len());
    assert_eq!(s.shutdown(), 0);
}

#[test]
fn bytes_split_at_every_position_still_decode() {
    // The same stream, delivered one byte per write: framing never depends
    // on how the bytes arrive.
    let mut s = Server::ready();
    let body = br#"{"jsonrpc":"2.0","id":77,"method":"packer/listProjects","params":{}}"#;
    let mut bytes = b"Content-Length: 3\r\n\r\n{}x".to_vec();
    bytes.extend(frame(body));
    for b in bytes {
        s.send_raw(&[b]);
    }
    assert_eq!(s.response(77)["result"], json!({"projects": []}));
}

#[test]
fn a_body_shorter_than_announced_then_eof_is_a_clean_logged_exit() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("packer.log");
    let mut s = Server::start_with_env(&[("STUDIO_PACKER_LOG_FILE", log.to_str().unwrap())]);
    s.call("initialize", json!({"capabilities": {}}));
    s.send_raw(b"Content-Length: 60000000\r\n\r\n{\"jsonrpc\":\"2.0\",");
    s.close_stdin();
    assert_eq!(s.wait_exit(), 1, "ended without shutdown");
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains("input ended inside a message"), "{text}");
    assert!(!text.contains("panicked"), "{text}");
}

#[test]
fn requests_after_shutdown_are_refused_and_exit_is_0() {
    let mut s = Server::ready();
    assert_eq!(s.call("shutdown", Value::Null), Value::Null);
    let e = s.request("packer/listProjects", json!({})).unwrap_err();
    assert_eq!(e["code"], -32600);
    assert!(e["message"].as_str().unwrap().contains("after `shutdown`"), "{e}");
    let e = s.request("shutdown", Value::Null).unwrap_err();
    assert_eq!(e["code"], -32600);
    s.notify("exit", Value::Null);
    assert_eq!(s.wait_exit(), 0);
}

#[test]
fn exit_without_shutdown_is_exit_code_1() {
    let mut s = Server::ready();
    s.notify("exit", Value::Null);
    assert_eq!(s.wait_exit(), 1);
}

#[cfg(feature = "test-hooks")]
#[test]
fn a_duplicate_request_id_in_flight_is_refused_and_the_first_is_answered() {
    let f = Fixture::with_text_files(1);
    let mut s = Server::ready();
    let pid = s.open(&f.root());
    let slow = json!({"jsonrpc": "2.0", "id": "dup", "method": "packer/applyMutation",
        "params": {"projectId": pid, "mutation": {"kind": "testSleep", "ms": 1500}}});
    s.send_body(&slow.to_string());
    s.wait_for("the slow apply to start", |m| m["params"]["kind"] == "started");
    let again = json!({"jsonrpc": "2.0", "id": "dup", "method": "packer/summary", "params": {"projectId": pid}});
    s.send_body(&again.to_string());
    let refused = s.wait_for("the refusal", |m| m["id"] == "dup" && m.get("error").is_some());
    assert_eq!(refused["error"]["code"], -32600);
    assert_eq!(refused["error"]["data"]["duplicateId"], "dup");
    // A message with that id that is not a valid request at all is refused
    // without freeing the id: the next request with it is still a duplicate.
    s.log.clear();
    s.send_body(r#"{"id":"dup","method":"packer/listProjects"}"#);
    let bad = s.wait_for("the bad message's refusal", |m| m["id"] == "dup" && m.get("error").is_some());
    assert!(bad["error"]["message"].as_str().unwrap().contains("jsonrpc"), "{bad}");
    s.log.clear();
    s.send_body(&again.to_string());
    let refused = s.wait_for("the second refusal", |m| m["id"] == "dup" && m.get("error").is_some());
    assert_eq!(refused["error"]["data"]["duplicateId"], "dup", "{refused}");
    let first = s.wait_for("the first answer", |m| m["id"] == "dup" && m.get("result").is_some());
    assert_eq!(first["result"]["outcome"], "applied", "{first}");
    // Once answered, the id is free again.
    s.log.clear();
    s.send_body(&again.to_string());
    let reused = s.wait_for("the reused id's answer", |m| m["id"] == "dup");
    assert_eq!(reused["result"]["assets"]["total"], 0, "{reused}");
}

#[cfg(feature = "test-hooks")]
#[test]
fn stdin_closed_during_a_build_cancels_it_and_exits_cleanly() {
    let f = Fixture::with_text_files(40);
    let mut s = Server::start_with_env(&[("STUDIO_PACKER_TEST_PROCESS_DELAY_MS", "25")]);
    s.call("initialize", json!({"capabilities": {}}));
    let pid = s.open(&f.root());
    common::register_all(&mut s, &pid, &f);
    // The registration started too: only what follows the mark is the build's.
    let from = s.mark();
    s.send("packer/build", json!({"projectId": pid}));
    s.wait_for_after(from, "the build to start", |m| m["params"]["kind"] == "started");
    s.close_stdin();
    assert_eq!(s.wait_exit(), 1, "ended without shutdown");
    // The last client left, so its build was cancelled: no pack was
    // written (not even a part of one) and nothing temporary is left.
    let build_dir = f.path("build");
    let left: Vec<_> =
        std::fs::read_dir(&build_dir).map(|d| d.map(|e| e.unwrap().file_name()).collect()).unwrap_or_default();
    assert!(left.is_empty(), "files left in build/: {left:?}");
    let mut s = Server::ready();
    let pid = s.open(&f.root());
    let events = s.call("packer/replayEvents", json!({"projectId": pid}))["events"].as_array().unwrap().clone();
    let build_op =
        events.iter().find(|e| e["kind"] == "queued" && e["operation"] == "build").unwrap()["operationId"].clone();
    let build_terminals: Vec<&Value> = events
        .iter()
        .filter(|e| {
            e["operationId"] == build_op && ["succeeded", "failed", "cancelled"].contains(&e["kind"].as_str().unwrap())
        })
        .collect();
    assert_eq!(build_terminals.len(), 1, "{events:?}");
    assert_eq!(build_terminals[0]["kind"], "cancelled");
    // The project still builds.
    let r = s.call("packer/build", json!({"projectId": pid}));
    assert_eq!(r["outcome"], "succeeded", "{r}");
    s.drain_for(Duration::from_millis(10));
}
