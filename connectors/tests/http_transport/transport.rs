//! Retries and transport failures against local servers: which failures are retried, how
//! often, and what kind of error the caller finally gets.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use axum::routing::any;
use axum::Router;
use hrsync_connectors::http::{Auth, HttpError, Throttle, TransportKind};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::time::Instant;
use url::Url;

use crate::util::{client, closed_port, get, post, serve};

/// A raw TCP server: for every connection, reads the request head and runs `answer`.
async fn raw_server<F, Fut>(answer: F) -> (std::net::SocketAddr, Arc<AtomicU64>)
where
    F: Fn(tokio::net::TcpStream) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let connections = Arc::new(AtomicU64::new(0));
    let count = Arc::clone(&connections);
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            count.fetch_add(1, Ordering::SeqCst);
            let mut head = Vec::new();
            let mut buf = [0u8; 1024];
            while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                match sock.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => head.extend_from_slice(&buf[..n]),
                }
            }
            tokio::spawn(answer(sock));
        }
    });
    (addr, connections)
}

/// Answers with a status sequence: `codes[i]` for the i-th request, the last one after.
async fn sequence(
    codes: &'static [u16],
    retry_after: Option<&'static str>,
) -> (std::net::SocketAddr, Arc<AtomicU64>) {
    let hits = Arc::new(AtomicU64::new(0));
    let h = Arc::clone(&hits);
    let router = Router::new().route(
        "/{*rest}",
        any(move || {
            let h = Arc::clone(&h);
            async move {
                let i = h.fetch_add(1, Ordering::SeqCst) as usize;
                let code = codes[i.min(codes.len() - 1)];
                let mut headers = axum::http::HeaderMap::new();
                if let Some(ra) = retry_after {
                    headers.insert("retry-after", ra.parse().expect("header"));
                }
                (StatusCode::from_u16(code).expect("status"), headers, "{}")
            }
        }),
    );
    (serve(router).await, hits)
}

fn kind(err: &HttpError) -> Option<TransportKind> {
    err.transport_kind()
}

