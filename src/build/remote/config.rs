//! Where the shared cache is and who we are to it: `[cache.remote]` from
//! `packer.toml`, completed by the environment and the user's credential
//! files. Credentials never come from `packer.toml` (it is committed).
//!
//! Everything is read through an [`Env`], so that resolution is tested
//! without touching the process's environment or the user's home.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::project::format::manifest::{RemoteMode, RemoteSettings};

/// Defaults: short, so that a remote that does not answer costs little
/// (object_store's own defaults wait minutes).
pub const DEFAULT_CONNECT_TIMEOUT_MS: u64 = 2_000;
pub const DEFAULT_REQUEST_TIMEOUT_MS: u64 = 10_000;
/// Requests in flight by default. Many: a request to a storage service
/// costs tens of milliseconds of waiting (measured on s3s-fs: 10,000
/// entries took 16 s at 32 in flight, 4.5 s at 128; against nginx, which
/// answers at once, 128 cost no more than 32).
pub const DEFAULT_REQUESTS_IN_FLIGHT: usize = 128;

/// The environment variable that overrides `mode` (CI sets `read-write`).
pub const MODE_VAR: &str = "STUDIO_PACKER_CACHE_MODE";
pub const USERNAME_VAR: &str = "STUDIO_PACKER_CACHE_USERNAME";
pub const PASSWORD_VAR: &str = "STUDIO_PACKER_CACHE_PASSWORD";

/// The process environment, or a stand-in in tests.
pub trait Env {
    fn var(&self, name: &str) -> Option<String>;
}

/// The real environment.
pub struct ProcessEnv;

impl Env for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok().filter(|v| !v.is_empty())
    }
}

/// Who the packer is to the remote, and where that came from (said in
/// warnings; the secret never is).
#[derive(Clone, PartialEq, Eq)]
pub enum Credentials {
    /// No credentials found: requests are sent unsigned / without a user.
    None,
    /// S3 access keys.
    Keys { access_key_id: String, secret_access_key: String, session_token: Option<String> },
    /// S3 through AWS's own providers for web identity and containers
    /// (EC2 instance metadata is not asked: on any other machine that costs
    /// a timeout on every build).
    AwsProviders,
    /// HTTP basic authentication.
    Basic { username: String, password: String },
}

impl std::fmt::Debug for Credentials {
    // Never prints a secret, even in a log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credentials::None => write!(f, "None"),
            Credentials::Keys { access_key_id, .. } => write!(f, "Keys({access_key_id}, ***)"),
            Credentials::AwsProviders => write!(f, "AwsProviders"),
            Credentials::Basic { username, .. } => write!(f, "Basic({username}, ***)"),
        }
    }
}

/// Which backend the URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    S3,
    Http,
}

/// Everything needed to talk to the remote, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    pub url: String,
    pub backend: Backend,
    pub mode: RemoteMode,
    /// S3 only: the endpoint of a service other than AWS.
    pub endpoint: Option<String>,
    pub region: Option<String>,
    pub allow_http: bool,
    pub connect_timeout: Duration,
    pub request_timeout: Duration,
    pub requests_in_flight: usize,
    pub credentials: Credentials,
    /// Where the credentials came from, e.g. `environment (AWS_ACCESS_KEY_ID)`.
    pub credential_source: String,
}

impl Resolved {
    /// `s3://bucket/prefix` split into the bucket and the key prefix.
    pub fn bucket_and_prefix(&self) -> (&str, &str) {
        let rest = self.url.split_once("://").map_or("", |(_, r)| r);
        rest.split_once('/').unwrap_or((rest, ""))
    }
}

