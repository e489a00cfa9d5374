//! The SCIM 2.0 service provider behind `hrsync sandbox` and `demo`: a faithful RFC 7643/7644
//! server (SQLite-backed) that can also behave like a known app (its profile, read by
//! `imitation`) and misbehave
//! on purpose (`faults`), for rehearsals, integration tests and benchmarks.
//!
//! Layout: `service` (HTTP front and gates) → `ops` (operations) → `repo` (on the database
//! thread of `store`), with `filter`/`eval` (filters), `patch`, `resource` (shapes), `imitation` (the app profile's
//! facts as server behaviour),
//! `schema`/`discovery`, `list`, `bulk`, `faults`, `listener` (droppable connections), `stats`.
#![deny(
    clippy::unwrap_used,
    clippy::panic,
    clippy::todo,
    clippy::await_holding_lock
)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use sha2::{Digest, Sha256};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub mod bulk;
mod clock;
pub mod discovery;
pub mod error;
pub mod eval;
pub mod faults;
pub mod filter;
pub mod imitation;
pub mod list;
pub mod listener;
pub mod ops;
pub mod patch;
pub mod repo;
pub mod resource;
pub mod schema;
pub mod service;
pub mod stats;
pub mod store;

#[cfg(test)]
mod tests;

pub use faults::Faults;
pub use stats::RequestStats;

use listener::{ConnHandle, SandboxListener};
use ops::App;
use stats::Stats;
use store::{Store, StoreThread};

/// How to run a sandbox.
#[derive(Clone)]
pub struct SandboxOptions {
    /// Address to listen on (port 0 picks a free one).
    pub listen: SocketAddr,
    /// Bearer token clients must present; none means no authentication.
    pub token: Option<String>,
    /// SQLite file to keep data in across restarts; none means in memory.
    pub db: Option<PathBuf>,
    /// App profile: generic, slack, github, aws_identity_center, zoom, atlassian, salesforce, google.
    pub profile: String,
    /// Faults to inject.
    pub faults: Faults,
    /// Serve `/ServiceProviderConfig`, `/Schemas` and `/ResourceTypes` without the token,
    /// as many apps do; the token still guards users and groups.
    pub public_discovery: bool,
}

impl std::fmt::Debug for SandboxOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SandboxOptions")
            .field("listen", &self.listen)
            .field("token", &self.token.as_ref().map(|_| "**REDACTED**"))
            .field("db", &self.db)
            .field("profile", &self.profile)
            .field("faults", &self.faults)
            .field("public_discovery", &self.public_discovery)
            .finish()
    }
}

impl Default for SandboxOptions {
    fn default() -> Self {
        SandboxOptions {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            token: None,
            db: None,
            profile: "generic".to_string(),
            faults: Faults::default(),
            public_discovery: false,
        }
    }
}

/// A running sandbox.
pub struct SandboxHandle {
    addr: SocketAddr,
    app: Arc<App>,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<()>>,
    store_thread: Option<StoreThread>,
}

/// Binds, opens the store and serves in a background task.
pub async fn start(opts: SandboxOptions) -> anyhow::Result<SandboxHandle> {
    let profile = imitation::by_name(&opts.profile).with_context(|| {
        format!(
            "unknown sandbox profile {:?} (known: {})",
            opts.profile,
            imitation::NAMES.join(", ")
        )
    })?;
    let f = &opts.faults;
    check_faults(f)?;
    let (store, store_thread) = Store::open(opts.db.clone())?;
    let tcp = tokio::net::TcpListener::bind(opts.listen)
        .await
        .with_context(|| format!("binding the sandbox to {}", opts.listen))?;
    let addr = tcp
        .local_addr()
        .context("reading the sandbox's bound address")?;
    let app = Arc::new(App {
        limiter: faults::Limiter::new(&profile, f.rate_limit_per_sec),
        injector: faults::Injector::new(f.clone()),
        profile: Arc::new(profile),
        store,
        stats: Arc::new(Stats::default()),
        locks: faults::ObjectLocks::default(),
        token_digest: opts
            .token
            .as_ref()
            .map(|t| Sha256::digest(t.as_bytes()).into()),
        public_discovery: opts.public_discovery,
    });
    let (tx, rx) = oneshot::channel::<()>();
    let make = service::router(app.clone()).into_make_service_with_connect_info::<ConnHandle>();
    let server = tokio::spawn(async move {
        let serve = axum::serve(SandboxListener(tcp), make).with_graceful_shutdown(async move {
            let _ = rx.await;
        });
        if let Err(e) = serve.await {
            tracing::error!(error = %e, "Sandbox server stopped with an error.");
        }
    });
    tracing::info!(addr = %addr, profile = %opts.profile, persistent = opts.db.is_some(), "Sandbox started.");
    Ok(SandboxHandle {
        addr,
        app,
        shutdown: Some(tx),
        server: Some(server),
        store_thread: Some(store_thread),
    })
}

