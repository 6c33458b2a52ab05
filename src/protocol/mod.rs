//! The protocol's one model. Here: the method table and the typed params of
//! every request, decoded from the wire with the path of any bad field
//! reported (`mutation.assetId`), so that a client is told exactly what to
//! fix. [`model`] has every result, [`events`] every event kind, and
//! [`meta`] puts them together as data, from which the schemas, the
//! TypeScript types and the Python client are generated.

pub mod events;
pub mod meta;
pub mod model;

use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;

use crate::limits;
use crate::project::model::{Kind, Status};
use crate::project::write::mutation::Mutation;
use crate::transport::{Id, RpcError};

/// The protocol version in `initialize`'s `capabilities.experimental.packer`.
pub const PROTOCOL_VERSION: u32 = 1;

/// One method of the protocol, as data. Everything that depends on what a
/// method is (whether it enters a lane, whether it can be cancelled, where
/// a read runs, what `initialize` declares, the README's method list) is
/// read from [`METHODS`], so that adding a method is one row here and one
/// arm in [`Request::decode`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Method {
    pub name: &'static str,
    /// Commit-bearing: put into the project's lane by the reader, in arrival
    /// order, as an operation with events. Every other method is a read.
    pub lane: bool,
    /// A read that touches the disk (or another process): answered on the
    /// blocking pool rather than the runtime's workers.
    pub touches_disk: bool,
}

impl Method {
    /// Lane methods are operations, and operations can be cancelled
    /// (`$/cancelRequest`, `packer/cancel`).
    pub fn cancellable(&self) -> bool {
        self.lane
    }
}

const fn read(name: &'static str, touches_disk: bool) -> Method {
    Method { name, lane: false, touches_disk }
}

const fn lane(name: &'static str) -> Method {
    Method { name, lane: true, touches_disk: true }
}

/// Requests the server answers besides `initialize` and `shutdown`, in the
/// order `protocol/README.md` documents them (test-only ones excluded).
pub const METHODS: &[Method] = &[
    read("packer/openProject", true),
    read("packer/closeProject", true),
    read("packer/listProjects", true),
    read("packer/summary", false),
    read("packer/listAssets", false),
    read("packer/getAsset", true),
    read("packer/references", false),
    read("packer/thumbnail", true),
    read("packer/diagnostics", false),
    read("packer/divergence", false),
    read("packer/previewMutation", true),
    lane("packer/applyMutation"),
    lane("packer/build"),
    read("packer/cacheStats", true),
    lane("packer/pruneCache"),
    read("packer/operations", false),
    read("packer/cancel", true),
    read("packer/replayEvents", true),
    read("packer/beginExternalChange", true),
    read("packer/endExternalChange", true),
];

/// Test builds only: methods the tests use, never declared.
#[cfg(feature = "test-hooks")]
const TEST_METHODS: &[Method] = &[read("packer/testBreakWatch", false)];

/// The method called `name`, if the server has it.
pub fn method(name: &str) -> Option<&'static Method> {
    let found = METHODS.iter().find(|m| m.name == name);
    #[cfg(feature = "test-hooks")]
    let found = found.or_else(|| TEST_METHODS.iter().find(|m| m.name == name));
    found
}

/// The names of [`METHODS`].
pub fn method_names() -> Vec<&'static str> {
    METHODS.iter().map(|m| m.name).collect()
}

/// Notifications the server sends.
pub const NOTIFICATIONS: &[&str] = &["packer/event", "packer/eventsDropped", "$/progress"];

/// Every `kind` of `packer/event` the server sends: operation events, then
/// state events (one variant of [`events::EventBody`] each).
pub const EVENT_KINDS: &[&str] = events::EventBody::KINDS;

