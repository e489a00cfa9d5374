//! The CLI's side of the hand-off: talks to a running daemon's admin endpoint (TCP or a
//! unix socket) with the admin token, submits a sync or resync and polls its cycle.

use std::time::Duration;

use hrsync_connectors::secret::Secret;
use serde_json::Value;

use crate::config::AdminListen as Listen;

/// How often a waiting CLI asks for the cycle's state.
const POLL: Duration = Duration::from_millis(200);

/// Why talking to the daemon failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The endpoint could not be reached or answered nonsense.
    #[error("admin endpoint {at}: {message}")]
    Transport {
        /// The endpoint.
        at: String,
        /// What went wrong (never the token).
        message: String,
    },
    /// The endpoint refused the request.
    #[error("admin endpoint {at} answered {status}: {body}")]
    Refused {
        /// The endpoint.
        at: String,
        /// The HTTP status.
        status: u16,
        /// What it said.
        body: String,
    },
}

/// A client of one admin endpoint.
pub struct AdminClient {
    http: reqwest::Client,
    base: String,
    at: String,
    token: Option<Secret>,
}

impl AdminClient {
    /// A client for the endpoint at `listen`, sending `token` on `/v1/*` requests.
    pub fn new(listen: &Listen, token: Option<Secret>) -> Result<AdminClient, ClientError> {
        let at = listen.to_string();
        let builder = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(2))
            .timeout(Duration::from_secs(30))
            .no_proxy();
        let (builder, base) = match listen {
            Listen::Tcp(addr) => (builder, format!("http://{addr}")),
            #[cfg(unix)]
            Listen::Unix(path) => (builder.unix_socket(path.as_path()), "http://hrsync".into()),
            #[cfg(not(unix))]
            Listen::Unix(_) => (builder, "http://unix-sockets-unsupported".into()),
        };
        let http = builder.build().map_err(|e| ClientError::Transport {
            at: at.clone(),
            message: e.to_string(),
        })?;
        Ok(AdminClient {
            http,
            base,
            at,
            token,
        })
    }

    /// The daemon's pid when one answers `/healthz` there, alive or stalled (quickly: the
    /// CLI must not hang on a stale address).
    pub async fn alive(&self) -> Option<u32> {
        let req = self
            .http
            .get(format!("{}/healthz", self.base))
            .timeout(Duration::from_secs(3));
        let resp = req.send().await.ok()?;
        let doc: Value = resp.json().await.ok()?;
        doc["pid"].as_u64().and_then(|p| u32::try_from(p).ok())
    }

    /// POSTs `body` to `path` (`/v1/sync`, `/v1/resync`) and returns the cycle id.
    pub async fn submit(&self, path: &str, body: &Value) -> Result<u64, ClientError> {
        let req = self.http.post(format!("{}{path}", self.base)).json(body);
        let doc = self.send(req).await?;
        doc["cycle"].as_u64().ok_or_else(|| ClientError::Transport {
            at: self.at.clone(),
            message: format!("no cycle id in the answer: {doc}"),
        })
    }

    /// Polls `/v1/cycles/{id}` until the cycle is done; returns its document.
    pub async fn wait(&self, id: u64) -> Result<Value, ClientError> {
        loop {
            let req = self.http.get(format!("{}/v1/cycles/{id}", self.base));
            let doc = self.send(req).await?;
            if doc["state"] == "done" {
                return Ok(doc);
            }
            tokio::time::sleep(POLL).await;
        }
    }

    async fn send(&self, req: reqwest::RequestBuilder) -> Result<Value, ClientError> {
        let req = match &self.token {
            Some(t) => req.bearer_auth(t.expose()),
            None => req,
        };
        let transport = |e: reqwest::Error| ClientError::Transport {
            at: self.at.clone(),
            message: e.without_url().to_string(),
        };
        let resp = req.send().await.map_err(transport)?;
        let status = resp.status();
        let text = resp.text().await.map_err(transport)?;
        if !status.is_success() {
            return Err(ClientError::Refused {
                at: self.at.clone(),
                status: status.as_u16(),
                body: text,
            });
        }
        serde_json::from_str(&text).map_err(|e| ClientError::Transport {
            at: self.at.clone(),
            message: format!("answer is not JSON: {e}"),
        })
    }
}