/// Fault rates are probabilities and a rate limit is positive.
fn check_faults(f: &Faults) -> anyhow::Result<()> {
    for (name, rate) in [
        ("error_rate", f.error_rate),
        ("throttle_rate", f.throttle_rate),
        ("stall_rate", f.stall_rate),
        ("drop_rate", f.drop_rate),
    ] {
        anyhow::ensure!(
            (0.0..=1.0).contains(&rate),
            "sandbox fault {name} must be between 0 and 1, got {rate}"
        );
    }
    if let Some(r) = f.rate_limit_per_sec {
        anyhow::ensure!(
            r > 0.0 && r.is_finite(),
            "sandbox rate limit must be positive, got {r}"
        );
    }
    Ok(())
}

impl SandboxHandle {
    /// The SCIM base URL, `http://127.0.0.1:PORT/scim/v2`.
    pub fn base_url(&self) -> String {
        format!("http://{}/scim/v2", self.addr)
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Request counters since start or the last reset.
    pub fn stats(&self) -> RequestStats {
        self.app.stats.snapshot()
    }

    /// Sets the request counters back to zero.
    pub fn reset_stats(&self) {
        self.app.stats.reset();
    }

    /// Every stored user as clients see it, ordered by id.
    pub async fn users(&self) -> Vec<serde_json::Value> {
        match self.app.all_users(&self.base_url()).await {
            Ok(u) => u,
            Err(e) => {
                tracing::error!(error = %e, "Sandbox could not list its users.");
                Vec::new()
            }
        }
    }

    /// Stops serving and closes the database (all writes are on disk afterwards).
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(mut server) = self.server.take() {
            // Graceful first; a request stalled on purpose must not hold shutdown hostage.
            if tokio::time::timeout(Duration::from_secs(5), &mut server)
                .await
                .is_err()
            {
                server.abort();
            }
        }
        if let Some(t) = self.store_thread.take() {
            t.close().await;
        }
        tracing::info!(addr = %self.addr, "Sandbox stopped.");
    }
}

impl Drop for SandboxHandle {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// Serves until SIGINT or SIGTERM; prints the base URL as the first line on stdout.
pub async fn serve_forever(opts: SandboxOptions) -> anyhow::Result<()> {
    let handle = start(opts).await?;
    {
        use std::io::Write as _;
        let mut out = std::io::stdout().lock();
        writeln!(out, "hrsync sandbox listening on {}", handle.base_url())?;
        out.flush()?;
    }
    wait_for_signal().await?;
    handle.shutdown().await;
    Ok(())
}

#[cfg(unix)]
async fn wait_for_signal() -> anyhow::Result<()> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).context("installing the SIGTERM handler")?;
    tokio::select! {
        r = tokio::signal::ctrl_c() => r.context("waiting for SIGINT")?,
        _ = term.recv() => {}
    }
    Ok(())
}

#[cfg(not(unix))]
async fn wait_for_signal() -> anyhow::Result<()> {
    tokio::signal::ctrl_c().await.context("waiting for Ctrl-C")
}