/// Decodes params, naming the offending field on error.
pub fn decode<T: DeserializeOwned>(params: Option<&RawValue>) -> Result<T, RpcError> {
    let text = params.map_or("{}", |p| if p.get() == "null" { "{}" } else { p.get() });
    if !text.trim_start().starts_with('{') {
        return Err(RpcError::invalid_params("params", "invalid params: `params` must be an object"));
    }
    let mut de = serde_json::Deserializer::from_str(text);
    let budget = limits::Budget::start();
    serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.inner().to_string();
        // serde reports a missing field at its parent: name the field itself.
        // (An unknown field is already the last segment of the path.)
        let missing = inner.strip_prefix("missing field `").and_then(|rest| rest.split('`').next());
        let path = path.trim_end_matches('.');
        let field = match (missing, path) {
            (Some(f), "") => f.to_string(),
            (Some(f), parent) => format!("{parent}.{f}"),
            // The object itself is at fault (or a key that is empty).
            (None, "") => "params".to_string(),
            (None, p) => p.to_string(),
        };
        let error = RpcError::invalid_params(&field, format!("invalid params: `{field}`: {inner}"));
        match budget.exceeded() {
            // The limit itself, so that a client can split the request.
            Some(limit) => error.with_data(serde_json::json!({ "field": field, "limit": limit })),
            None => error,
        }
    })
}

/// A request with its params decoded for its method: the one place where
/// every method's params are read from the wire (the fuzz target
/// `params` drives exactly this).
#[derive(Debug)]
pub enum Request {
    OpenProject(OpenProjectParams),
    CloseProject(ProjectParams),
    ListProjects,
    Summary(ProjectParams),
    ListAssets(ListAssetsParams),
    GetAsset(GetAssetParams),
    References(ReferencesParams),
    Thumbnail(ThumbnailParams),
    Diagnostics(DiagnosticsParams),
    Divergence(ProjectParams),
    PreviewMutation(PreviewParams),
    ApplyMutation(ApplyParams),
    Build(BuildParams),
    CacheStats(ProjectParams),
    PruneCache(PruneCacheParams),
    Operations(ProjectParams),
    Cancel(CancelParams),
    ReplayEvents(ReplayParams),
    BeginExternalChange(BeginExternalChangeParams),
    EndExternalChange(EndExternalChangeParams),
    #[cfg(feature = "test-hooks")]
    TestBreakWatch(TestBreakWatchParams),
}

impl Request {
    /// Decodes `params` for `method`: -32601 for a method that does not
    /// exist, -32602 naming the field for params that do not fit.
    pub fn decode(method: &str, params: Option<&RawValue>) -> Result<Request, RpcError> {
        Ok(match method {
            "packer/openProject" => Request::OpenProject(decode(params)?),
            "packer/closeProject" => Request::CloseProject(decode(params)?),
            "packer/listProjects" => {
                let _: Empty = decode(params)?;
                Request::ListProjects
            }
            "packer/summary" => Request::Summary(decode(params)?),
            "packer/listAssets" => Request::ListAssets(decode(params)?),
            "packer/getAsset" => Request::GetAsset(decode(params)?),
            "packer/references" => Request::References(decode(params)?),
            "packer/thumbnail" => Request::Thumbnail(decode(params)?),
            "packer/diagnostics" => Request::Diagnostics(decode(params)?),
            "packer/divergence" => Request::Divergence(decode(params)?),
            "packer/previewMutation" => Request::PreviewMutation(decode(params)?),
            "packer/applyMutation" => Request::ApplyMutation(decode(params)?),
            "packer/build" => Request::Build(decode(params)?),
            "packer/cacheStats" => Request::CacheStats(decode(params)?),
            "packer/pruneCache" => Request::PruneCache(decode(params)?),
            "packer/operations" => Request::Operations(decode(params)?),
            "packer/cancel" => Request::Cancel(decode(params)?),
            "packer/replayEvents" => Request::ReplayEvents(decode(params)?),
            "packer/beginExternalChange" => Request::BeginExternalChange(decode(params)?),
            "packer/endExternalChange" => Request::EndExternalChange(decode(params)?),
            #[cfg(feature = "test-hooks")]
            "packer/testBreakWatch" => Request::TestBreakWatch(decode(params)?),
            _ => {
                return Err(RpcError::new(
                    crate::transport::message::code::METHOD_NOT_FOUND,
                    format!("unknown method `{method}`"),
                ))
            }
        })
    }