/// `[cache.remote]` resolved against the environment: `None` when there
/// is no remote or its mode is `off`. The warnings say what was refused
/// or ignored (a credentials file others can read, an unknown mode).
pub fn resolve(settings: Option<&RemoteSettings>, env: &dyn Env) -> (Option<Resolved>, Vec<String>) {
    let mut warnings = Vec::new();
    let mode = mode(settings, env, &mut warnings);
    let Some(s) = settings.filter(|_| mode != RemoteMode::Off) else { return (None, warnings) };
    let backend = if s.url.starts_with("s3://") { Backend::S3 } else { Backend::Http };
    let connect_timeout = Duration::from_millis(s.connect_timeout_ms.unwrap_or(DEFAULT_CONNECT_TIMEOUT_MS));
    let request_timeout = Duration::from_millis(s.request_timeout_ms.unwrap_or(DEFAULT_REQUEST_TIMEOUT_MS));
    let (endpoint, region, allow_http, credentials, credential_source) = match backend {
        Backend::S3 => {
            let endpoint = s.endpoint.clone().or_else(|| env.var("AWS_ENDPOINT_URL"));
            let profile = env.var("AWS_PROFILE").unwrap_or_else(|| "default".into());
            let region = s
                .region
                .clone()
                .or_else(|| env.var("AWS_REGION"))
                .or_else(|| env.var("AWS_DEFAULT_REGION"))
                .or_else(|| aws_config_region(env, &profile));
            let allow_http = env.var("AWS_ALLOW_HTTP").is_some_and(|v| v.eq_ignore_ascii_case("true"))
                || endpoint.as_deref().is_some_and(|e| e.starts_with("http://"));
            let (credentials, source) = aws_credentials(env, &profile, &mut warnings);
            (endpoint, region, allow_http, credentials, source)
        }
        Backend::Http => {
            let (credentials, source) = http_credentials(env, &s.url, &mut warnings);
            (None, None, s.url.starts_with("http://"), credentials, source)
        }
    };
    let resolved = Resolved {
        url: s.url.clone(),
        backend,
        mode,
        endpoint,
        region,
        allow_http,
        connect_timeout,
        request_timeout,
        requests_in_flight: s.requests_in_flight.unwrap_or(DEFAULT_REQUESTS_IN_FLIGHT),
        credentials,
        credential_source,
    };
    (Some(resolved), warnings)
}

/// The mode a build uses: `packer.toml`'s, unless the environment says
/// otherwise; `off` when there is no remote.
pub fn mode(settings: Option<&RemoteSettings>, env: &dyn Env, warnings: &mut Vec<String>) -> RemoteMode {
    let Some(s) = settings else { return RemoteMode::Off };
    match env.var(MODE_VAR) {
        None => s.mode,
        Some(value) => RemoteMode::parse(value.trim()).unwrap_or_else(|| {
            warnings.push(format!(
                "{MODE_VAR}={value:?} is not a cache mode (read, read-write or off); using `{}` from packer.toml",
                s.mode.as_str()
            ));
            s.mode
        }),
    }
}

fn home(env: &dyn Env) -> Option<PathBuf> {
    env.var("HOME").map(PathBuf::from)
}

/// Access keys from the environment, then the profile in the shared
/// credentials file, then AWS's own providers.
fn aws_credentials(env: &dyn Env, profile: &str, warnings: &mut Vec<String>) -> (Credentials, String) {
    if let (Some(id), Some(secret)) = (env.var("AWS_ACCESS_KEY_ID"), env.var("AWS_SECRET_ACCESS_KEY")) {
        let keys = Credentials::Keys {
            access_key_id: id,
            secret_access_key: secret,
            session_token: env.var("AWS_SESSION_TOKEN"),
        };
        return (keys, "environment (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY)".into());
    }
    let file = env
        .var("AWS_SHARED_CREDENTIALS_FILE")
        .map(PathBuf::from)
        .or_else(|| home(env).map(|h| h.join(".aws/credentials")));
    if let Some(file) = file {
        match std::fs::read_to_string(&file) {
            Ok(text) => {
                let section = ini_section(&text, profile);
                let get = |k: &str| section.iter().find(|(key, _)| key == k).map(|(_, v)| v.clone());
                if let (Some(id), Some(secret)) = (get("aws_access_key_id"), get("aws_secret_access_key")) {
                    let keys = Credentials::Keys {
                        access_key_id: id,
                        secret_access_key: secret,
                        session_token: get("aws_session_token"),
                    };
                    return (keys, format!("profile `{profile}` in {}", file.display()));
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => warnings.push(format!("cannot read {}: {e}", file.display())),
        }
    }
    if ["AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI"]
        .iter()
        .any(|v| env.var(v).is_some())
    {
        return (Credentials::AwsProviders, "AWS web identity or container credentials".into());
    }
    (Credentials::None, "none (unsigned requests: no AWS_ACCESS_KEY_ID and no profile)".into())
}

/// The region of the profile in `~/.aws/config` (`[default]` or `[profile name]`).
fn aws_config_region(env: &dyn Env, profile: &str) -> Option<String> {
    let file = env.var("AWS_CONFIG_FILE").map(PathBuf::from).or_else(|| home(env).map(|h| h.join(".aws/config")))?;
    let text = std::fs::read_to_string(file).ok()?;
    let name = if profile == "default" { "default".to_string() } else { format!("profile {profile}") };
    ini_section(&text, &name).into_iter().find(|(k, _)| k == "region").map(|(_, v)| v)
}

/// The `key = value` lines of one `[section]` of an AWS-style INI file
/// (comments start with `#` or `;`).
fn ini_section(text: &str, section: &str) -> Vec<(String, String)> {
    let mut inside = false;
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            inside = name.trim() == section;
            continue;
        }
        if inside {
            if let Some((k, v)) = line.split_once('=') {
                out.push((k.trim().to_string(), v.trim().to_string()));
            }
        }
    }
    out
}

