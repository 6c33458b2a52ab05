//! The one small trait the shared cache needs of a storage service, and
//! its implementation over the `object_store` crate (S3 and HTTP/WebDAV).
//! Everything above it sees two operations and three kinds of failure.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::future::BoxFuture;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload};

use super::config::{Backend, Credentials, Resolved};

/// Why a request did not succeed. The messages never quote what the
/// service answered beyond a status and an error code: its text can echo a
/// token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreError {
    /// 401, or a 403 (or 400) that says the credentials are wrong or
    /// expired: a configuration error, not an outage.
    Refused(String),
    /// A 403 `AccessDenied`: these credentials may not touch this object.
    /// On S3 it is also what a missing object looks like to a reader who
    /// may not list the bucket.
    Denied(String),
    /// Anything else: down, slow, full, a 5xx, a connection cut.
    Failed(String),
}

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreError::Refused(m) | StoreError::Denied(m) | StoreError::Failed(m) => f.write_str(m),
        }
    }
}

/// A place to keep objects by name.
pub trait Store: Send + Sync + 'static {
    /// The object's bytes, `None` when there is none.
    fn get(&self, name: &str) -> BoxFuture<'_, Result<Option<Bytes>, StoreError>>;
    /// Stores an object whole (never visible half-written). Unless
    /// `overwrite`, an existing object is left as it is where the service
    /// honours that; where it does not, it is overwritten (callers store
    /// only bytes that are the same for the same name, except when they
    /// replace a damaged object, with `overwrite`).
    fn put(&self, name: &str, bytes: Bytes, overwrite: bool) -> BoxFuture<'_, Result<(), StoreError>>;
}

/// A [`Store`] over `object_store`.
pub struct ObjectStoreBackend {
    inner: Arc<dyn ObjectStore>,
    /// Prepended to every name (the part of an `s3://` URL after the bucket).
    prefix: String,
    /// Whether `put` asks the service to keep an existing object.
    create_only: bool,
}

/// Retries: one, and none once the request timeout has passed. A cache
/// that is slow to answer is not worth waiting for.
fn retry(resolved: &Resolved) -> object_store::RetryConfig {
    object_store::RetryConfig {
        backoff: object_store::BackoffConfig {
            init_backoff: Duration::from_millis(50),
            max_backoff: Duration::from_millis(500),
            base: 2.0,
        },
        max_retries: 1,
        retry_timeout: resolved.request_timeout,
    }
}

impl ObjectStoreBackend {
    pub fn open(resolved: &Resolved) -> Result<ObjectStoreBackend, String> {
        let mut options = object_store::ClientOptions::new()
            .with_connect_timeout(resolved.connect_timeout)
            .with_timeout(resolved.request_timeout)
            .with_allow_http(resolved.allow_http);
        match resolved.backend {
            Backend::S3 => {
                let (bucket, prefix) = resolved.bucket_and_prefix();
                let mut b = object_store::aws::AmazonS3Builder::new()
                    .with_bucket_name(bucket)
                    .with_region(resolved.region.clone().unwrap_or_else(|| "us-east-1".into()))
                    .with_allow_http(resolved.allow_http)
                    .with_retry(retry(resolved));
                if let Some(endpoint) = &resolved.endpoint {
                    b = b.with_endpoint(endpoint);
                }
                match &resolved.credentials {
                    Credentials::Keys { access_key_id, secret_access_key, session_token } => {
                        b = b.with_access_key_id(access_key_id).with_secret_access_key(secret_access_key);
                        if let Some(t) = session_token {
                            b = b.with_token(t);
                        }
                    }
                    Credentials::AwsProviders => {
                        // AWS's own providers read their environment variables.
                        for (key, value) in std::env::vars() {
                            if key.starts_with("AWS_WEB_IDENTITY")
                                || key.starts_with("AWS_ROLE")
                                || key.starts_with("AWS_CONTAINER")
                            {
                                if let Ok(k) = key.to_ascii_lowercase().parse() {
                                    b = b.with_config(k, value);
                                }
                            }
                        }
                    }
                    Credentials::None => b = b.with_skip_signature(true),
                    Credentials::Basic { .. } => return Err("basic credentials for an S3 cache".into()),
                }
                let store = b.with_client_options(options).build().map_err(|e| e.to_string())?;
                let prefix = if prefix.is_empty() { String::new() } else { format!("{prefix}/") };
                Ok(ObjectStoreBackend { inner: Arc::new(store), prefix, create_only: true })
            }
            Backend::Http => {
                if let Credentials::Basic { username, password } = &resolved.credentials {
                    use base64::Engine;
                    let token = base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"));
                    let mut value = http::HeaderValue::from_str(&format!("Basic {token}"))
                        .map_err(|_| "the cache credentials are not valid in an HTTP header".to_string())?;
                    value.set_sensitive(true);
                    let mut headers = http::HeaderMap::new();
                    headers.insert(http::header::AUTHORIZATION, value);
                    options = options.with_default_headers(headers);
                }
                let store = object_store::http::HttpBuilder::new()
                    .with_url(&resolved.url)
                    .with_client_options(options)
                    .with_retry(retry(resolved))
                    .build()
                    .map_err(|e| e.to_string())?;
                // Plain HTTP caches (nginx) ignore conditional writes.
                Ok(ObjectStoreBackend { inner: Arc::new(store), prefix: String::new(), create_only: false })
            }
        }
    }