    /// Commit-bearing requests go through the project's lane; all others
    /// are reads answered from a snapshot.
    pub fn is_commit_bearing(&self) -> bool {
        self.spec().lane
    }

    /// Reads that do file I/O (or may ask another process) run on the
    /// blocking pool, not on the runtime's workers.
    pub fn touches_disk(&self) -> bool {
        self.spec().touches_disk
    }

    /// The method's row of the table.
    fn spec(&self) -> &'static Method {
        method(self.method()).expect("every request's method is in the table")
    }

    /// The method this request was decoded for.
    pub fn method(&self) -> &'static str {
        match self {
            Request::OpenProject(_) => "packer/openProject",
            Request::CloseProject(_) => "packer/closeProject",
            Request::ListProjects => "packer/listProjects",
            Request::Summary(_) => "packer/summary",
            Request::ListAssets(_) => "packer/listAssets",
            Request::GetAsset(_) => "packer/getAsset",
            Request::References(_) => "packer/references",
            Request::Thumbnail(_) => "packer/thumbnail",
            Request::Diagnostics(_) => "packer/diagnostics",
            Request::Divergence(_) => "packer/divergence",
            Request::PreviewMutation(_) => "packer/previewMutation",
            Request::ApplyMutation(_) => "packer/applyMutation",
            Request::Build(_) => "packer/build",
            Request::CacheStats(_) => "packer/cacheStats",
            Request::PruneCache(_) => "packer/pruneCache",
            Request::Operations(_) => "packer/operations",
            Request::Cancel(_) => "packer/cancel",
            Request::ReplayEvents(_) => "packer/replayEvents",
            Request::BeginExternalChange(_) => "packer/beginExternalChange",
            Request::EndExternalChange(_) => "packer/endExternalChange",
            #[cfg(feature = "test-hooks")]
            Request::TestBreakWatch(_) => "packer/testBreakWatch",
        }
    }
}

/// [`Request::is_commit_bearing`] by method name, for a request forwarded
/// to another process before its params are decoded.
pub fn is_commit_bearing_method(name: &str) -> bool {
    method(name).is_some_and(|m| m.lane)
}

/// `packer/thumbnail`: a picture of an image as a target's GPU shows it.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ThumbnailParams {
    #[serde(deserialize_with = "limits::name")]
    pub project_id: String,
    #[serde(deserialize_with = "limits::name")]
    pub asset_id: String,
    /// The longest side wanted, in pixels (1 to 1024).
    #[schemars(range(min = 1, max = 1024))]
    pub size: u32,
    /// A `name` of `[[build.targets]]`; the first declared target when absent.
    #[serde(default, deserialize_with = "limits::opt_name")]
    pub target: Option<String>,
}

/// `packer/beginExternalChange`: a source-control operation begins.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BeginExternalChangeParams {
    #[serde(deserialize_with = "limits::name")]
    pub project_id: String,
    /// For people: what is changing the files (`git checkout feature`).
    #[serde(deserialize_with = "limits::text")]
    pub reason: String,
    /// How long the change may stay open (default 300,000; at most 3,600,000).
    pub timeout_ms: Option<u64>,
}

/// `packer/endExternalChange`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EndExternalChangeParams {
    #[serde(deserialize_with = "limits::name")]
    pub change_id: String,
}