/// The user's credentials file for HTTP caches:
/// `$XDG_CONFIG_HOME/studio-packer/credentials.toml` (or under `~/.config`).
pub fn credentials_file(env: &dyn Env) -> Option<PathBuf> {
    let base = env.var("XDG_CONFIG_HOME").map(PathBuf::from).or_else(|| home(env).map(|h| h.join(".config")))?;
    Some(base.join("studio-packer").join("credentials.toml"))
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct CredentialsFile {
    #[serde(default)]
    remote: Vec<FileEntry>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct FileEntry {
    url: String,
    username: String,
    password: String,
}

/// Basic credentials from the environment, then from the user's
/// credentials file (the entry whose `url` is the longest prefix of the
/// cache's), which is refused unless only its owner can read it.
fn http_credentials(env: &dyn Env, url: &str, warnings: &mut Vec<String>) -> (Credentials, String) {
    if let Some(username) = env.var(USERNAME_VAR) {
        let password = env.var(PASSWORD_VAR).unwrap_or_default();
        return (Credentials::Basic { username, password }, format!("environment ({USERNAME_VAR})"));
    }
    let none = || (Credentials::None, "none (anonymous requests)".to_string());
    let Some(file) = credentials_file(env) else { return none() };
    match read_private(&file) {
        Ok(None) => none(),
        Ok(Some(text)) => match toml::from_str::<CredentialsFile>(&text) {
            Ok(parsed) => {
                let best = parsed
                    .remote
                    .into_iter()
                    .filter(|e| {
                        let prefix = e.url.trim_end_matches('/');
                        url == prefix || url.strip_prefix(prefix).is_some_and(|rest| rest.starts_with('/'))
                    })
                    .max_by_key(|e| e.url.trim_end_matches('/').len());
                match best {
                    Some(e) => {
                        let source = format!("{} (user `{}`)", file.display(), e.username);
                        (Credentials::Basic { username: e.username, password: e.password }, source)
                    }
                    None => none(),
                }
            }
            // Not the parser's message: it may quote a password.
            Err(e) => {
                let line = e.span().map_or(1, |s| text[..s.start.min(text.len())].matches('\n').count() + 1);
                warnings.push(format!(
                    "{}:{line}: not a credentials file ([[remote]] tables of url, username and password); not used",
                    file.display()
                ));
                none()
            }
        },
        Err(why) => {
            warnings.push(why);
            none()
        }
    }
}

/// A file's text, refused (with the reason) when anyone but its owner may
/// read or write it; `Ok(None)` when it does not exist.
fn read_private(path: &Path) -> Result<Option<String>, String> {
    use std::os::unix::fs::MetadataExt;
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
    };
    if meta.mode() & 0o077 != 0 {
        return Err(format!(
            "{} is not used: others may read it (mode {:o}); make it private with `chmod 600`",
            path.display(),
            meta.mode() & 0o777
        ));
    }
    std::fs::read_to_string(path).map(Some).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use std::os::unix::fs::PermissionsExt;

    struct Vars(HashMap<&'static str, String>);

    impl Env for Vars {
        fn var(&self, name: &str) -> Option<String> {
            self.0.get(name).cloned()
        }
    }

    fn settings(url: &str) -> RemoteSettings {
        RemoteSettings {
            url: url.into(),
            mode: RemoteMode::Read,
            endpoint: None,
            region: None,
            connect_timeout_ms: None,
            request_timeout_ms: Some(750),
            requests_in_flight: None,
        }
    }

    #[test]
    fn the_environment_overrides_mode_and_fills_what_packer_toml_leaves_out() {
        let home = tempfile::tempdir().unwrap();
        let mut vars = HashMap::from([("HOME", home.path().display().to_string())]);
        let s = settings("s3://bucket/team/cache");
        let (r, w) = resolve(Some(&s), &Vars(vars.clone()));
        let r = r.unwrap();
        assert!(w.is_empty(), "{w:?}");
        assert_eq!(
            (r.mode, r.backend, r.bucket_and_prefix()),
            (RemoteMode::Read, Backend::S3, ("bucket", "team/cache"))
        );
        assert_eq!((r.connect_timeout, r.request_timeout), (Duration::from_secs(2), Duration::from_millis(750)));
        assert_eq!(r.credentials, Credentials::None);

        vars.insert(MODE_VAR, "read-write".into());
        vars.insert("AWS_ENDPOINT_URL", "http://127.0.0.1:8014".into());
        vars.insert("AWS_REGION", "eu-west-3".into());
        vars.insert("AWS_ACCESS_KEY_ID", "KEY".into());
        vars.insert("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI".into());
        let r = resolve(Some(&s), &Vars(vars.clone())).0.unwrap();
        assert_eq!(r.mode, RemoteMode::ReadWrite);
        assert_eq!(r.endpoint.as_deref(), Some("http://127.0.0.1:8014"));
        assert!(r.allow_http);
        assert_eq!(r.region.as_deref(), Some("eu-west-3"));
        assert!(matches!(r.credentials, Credentials::Keys { ref access_key_id, .. } if access_key_id == "KEY"));
        assert!(!format!("{r:?}").contains("wJalrXUtnFEMI"), "a secret in {r:?}");

        vars.insert(MODE_VAR, "off".into());
        assert_eq!(resolve(Some(&s), &Vars(vars.clone())).0, None);
        vars.insert(MODE_VAR, "write".into());
        let (r, w) = resolve(Some(&s), &Vars(vars));
        assert_eq!(r.unwrap().mode, RemoteMode::Read);
        assert!(w[0].contains("STUDIO_PACKER_CACHE_MODE"), "{w:?}");
    }

    #[test]
    fn s3_credentials_and_region_come_from_the_profile_files() {
        let home = tempfile::tempdir().unwrap();
        std::fs::create_dir(home.path().join(".aws")).unwrap();
        std::fs::write(
            home.path().join(".aws/credentials"),
            "[default]\naws_access_key_id = D\naws_secret_access_key = DS\n\n# ci\n[ci]\naws_access_key_id = C\naws_secret_access_key = CS\n",
        )
        .unwrap();
        std::fs::write(home.path().join(".aws/config"), "[profile ci]\nregion = ap-south-1\n").unwrap();
        let vars = HashMap::from([("HOME", home.path().display().to_string()), ("AWS_PROFILE", "ci".to_string())]);
        let r = resolve(Some(&settings("s3://b")), &Vars(vars)).0.unwrap();
        assert!(matches!(r.credentials, Credentials::Keys { ref access_key_id, .. } if access_key_id == "C"));
        assert!(r.credential_source.starts_with("profile `ci` in "), "{}", r.credential_source);
        assert_eq!(r.region.as_deref(), Some("ap-south-1"));
        assert_eq!(r.bucket_and_prefix(), ("b", ""));
    }

    #[test]
    fn http_credentials_come_from_the_environment_or_a_private_file() {
        let home = tempfile::tempdir().unwrap();
        let s = settings("https://cache.example/packer/team");
        let mut vars = HashMap::from([("XDG_CONFIG_HOME", home.path().display().to_string())]);
        let dir = home.path().join("studio-packer");
        std::fs::create_dir(&dir).unwrap();
        let file = dir.join("credentials.toml");
        std::fs::write(
            &file,
            "[[remote]]\nurl = \"https://cache.example\"\nusername = \"wide\"\npassword = \"p1\"\n\n[[remote]]\nurl = \"https://cache.example/packer/\"\nusername = \"narrow\"\npassword = \"p2\"\n\n[[remote]]\nurl = \"https://cache.example/pack\"\nusername = \"not-a-folder-prefix\"\npassword = \"p3\"\n",
        )
        .unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        let (r, w) = resolve(Some(&s), &Vars(vars.clone()));
        assert_eq!(r.unwrap().credentials, Credentials::None);
        assert!(w[0].contains("chmod 600") && w[0].contains("credentials.toml"), "{w:?}");

        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
        let (r, w) = resolve(Some(&s), &Vars(vars.clone()));
        let r = r.unwrap();
        assert!(w.is_empty(), "{w:?}");
        assert_eq!(r.credentials, Credentials::Basic { username: "narrow".into(), password: "p2".into() });
        // Exact: the temporary folder's random name may itself contain "p2".
        assert_eq!(r.credential_source, format!("{} (user `narrow`)", file.display()));

        std::fs::write(&file, "[[remote]]\nurl = \"https://cache.example\"\nusername = \"x\"\npassword = 12345678\n")
            .unwrap();
        let (_, w) = resolve(Some(&s), &Vars(vars.clone()));
        assert!(w[0].ends_with("credentials.toml:4: not a credentials file ([[remote]] tables of url, username and password); not used"), "{w:?}");
        assert!(!w[0].contains("12345678"));

        vars.insert(USERNAME_VAR, "ci".into());
        vars.insert(PASSWORD_VAR, "s3cret".into());
        let r = resolve(Some(&s), &Vars(vars)).0.unwrap();
        assert_eq!(r.credentials, Credentials::Basic { username: "ci".into(), password: "s3cret".into() });
        assert_eq!(r.credential_source, "environment (STUDIO_PACKER_CACHE_USERNAME)");
    }
}
