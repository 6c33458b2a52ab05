//! Applies sent back to back are applied in the order sent.

mod common;

use std::collections::BTreeMap;

use common::{register_all, Fixture, Server};
use serde_json::json;

/// A small deterministic generator, so that a failure can be replayed.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

#[test]
fn two_hundred_moves_sent_without_waiting_apply_in_order() {
    let f = Fixture::with_text_files(20);
    let mut s = Server::ready();
    let pid = s.open(&f.root());
    let ids = register_all(&mut s, &pid, &f);
    let assets: Vec<String> = ids.values().cloned().collect();

    // 20 assets over a pool of 30 paths: many moves target a path that an
    // earlier move freed or took, so any reordering changes the outcome.
    let mut rng = Lcg(42);
    let moves: Vec<(String, String)> =
        (0..200).map(|_| (assets[rng.next(20) as usize].clone(), format!("assets/p{:02}.txt", rng.next(30)))).collect();
    let request_ids: Vec<i64> = moves
        .iter()
        .map(|(a, to)| {
            s.send(
                "packer/applyMutation",
                json!({"projectId": pid, "mutation": {"kind": "move", "assetId": a, "to": to}}),
            )
        })
        .collect();

    // The model: sequential application.
    let mut model: BTreeMap<String, String> = ids.iter().map(|(p, id)| (id.clone(), p.clone())).collect();
    let mut expected_outcomes = Vec::new();
    for (a, to) in &moves {
        let taken = model.iter().any(|(other, p)| p == to && other != a);
        if taken {
            expected_outcomes.push("rejected");
        } else {
            model.insert(a.clone(), to.clone());
            expected_outcomes.push("applied");
        }
    }
    let outcomes: Vec<String> =
        request_ids.iter().map(|&id| s.response(id)["result"]["outcome"].as_str().unwrap().to_string()).collect();
    assert_eq!(outcomes, expected_outcomes);
    assert!(expected_outcomes.iter().filter(|o| **o == "rejected").count() > 20, "the test must exercise conflicts");
    assert_eq!(f.registry_paths(), model);
    for (id, path) in &model {
        let a = s.call("packer/getAsset", json!({"projectId": pid, "assetId": id}));
        assert_eq!(a["asset"]["path"], json!(path));
    }
    // Operations started in the order sent: their `queued` events are in request order.
    let queued: Vec<String> = s
        .events()
        .iter()
        .filter(|e| e["kind"] == "queued")
        .map(|e| e["operationId"].as_str().unwrap().to_string())
        .collect();
    let answered: Vec<String> =
        request_ids.iter().map(|&id| s.response(id)["result"]["operationId"].as_str().unwrap().to_string()).collect();
    assert_eq!(&queued[queued.len() - 200..], &answered[..]);
}