/// `packer/testBreakWatch` (test builds only).
#[cfg(feature = "test-hooks")]
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TestBreakWatchParams {
    #[serde(deserialize_with = "limits::name")]
    pub project_id: String,
    pub hold_ms: u64,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OpenProjectParams {
    #[serde(deserialize_with = "limits::path")]
    pub root: String,
    #[serde(default)]
    pub create: bool,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProjectParams {
    #[serde(deserialize_with = "limits::name")]
    pub project_id: String,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Empty {}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AssetFilter {
    pub kind: Option<Kind>,
    #[serde(default, deserialize_with = "limits::opt_path")]
    pub path_prefix: Option<String>,
    #[serde(default, deserialize_with = "limits::opt_name")]
    pub tag: Option<String>,
    pub status: Option<Status>,
    #[serde(default, deserialize_with = "limits::opt_path")]
    pub text: Option<String>,
    /// `true`: only assets no other asset names; `false`: only assets some other names.
    pub unused: Option<bool>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ListAssetsParams {
    #[serde(deserialize_with = "limits::name")]
    pub project_id: String,
    #[serde(default)]
    pub filter: AssetFilter,
    #[serde(default, deserialize_with = "limits::opt_text")]
    pub cursor: Option<String>,
    pub limit: Option<usize>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GetAssetParams {
    #[serde(deserialize_with = "limits::name")]
    pub project_id: String,
    #[serde(deserialize_with = "limits::name")]
    pub asset_id: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReferencesParams {
    #[serde(deserialize_with = "limits::name")]
    pub project_id: String,
    #[serde(deserialize_with = "limits::name")]
    pub asset_id: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DiagnosticsParams {
    #[serde(deserialize_with = "limits::name")]
    pub project_id: String,
    #[serde(default, deserialize_with = "limits::opt_name")]
    pub asset_id: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PreviewParams {
    #[serde(deserialize_with = "limits::name")]
    pub project_id: String,
    pub mutation: Mutation,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ApplyParams {
    #[serde(deserialize_with = "limits::name")]
    pub project_id: String,
    pub mutation: Mutation,
    pub expected_generation: Option<u64>,
    pub work_done_token: Option<ProgressToken>,
    /// A fresh id chosen by the client, so that it can follow the operation
    /// before the response arrives (attached processes always set one).
    #[serde(default, deserialize_with = "limits::opt_name")]
    pub operation_id: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BuildParams {
    #[serde(deserialize_with = "limits::name")]
    pub project_id: String,
    pub work_done_token: Option<ProgressToken>,
    /// Ignore the processing cache: process every asset again.
    #[serde(default)]
    pub clean: bool,
    /// Build only this target (a `name` of `[[build.targets]]`); every
    /// declared target, in order, when absent.
    #[serde(default, deserialize_with = "limits::opt_name")]
    pub target: Option<String>,
    #[serde(default, deserialize_with = "limits::opt_name")]
    pub operation_id: Option<String>,
}

/// `packer/pruneCache`: evict the least recently used entries of the
/// project's processing cache until it takes at most `maxSize` bytes
/// (default: `[cache] max_size`).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PruneCacheParams {
    #[serde(deserialize_with = "limits::name")]
    pub project_id: String,
    pub max_size: Option<u64>,
    pub work_done_token: Option<ProgressToken>,
    #[serde(default, deserialize_with = "limits::opt_name")]
    pub operation_id: Option<String>,
}

/// The `projectId` of a request's params, without decoding the rest.
pub fn peek_project_id(params: &RawValue) -> Option<String> {
    #[derive(Deserialize)]
    struct Peek {
        #[serde(rename = "projectId")]
        project_id: Option<String>,
    }
    serde_json::from_str::<Peek>(params.get()).ok()?.project_id
}

/// LSP's progress token: an integer or a string. Every `$/progress`
/// message repeats it, so a string token is bounded like an id.
#[derive(Debug, Clone)]
pub enum ProgressToken {
    Num(i64),
    Str(String),
}

impl<'de> Deserialize<'de> for ProgressToken {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = ProgressToken;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an integer or a string")
            }
            fn visit_i64<E>(self, n: i64) -> Result<ProgressToken, E> {
                Ok(ProgressToken::Num(n))
            }
            fn visit_u64<E: serde::de::Error>(self, n: u64) -> Result<ProgressToken, E> {
                let n = i64::try_from(n).map_err(|_| E::custom("a progress token must fit in 64 signed bits"))?;
                Ok(ProgressToken::Num(n))
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<ProgressToken, E> {
                limits::name(serde::de::value::StrDeserializer::<E>::new(s)).map(ProgressToken::Str)
            }
        }
        d.deserialize_any(V)
    }
}

impl JsonSchema for ProgressToken {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "ProgressToken".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "LSP's progress token: an integer or a string (at most 256 bytes).",
            "type": ["integer", "string"]
        })
    }
}

impl ProgressToken {
    pub fn to_value(&self) -> Value {
        match self {
            ProgressToken::Num(n) => Value::from(*n),
            ProgressToken::Str(s) => Value::from(s.clone()),
        }
    }
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CancelParams {
    #[serde(deserialize_with = "limits::name")]
    pub operation_id: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReplayParams {
    #[serde(deserialize_with = "limits::name")]
    pub project_id: String,
    #[serde(default)]
    pub after: u64,
    pub limit: Option<usize>,
}

/// `$/cancelRequest`: LSP's shape, other fields tolerated.
#[derive(Debug, serde::Deserialize)]
pub struct CancelRequestParams {
    pub id: Id,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field_of(method: &str, params: &str) -> String {
        let raw = serde_json::from_str::<Box<RawValue>>(params).unwrap();
        let e = Request::decode(method, Some(&raw)).unwrap_err();
        e.data.unwrap()["field"].as_str().unwrap().to_string()
    }

    #[test]
    fn the_method_table_and_the_decoder_agree() {
        for m in METHODS {
            let decoded = Request::decode(m.name, None);
            // Empty params may be refused, but never as an unknown method.
            if let Err(e) = &decoded {
                assert_eq!(e.code, crate::transport::message::code::INVALID_PARAMS, "{}", m.name);
            }
            if let Ok(request) = decoded {
                assert_eq!(request.method(), m.name);
                assert_eq!(request.is_commit_bearing(), m.lane);
            }
        }
        assert!(method("no/suchMethod").is_none());
        assert!(Request::decode("no/suchMethod", None).is_err_and(|e| e.code == -32601));
        let lanes: Vec<&str> = METHODS.iter().filter(|m| m.cancellable()).map(|m| m.name).collect();
        assert_eq!(lanes, ["packer/applyMutation", "packer/build", "packer/pruneCache"]);
    }

    #[test]
    fn every_declared_mutation_kind_decodes_and_an_unknown_one_does_not() {
        for kind in crate::project::write::mutation::KINDS {
            let params = format!(r#"{{"projectId":"p","mutation":{{"kind":"{kind}"}}}}"#);
            let raw = serde_json::from_str::<Box<RawValue>>(&params).unwrap();
            if let Err(e) = Request::decode("packer/previewMutation", Some(&raw)) {
                // A kind that needs fields is refused for them, not for its kind.
                assert_ne!(e.data.unwrap()["field"], "mutation.kind", "{kind}");
            }
        }
        assert_eq!(
            field_of("packer/previewMutation", r#"{"projectId":"p","mutation":{"kind":"rename"}}"#),
            "mutation.kind"
        );
    }

    #[test]
    fn unknown_and_empty_keys_are_named() {
        assert_eq!(field_of("packer/summary", r#"{"projectId":"p","bogus":1}"#), "bogus");
        assert_eq!(field_of("packer/openProject", r#"{"root":"/x","":true}"#), "params");
        assert_eq!(
            field_of(
                "packer/previewMutation",
                r#"{"projectId":"p","mutation":{"kind":"move","assetId":"a","to":"b","x":1}}"#
            ),
            "mutation.x"
        );
        assert_eq!(field_of("packer/listAssets", r#"{"projectId":"p","filter":{"size":1}}"#), "filter.size");
    }

    fn raw(s: &str) -> Box<RawValue> {
        RawValue::from_string(s.to_string()).unwrap()
    }

    #[test]
    fn missing_field_is_named() {
        let e = decode::<GetAssetParams>(Some(&raw(r#"{"projectId":"p"}"#))).unwrap_err();
        assert_eq!(e.data.unwrap()["field"], "assetId");
    }

    #[test]
    fn nested_wrong_type_is_named() {
        let e =
            decode::<PreviewParams>(Some(&raw(r#"{"projectId":"p","mutation":{"kind":"move","assetId":5,"to":"x"}}"#)))
                .unwrap_err();
        assert_eq!(e.data.unwrap()["field"], "mutation.assetId");
    }

    #[test]
    fn unknown_field_is_named() {
        let e = decode::<ProjectParams>(Some(&raw(r#"{"projectId":"p","bogus":1}"#))).unwrap_err();
        assert_eq!(e.data.unwrap()["field"], "bogus");
    }

    #[test]
    fn missing_field_inside_a_mutation_is_named() {
        let e = decode::<PreviewParams>(Some(&raw(r#"{"projectId":"p","mutation":{"kind":"move","to":"x"}}"#)))
            .unwrap_err();
        assert_eq!(e.data.unwrap()["field"], "mutation.assetId");
        let nested = r#"{"projectId":"p","mutation":{"kind":"batch","mutations":[{"kind":"delete","assetIds":[1]}]}}"#;
        let e = decode::<PreviewParams>(Some(&raw(nested))).unwrap_err();
        assert_eq!(e.data.unwrap()["field"], "mutation.mutations[0].assetIds[0]");
        let e = decode::<PreviewParams>(Some(&raw(r#"{"projectId":"p","mutation":{"kind":"mv"}}"#))).unwrap_err();
        assert_eq!(e.data.unwrap()["field"], "mutation.kind");
    }

    #[test]
    fn a_limit_names_the_list_and_the_limit() {
        // The move is the batch's first entry: the delete's ids get the rest of the budget.
        let ids = serde_json::to_string(&vec![""; crate::limits::MAX_ITEMS]).unwrap();
        let text = format!(
            r#"{{"projectId":"p","mutation":{{"kind":"batch","mutations":[{{"kind":"move","assetId":"a","to":"b"}},{{"kind":"delete","assetIds":{ids}}}]}}}}"#
        );
        let e = decode::<PreviewParams>(Some(&raw(&text))).unwrap_err();
        assert_eq!(e.data.unwrap(), serde_json::json!({"field": "mutation.mutations[1].assetIds", "limit": 100_000}));
        assert!(
            e.message.starts_with("invalid params: `mutation.mutations[1].assetIds`: more than 100000"),
            "{}",
            e.message
        );
        let long = "x".repeat(257);
        let e = decode::<ProjectParams>(Some(&raw(&format!(r#"{{"projectId":"{long}"}}"#)))).unwrap_err();
        assert_eq!(e.data.unwrap(), serde_json::json!({"field": "projectId", "limit": 256}));
        let e = decode::<ApplyParams>(Some(&raw(&format!(
            r#"{{"projectId":"p","mutation":{{"kind":"reconcile"}},"workDoneToken":"{long}"}}"#
        ))))
        .unwrap_err();
        assert_eq!(e.data.unwrap(), serde_json::json!({"field": "workDoneToken", "limit": 256}));
        // Errors that are not limits carry no `limit`.
        let e = decode::<ProjectParams>(Some(&raw(r#"{"projectId":5}"#))).unwrap_err();
        assert_eq!(e.data.unwrap(), serde_json::json!({"field": "projectId"}));
        let ok = r#"{"projectId":"p","mutation":{"kind":"reconcile"},"workDoneToken":7}"#;
        assert!(matches!(decode::<ApplyParams>(Some(&raw(ok))).unwrap().work_done_token, Some(ProgressToken::Num(7))));
    }

    #[test]
    fn absent_params_mean_empty_object() {
        let e = decode::<ProjectParams>(None).unwrap_err();
        assert_eq!(e.data.unwrap()["field"], "projectId");
        decode::<Empty>(None).unwrap();
    }
}
