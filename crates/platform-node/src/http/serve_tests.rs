use super::*;

use std::io::{Read, Write};
use std::net::TcpStream;

use axum::routing::get;

/// A server of one route (`GET /` answers "ok") with at most `max` connections and heads due
/// within `head_timeout`; returns its address and the sender that stops it.
async fn start(max: usize, head_timeout: Duration) -> (std::net::SocketAddr, watch::Sender<bool>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (stop, stopped) = watch::channel(false);
    let router = Router::new().route("/", get(|| async { "ok" }));
    tokio::spawn(serve(listener, router, max, head_timeout, stopped));
    (addr, stop)
}

fn connect(addr: std::net::SocketAddr) -> TcpStream {
    let stream = TcpStream::connect(addr).expect("connect");
    stream.set_read_timeout(Some(Duration::from_secs(5))).expect("timeout");
    stream
}

/// Sends `GET /` (kept alive) and returns the answer's text, or `None` if none came within
/// `within`.
fn get_root(stream: &mut TcpStream, within: Duration) -> Option<String> {
    stream.set_read_timeout(Some(within)).expect("timeout");
    stream.write_all(b"GET / HTTP/1.1\r\nhost: x\r\n\r\n").expect("request");
    let mut answer = Vec::new();
    let mut buf = [0u8; 1024];
    while !answer.ends_with(b"ok") {
        match stream.read(&mut buf) {
            Ok(n) if n > 0 => answer.extend_from_slice(&buf[..n]),
            _ => return None,
        }
    }
    Some(String::from_utf8_lossy(&answer).into_owned())
}

/// Whether the server has closed `stream` (waiting up to five seconds).
fn closed(stream: &mut TcpStream) -> bool {
    stream.set_read_timeout(Some(Duration::from_secs(5))).expect("timeout");
    let mut buf = [0u8; 1024];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e) => return e.kind() == std::io::ErrorKind::ConnectionReset,
        }
    }
}

/// The defect: the server took every connection it was offered and kept each as long as its
/// client liked, so idle connections could use up the process's file descriptors. With two
/// allowed, a third is not served while two idle ones are open, and is once one closes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_past_the_bound_wait_until_one_closes() {
    let (addr, _stop) = start(2, Duration::from_secs(30)).await;
    tokio::task::spawn_blocking(move || {
        let mut first = connect(addr);
        assert!(get_root(&mut first, Duration::from_secs(5)).is_some(), "served");
        let _second = connect(addr);
        // The two are open; the third waits in the backlog, unanswered.
        let mut third = connect(addr);
        assert_eq!(get_root(&mut third, Duration::from_millis(500)), None, "a third connection was served");
        drop(first);
        let answer = get_root(&mut third, Duration::from_secs(5));
        assert!(answer.is_some_and(|a| a.starts_with("HTTP/1.1 200")), "served once a slot is free");
    })
    .await
    .expect("client");
}

/// A connection that sends half a head, or none after its last request, is closed at the head
/// timeout, and its slot serves the next.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_without_a_whole_head_is_closed_at_the_timeout() {
    let (addr, _stop) = start(1, Duration::from_millis(300)).await;
    tokio::task::spawn_blocking(move || {
        let mut partial = connect(addr);
        partial.write_all(b"GET / HT").expect("half a head");
        let started = std::time::Instant::now();
        assert!(closed(&mut partial), "a half head is cut off");
        assert!(started.elapsed() < Duration::from_secs(3), "at its timeout");

        let mut idle = connect(addr);
        assert!(get_root(&mut idle, Duration::from_secs(5)).is_some(), "the slot was freed");
        assert!(closed(&mut idle), "an idle kept-alive connection is closed");
        let mut next = connect(addr);
        assert!(get_root(&mut next, Duration::from_secs(5)).is_some(), "and its slot freed");
    })
    .await
    .expect("client");
}

/// At shutdown the server stops accepting and returns once its connections have ended.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_closes_idle_connections_and_returns() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (stop, stopped) = watch::channel(false);
    let router = Router::new().route("/", get(|| async { "ok" }));
    let server = tokio::spawn(serve(listener, router, 8, Duration::from_secs(30), stopped));
    let mut open = tokio::task::spawn_blocking(move || {
        let mut open = connect(addr);
        assert!(get_root(&mut open, Duration::from_secs(5)).is_some(), "served");
        open
    })
    .await
    .expect("client");
    stop.send(true).expect("running");
    tokio::time::timeout(Duration::from_secs(5), server).await.expect("returned in time").expect("task");
    assert!(tokio::task::block_in_place(|| closed(&mut open)), "its idle connection was closed");
    assert!(std::net::TcpStream::connect(addr).is_err(), "no longer listening");
}
