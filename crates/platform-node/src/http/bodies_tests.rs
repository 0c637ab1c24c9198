use super::*;

use std::io::{Read, Write};
use std::net::TcpStream;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::post;

/// A route that reads its whole body and answers its length, behind a budget of `units` units
/// (also the route's body limit) whose bodies must arrive within `deadline`; returns its address.
async fn serve(units: usize, deadline: fn(usize) -> Duration) -> std::net::SocketAddr {
    let budget = BodyBudget::new(units * UNIT, deadline);
    let app = Router::new()
        .route("/echo", post(|body: axum::body::Bytes| async move { body.len().to_string() }))
        .layer(axum::middleware::from_fn_with_state(budget.route(units * UNIT), bounded_body))
        .layer(DefaultBodyLimit::max(units * UNIT));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") });
    addr
}

/// Sends a request's head declaring `length` (chunked when `None`) and the first `sent` bytes
/// of its body; the connection stays open with the rest unsent.
fn begin(addr: std::net::SocketAddr, length: Option<usize>, sent: usize) -> TcpStream {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
    let head = match length {
        Some(n) => format!("POST /echo HTTP/1.1\r\nhost: x\r\ncontent-length: {n}\r\n\r\n"),
        None => "POST /echo HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n".to_owned(),
    };
    stream.write_all(head.as_bytes()).expect("head");
    let body = vec![b'x'; sent];
    let sending = match length {
        Some(_) => body,
        None if sent > 0 => [format!("{sent:x}\r\n").into_bytes(), body, b"\r\n".to_vec()].concat(),
        None => Vec::new(),
    };
    stream.write_all(&sending).expect("body");
    stream
}

/// The status line and body of the answer on `stream`.
fn answer(stream: &mut TcpStream) -> (u16, String) {
    let mut text = Vec::new();
    let mut buf = [0u8; 4096];
    // One answer per connection: read until its body (by its length) has arrived.
    loop {
        let n = stream.read(&mut buf).expect("an answer");
        assert!(n > 0, "the connection closed without an answer: {}", String::from_utf8_lossy(&text));
        text.extend_from_slice(&buf[..n]);
        let s = String::from_utf8_lossy(&text).into_owned();
        if let Some((head, body)) = s.split_once("\r\n\r\n") {
            let length = head
                .lines()
                .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length: ").map(|v| v.trim().to_owned()))
                .and_then(|v| v.parse::<usize>().ok())
                .unwrap_or(0);
            if body.len() >= length {
                let status = head.split(' ').nth(1).and_then(|c| c.parse().ok()).expect("a status");
                return (status, body.to_owned());
            }
        }
    }
}

/// The defect: nothing bounded the bodies read at once, so clients sending large bodies
/// together grew the node's memory without limit. Here a budget of 8 units is spent by two
/// requests declaring 4 units each (their bodies not sent yet); a third, however small, gets
/// 503 at once, and once one of the two completes the budget serves the next.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_past_the_budget_are_refused_at_once_until_a_reservation_ends() {
    let addr = serve(8, |_| Duration::from_secs(30)).await;
    tokio::task::spawn_blocking(move || {
        let mut first = begin(addr, Some(4 * UNIT), 100);
        let _second = begin(addr, Some(4 * UNIT), 100);
        // The server reserves when it reads a head, which may be after the next request's (on a
        // loaded machine, long after): a whole small request is sent until one is refused
        // (until then each is served), for at most 10 s.
        let patience = std::time::Instant::now() + Duration::from_secs(10);
        let refused = loop {
            let (status, body) = answer(&mut begin(addr, Some(10), 10));
            if status == 503 {
                break body;
            }
            assert!(std::time::Instant::now() < patience, "a request past the budget is refused");
            std::thread::sleep(Duration::from_millis(20));
        };
        assert!(refused.contains("too many request bodies"), "{refused}");
        // Sent in chunks, a body is counted at the route's limit (the whole budget): refused.
        assert_eq!(answer(&mut begin(addr, None, 0)).0, 503);

        // The first completes: its 4 units serve the next request.
        first.write_all(&vec![b'x'; 4 * UNIT - 100]).expect("rest of the body");
        assert_eq!(answer(&mut first), (200, (4 * UNIT).to_string()));
        let mut next = begin(addr, Some(UNIT), UNIT);
        assert_eq!(answer(&mut next), (200, UNIT.to_string()));
    })
    .await
    .expect("client");
}

/// A reservation is not held by a client that stops sending: its request is answered 408
/// once its body's time is up, and its units serve others.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_that_stops_arriving_is_answered_408_and_frees_its_reservation() {
    let addr = serve(4, |_| Duration::from_millis(300)).await;
    tokio::task::spawn_blocking(move || {
        let started = std::time::Instant::now();
        let mut stalled = begin(addr, Some(4 * UNIT), 10);
        let (status, body) = answer(&mut stalled);
        assert_eq!(status, 408, "{body}");
        assert!(body.contains("did not arrive in time"), "{body}");
        assert!(started.elapsed() < Duration::from_secs(5), "answered at its deadline");
        let mut next = begin(addr, Some(4 * UNIT), 4 * UNIT);
        assert_eq!(answer(&mut next), (200, (4 * UNIT).to_string()));
        // One that arrives in time is not cut short by the deadline afterwards.
        let mut chunked = begin(addr, None, 10);
        chunked.write_all(b"0\r\n\r\n").expect("last chunk");
        assert_eq!(answer(&mut chunked), (200, "10".to_owned()));
    })
    .await
    .expect("client");
}

#[test]
fn a_bodys_time_grows_with_its_length() {
    assert_eq!(body_deadline(0), BASE);
    assert_eq!(body_deadline(1), BASE + PER_MIB);
    assert_eq!(body_deadline(72 * 1024 * 1024), BASE + 72 * PER_MIB);
    assert_eq!(body_deadline(usize::MAX), BASE + PER_MIB * u32::MAX);
}
