//! HTTP metrics of app requests without the transport knowing about them: a gate that
//! wraps the app's throttle, counts every attempt's status and times it, recording into
//! the process-wide registry (`hrsync_http_requests_total{app,status}`,
//! `hrsync_http_request_duration_seconds{app}`). The label is the app's configured name.

use std::sync::Arc;
use std::time::Instant;

use hrsync_connectors::http::{Attempt, Gate};

use crate::control::metrics::{self, AppLabel, HttpLabels};

/// The app's gate, observed.
pub struct Metered {
    inner: Arc<dyn Gate>,
    app: String,
}

impl Metered {
    /// Wraps `inner` (the app's throttle) for app `app`.
    pub fn new(app: &str, inner: Arc<dyn Gate>) -> Metered {
        Metered {
            inner,
            app: app.to_string(),
        }
    }
}

/// Held for one attempt: the inner gate's guard, and the timer that records the attempt's
/// duration when the transport lets go of it (right after the answer is read).
struct Timed {
    _inner: Box<dyn Send>,
    app: String,
    started: Instant,
}

impl Drop for Timed {
    fn drop(&mut self) {
        metrics::global()
            .http_duration
            .get_or_create(&AppLabel {
                app: std::mem::take(&mut self.app),
            })
            .observe(self.started.elapsed().as_secs_f64());
    }
}

#[async_trait::async_trait]
impl Gate for Metered {
    async fn admit(&self) -> Box<dyn Send> {
        let inner = self.inner.admit().await;
        // Timed from admission: waiting for the rate limit is not the app's latency.
        Box::new(Timed {
            _inner: inner,
            app: self.app.clone(),
            started: Instant::now(),
        })
    }

    fn observe(&self, attempt: &Attempt<'_>) {
        self.inner.observe(attempt);
        let status = match attempt {
            Attempt::Status { status, .. } => status.as_u16().to_string(),
            Attempt::Transport(_) => "error".to_string(),
        };
        metrics::global()
            .http_requests
            .get_or_create(&HttpLabels {
                app: self.app.clone(),
                status,
            })
            .inc();
    }
}
