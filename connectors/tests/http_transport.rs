//! Integration tests of the HTTP transport against local servers on 127.0.0.1:0: per-app
//! throttling, retries and transport failures, and authentication (OAuth2 client
//! credentials, static credentials). Tests run on tokio's paused clock, so the waits they
//! exercise (rate limits, Retry-After, token expiry) cost no real time.

#[path = "http_transport/auth.rs"]
mod auth;
#[path = "http_transport/throttle.rs"]
mod throttle;
#[path = "http_transport/transport.rs"]
mod transport;
#[path = "http_transport/util.rs"]
mod util;