fn attempts(err: &HttpError) -> u32 {
    match err {
        HttpError::Transport { attempts, .. } => *attempts,
        other => panic!("not a transport error: {other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn server_errors_are_retried_until_success() {
    let (addr, hits) = sequence(&[503, 502, 200], None).await;
    let r = client(Auth::None, 5, None)
        .send(&get(addr, "/Users"))
        .await
        .expect("send");
    assert_eq!((r.status.as_u16(), r.attempts), (200, 3));
    assert_eq!(hits.load(Ordering::SeqCst), 3);
}

#[tokio::test(start_paused = true)]
async fn retries_stop_at_the_attempt_bound_and_return_the_last_answer() {
    let (addr, hits) = sequence(&[500], None).await;
    let r = client(Auth::None, 4, None)
        .send(&get(addr, "/Users"))
        .await
        .expect("send");
    assert_eq!((r.status.as_u16(), r.attempts), (500, 4));
    assert_eq!(hits.load(Ordering::SeqCst), 4);
}

#[tokio::test(start_paused = true)]
async fn permanent_answers_are_not_retried() {
    for code in [400u16, 403, 409, 501] {
        let codes: &'static [u16] = Box::leak(vec![code, 200].into_boxed_slice());
        let (addr, hits) = sequence(codes, None).await;
        let r = client(Auth::None, 5, None)
            .send(&get(addr, "/Users"))
            .await
            .expect("send");
        assert_eq!(r.status.as_u16(), code);
        assert_eq!(hits.load(Ordering::SeqCst), 1, "status {code} was retried");
    }
    // A create that hit a server error is not repeated blindly (the caller looks it up).
    let (addr, hits) = sequence(&[500, 201], None).await;
    let r = client(Auth::None, 5, None)
        .send(&post(addr, "/Users"))
        .await
        .expect("send");
    assert_eq!(r.status.as_u16(), 500);
    assert_eq!(hits.load(Ordering::SeqCst), 1);
}

#[tokio::test(start_paused = true)]
async fn a_429_on_a_create_waits_for_retry_after_and_repeats() {
    let (addr, hits) = sequence(&[429, 201], Some("4")).await;
    let throttle = Throttle::new("app", None, 2).expect("throttle");
    let started = Instant::now();
    let r = client(Auth::None, 5, Some(&throttle))
        .send(&post(addr, "/Users"))
        .await
        .expect("send");
    assert_eq!((r.status.as_u16(), r.attempts), (201, 2));
    assert_eq!(hits.load(Ordering::SeqCst), 2);
    assert!(
        started.elapsed() >= Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    let s = throttle.stats();
    assert_eq!(
        (s.admitted, s.throttled),
        (2, 1),
        "the gate saw every attempt"
    );
}

#[tokio::test(start_paused = true)]
async fn connection_refused_is_retried_even_for_a_create() {
    let addr = closed_port().await;
    let err = client(Auth::None, 3, None)
        .send(&post(addr, "/Users"))
        .await
        .expect_err("refused");
    assert_eq!(kind(&err), Some(TransportKind::Connect));
    assert_eq!(attempts(&err), 3);
}

#[tokio::test(start_paused = true)]
async fn a_connection_reset_is_broken_and_only_safe_requests_repeat() {
    let (addr, conns) = raw_server(|sock| async move {
        // Close with a reset instead of an answer. Linger zero resets at once, so the
        // blocking-drop concern behind the deprecation does not apply.
        #[allow(deprecated)]
        let _ = sock.set_linger(Some(Duration::ZERO));
        drop(sock);
    })
    .await;
    let c = client(Auth::None, 3, None);
    let err = c.send(&get(addr, "/Users")).await.expect_err("reset");
    assert_eq!(kind(&err), Some(TransportKind::Broken), "{err}");
    assert_eq!((attempts(&err), conns.load(Ordering::SeqCst)), (3, 3));

    let before = conns.load(Ordering::SeqCst);
    let err = c.send(&post(addr, "/Users")).await.expect_err("reset");
    assert_eq!(kind(&err), Some(TransportKind::Broken), "{err}");
    assert_eq!(attempts(&err), 1, "the server may have acted on the create");
    assert_eq!(conns.load(Ordering::SeqCst), before + 1);
}

#[tokio::test(start_paused = true)]
async fn a_body_that_fails_mid_way_is_broken() {
    let (addr, conns) = raw_server(|mut sock| async move {
        let head =
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 500\r\n\r\n";
        let _ = sock.write_all(head.as_bytes()).await;
        let _ = sock.write_all(b"{\"Resources\": [").await;
        let _ = sock.flush().await;
        drop(sock);
    })
    .await;
    let c = client(Auth::None, 2, None);
    let err = c.send(&get(addr, "/Users")).await.expect_err("truncated");
    assert_eq!(kind(&err), Some(TransportKind::Broken), "{err}");
    assert!(err.to_string().contains("body"), "{err}");
    assert_eq!((attempts(&err), conns.load(Ordering::SeqCst)), (2, 2));
    let err = c.send(&post(addr, "/Users")).await.expect_err("truncated");
    assert_eq!(
        (kind(&err), attempts(&err)),
        (Some(TransportKind::Broken), 1)
    );
}

#[tokio::test(start_paused = true)]
async fn a_silent_server_times_out() {
    let (addr, _) = raw_server(|sock| async move {
        tokio::time::sleep(Duration::from_secs(3600)).await;
        drop(sock);
    })
    .await;
    let c = client(Auth::None, 2, None);
    let started = Instant::now();
    let err = c.send(&post(addr, "/Users")).await.expect_err("timeout");
    assert_eq!(kind(&err), Some(TransportKind::Timeout), "{err}");
    assert_eq!(
        attempts(&err),
        1,
        "a create that timed out is looked up, not repeated"
    );
    assert!(started.elapsed() >= c.settings().timeout);
    let err = c.send(&get(addr, "/Users")).await.expect_err("timeout");
    assert_eq!(
        (kind(&err), attempts(&err)),
        (Some(TransportKind::Timeout), 2)
    );
}

#[tokio::test(start_paused = true)]
async fn tls_to_a_server_that_does_not_speak_it_is_a_tls_error_and_not_retried() {
    let plain = Router::new().route("/{*rest}", any(|| async { "plain http" }));
    let addr = serve(plain).await;
    let url = Url::parse(&format!("https://{addr}/Users")).expect("url");
    let req = hrsync_connectors::http::Request::new(
        reqwest::Method::GET,
        url,
        hrsync_connectors::http::Replay::Safe,
    );
    let err = client(Auth::None, 3, None)
        .send(&req)
        .await
        .expect_err("tls");
    assert_eq!(kind(&err), Some(TransportKind::Tls), "{err}");
    assert_eq!(attempts(&err), 1);
}

#[tokio::test]
async fn plain_http_is_refused_to_a_remote_host() {
    let url = Url::parse("http://scim.example.com/Users").expect("url");
    let req = hrsync_connectors::http::Request::new(
        reqwest::Method::GET,
        url,
        hrsync_connectors::http::Replay::Safe,
    );
    let err = client(Auth::None, 3, None)
        .send(&req)
        .await
        .expect_err("insecure");
    assert!(matches!(err, HttpError::InsecureUrl(_)), "{err:?}");
}
