//! Lifecycle and error answers on the wire; the server keeps serving after each.

mod common;

use common::{Fixture, Server};
use serde_json::{json, Value};

fn code(e: &Value) -> i64 {
    e["code"].as_i64().unwrap()
}

#[test]
fn request_before_initialize_is_32002_and_server_keeps_serving() {
    let mut s = Server::start();
    let e = s.request("packer/listProjects", json!({})).unwrap_err();
    assert_eq!(code(&e), -32002);
    let init = s.call("initialize", json!({"capabilities": {}}));
    let caps = &init["capabilities"]["experimental"]["packer"];
    assert_eq!(caps["protocolVersion"], 1);
    assert!(caps["methods"].as_array().unwrap().contains(&json!("packer/applyMutation")));
    assert!(caps["notifications"].as_array().unwrap().contains(&json!("packer/event")));
    assert_eq!(init["serverInfo"]["name"], "studio-packer");
    assert_eq!(s.call("packer/listProjects", json!({})), json!({"projects": []}));
}

#[test]
fn bad_params_are_32602_naming_the_field() {
    let f = Fixture::with_text_files(1);
    let mut s = Server::ready();
    let pid = s.open(&f.root());
    let cases = [
        ("packer/summary", json!({}), "projectId"),
        ("packer/summary", json!({"projectId": 7}), "projectId"),
        ("packer/getAsset", json!({"projectId": pid}), "assetId"),
        ("packer/listAssets", json!({"projectId": pid, "limit": "ten"}), "limit"),
        ("packer/listAssets", json!({"projectId": pid, "filter": {"kind": "sprite"}}), "filter.kind"),
        (
            "packer/previewMutation",
            json!({"projectId": pid, "mutation": {"kind": "move", "assetId": 1, "to": "x"}}),
            "mutation.assetId",
        ),
        (
            "packer/applyMutation",
            json!({"projectId": pid, "mutation": {"kind": "move", "to": "x"}}),
            "mutation.assetId",
        ),
        ("packer/applyMutation", json!({"projectId": pid, "mutation": {"kind": "teleport"}}), "mutation.kind"),
        ("packer/summary", json!({"projectId": "p-nope"}), "projectId"),
        ("packer/openProject", json!({"root": "relative/dir"}), "root"),
    ];
    for (method, params, field) in cases {
        let e = s.request(method, params.clone()).unwrap_err();
        assert_eq!(code(&e), -32602, "{method} {params}: {e}");
        assert_eq!(e["data"]["field"], field, "{method} {params}: {e}");
        assert!(e["message"].as_str().unwrap().contains(field), "{e}");
    }
    assert_eq!(s.call("packer/summary", json!({"projectId": pid}))["assets"]["total"], 0);
}

#[test]
fn missing_manifest_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Server::ready();
    let e = s.request("packer/openProject", json!({"root": dir.path()})).unwrap_err();
    assert_eq!(code(&e), -32803);
    assert_eq!(e["data"]["reason"], "noManifest");
    assert!(e["message"].as_str().unwrap().contains("packer.toml"), "{e}");
    // With create: true the project is made.
    let r = s.call("packer/openProject", json!({"root": dir.path(), "create": true}));
    assert_eq!(r["summary"]["assets"]["total"], 0);
    assert!(dir.path().join("packer.toml").exists());
}

#[test]
fn manifest_error_names_file_line_and_key() {
    let f = Fixture::with_text_files(0);
    std::fs::write(f.path("packer.toml"), "[project]\nname = \"x\"\n\n[assets]\nrots = [\"assets\"]\n").unwrap();
    let mut s = Server::ready();
    let e = s.request("packer/openProject", json!({"root": f.root()})).unwrap_err();
    assert_eq!(e["data"]["reason"], "manifestInvalid");
    assert_eq!(e["data"]["line"], 5);
    assert_eq!(e["data"]["key"], "rots");
    assert!(e["message"].as_str().unwrap().contains("packer.toml:5"), "{e}");
}

#[test]
fn same_root_twice_gives_same_project_id_also_as_uri() {
    let f = Fixture::with_text_files(1);
    let mut s = Server::ready();
    let a = s.open(&f.root());
    let uri = format!("file://{}", f.root().display());
    let b = s.call("packer/openProject", json!({"root": uri}))["projectId"].clone();
    assert_eq!(json!(a), b);
    assert_eq!(s.call("packer/listProjects", json!({}))["projects"].as_array().unwrap().len(), 1);
}

#[test]
fn every_request_sent_before_shutdown_is_answered() {
    let f = Fixture::with_text_files(3);
    let mut s = Server::ready();
    let pid = s.open(&f.root());
    let mut blob = Vec::new();
    for i in 0..3000 {
        let body = json!({"jsonrpc": "2.0", "id": 1000 + i, "method": "packer/summary", "params": {"projectId": pid}});
        blob.extend(frame(body.to_string().as_bytes()));
    }
    blob.extend(frame(br#"{"jsonrpc":"2.0","id":99999,"method":"shutdown"}"#));
    blob.extend(frame(br#"{"jsonrpc":"2.0","method":"exit"}"#));
    s.send_raw(&blob);
    assert_eq!(s.wait_exit(), 0);
    s.drain_for(std::time::Duration::from_millis(200));
    let answered = s.log.iter().filter(|m| m["id"].as_i64().is_some_and(|id| (1000..4000).contains(&id))).count();
    assert_eq!(answered, 3000);
    let shutdown_at = s.position_of_response(99999).unwrap();
    assert_eq!(shutdown_at, s.log.len() - 1, "shutdown is answered after everything sent before it");
}

fn frame(body: &[u8]) -> Vec<u8> {
    let mut v = format!("Content-Length: {}\r\n\r\n", body.len()).into_bytes();
    v.extend_from_slice(body);
    v
}