    fn path(&self, name: &str) -> object_store::path::Path {
        object_store::path::Path::from(format!("{}{name}", self.prefix))
    }
}

/// S3 error codes that mean the credentials themselves are wrong.
const CREDENTIAL_CODES: &[&str] = &[
    "SignatureDoesNotMatch",
    "InvalidAccessKeyId",
    "ExpiredToken",
    "InvalidToken",
    "TokenRefreshRequired",
    "InvalidClientTokenId",
];

/// The `<Code>` of an S3 error body, when the text has one.
fn s3_code(text: &str) -> Option<&str> {
    let start = text.find("<Code>")? + "<Code>".len();
    let len = text[start..].find("</Code>")?;
    Some(&text[start..start + len]).filter(|c| c.len() <= 64 && c.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// An error's text without what the service sent back (an XML or JSON
/// body, which can echo a token), at most 300 characters.
fn sanitize(text: &str) -> String {
    let cut = text.find(['<', '{']).unwrap_or(text.len());
    let kept: String = text[..cut].chars().take(300).collect();
    kept.trim_end().trim_end_matches(':').to_string()
}

fn classify(e: object_store::Error) -> StoreError {
    let text = e.to_string();
    let code = s3_code(&text);
    let credentials = code.filter(|c| CREDENTIAL_CODES.contains(c));
    match (e, credentials) {
        (object_store::Error::Unauthenticated { .. }, _) => StoreError::Refused("401: not authenticated".into()),
        (_, Some(code)) => StoreError::Refused(format!("the service said {code}")),
        (object_store::Error::PermissionDenied { .. }, _) if code == Some("AccessDenied") => {
            StoreError::Denied("403: AccessDenied".into())
        }
        (object_store::Error::PermissionDenied { .. }, _) => StoreError::Refused("403: permission denied".into()),
        _ => StoreError::Failed(sanitize(&text)),
    }
}

impl Store for ObjectStoreBackend {
    fn get(&self, name: &str) -> BoxFuture<'_, Result<Option<Bytes>, StoreError>> {
        let path = self.path(name);
        Box::pin(async move {
            match self.inner.get(&path).await {
                Ok(r) => r.bytes().await.map(Some).map_err(classify),
                Err(object_store::Error::NotFound { .. }) => Ok(None),
                Err(e) => Err(classify(e)),
            }
        })
    }

    fn put(&self, name: &str, bytes: Bytes, overwrite: bool) -> BoxFuture<'_, Result<(), StoreError>> {
        let path = self.path(name);
        let create = self.create_only && !overwrite;
        let mode = if create { PutMode::Create } else { PutMode::Overwrite };
        Box::pin(async move {
            let opts = PutOptions { mode, ..Default::default() };
            match self.inner.put_opts(&path, PutPayload::from_bytes(bytes), opts).await {
                Ok(_) => Ok(()),
                // Someone stored it first: the same name holds the same bytes.
                // (Only for a conditional write: to a WebDAV server a 409
                // means a missing folder, a failure.)
                Err(object_store::Error::AlreadyExists { .. } | object_store::Error::Precondition { .. }) if create => {
                    Ok(())
                }
                Err(e) => Err(classify(e)),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_the_service_said_is_reduced_to_a_status_and_a_code() {
        let body = "Server returned non-2xx status code: 400 Bad Request: <?xml version=\"1.0\"?><Error><Code>ExpiredToken</Code><Token-0>FwoGZXIvYXdzEBYaD</Token-0></Error>";
        assert_eq!(s3_code(body), Some("ExpiredToken"));
        assert_eq!(sanitize(body), "Server returned non-2xx status code: 400 Bad Request");
        assert!(!sanitize("error {\"token\": \"abc\"}").contains("abc"));
        assert_eq!(s3_code("<Code>Not a code</Code>"), None);
        let generic = object_store::Error::Generic { store: "S3", source: body.into() };
        assert_eq!(classify(generic), StoreError::Refused("the service said ExpiredToken".into()));
        let denied = object_store::Error::PermissionDenied {
            path: "ac/x".into(),
            source: "403 Forbidden: <Error><Code>AccessDenied</Code></Error>".into(),
        };
        assert_eq!(classify(denied), StoreError::Denied("403: AccessDenied".into()));
        let signature = object_store::Error::PermissionDenied {
            path: "ac/x".into(),
            source: "403 Forbidden: <Error><Code>SignatureDoesNotMatch</Code></Error>".into(),
        };
        assert_eq!(classify(signature), StoreError::Refused("the service said SignatureDoesNotMatch".into()));
        let html = object_store::Error::PermissionDenied { path: "ac/x".into(), source: "403 <html>".into() };
        assert_eq!(classify(html), StoreError::Refused("403: permission denied".into()));
    }
}
