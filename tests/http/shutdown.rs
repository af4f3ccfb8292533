//! Graceful shutdown: a stop (what SIGTERM triggers) lets in-flight requests finish, and ends open
//! event streams at once rather than waiting for them until the shutdown timeout.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use actix_web::{HttpResponse, HttpServer, web};
use guild_api::{AppState, build_app_with};
use guild_testkit::TestDb;

static ENTERED: AtomicBool = AtomicBool::new(false);

async fn slow() -> HttpResponse {
    ENTERED.store(true, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(800)).await;
    HttpResponse::Ok().body("finished")
}

#[actix_web::test]
async fn a_stop_lets_in_flight_requests_finish() {
    let db = TestDb::new().await;
    let state = AppState::new(db.pool());
    let server = HttpServer::new(move || {
        build_app_with(
            state.clone(),
            Box::new(|cfg| {
                cfg.route("/_test/slow", web::get().to(slow));
            }),
        )
    })
    .workers(1)
    .disable_signals()
    .shutdown_timeout(10)
    .bind(("127.0.0.1", 0))
    .unwrap();
    let addr = server.addrs()[0];
    let server = server.run();
    let handle = server.handle();
    let running = actix_web::rt::spawn(server);

    let client = std::thread::spawn(move || {
        let mut stream = TcpStream::connect(addr).unwrap();
        stream
            .write_all(b"GET /_test/slow HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .unwrap();
        let mut reply = String::new();
        stream.read_to_string(&mut reply).unwrap();
        reply
    });
    while !ENTERED.load(Ordering::SeqCst) {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    handle.stop(true).await;
    running.await.unwrap().unwrap();

    let reply = client.join().unwrap();
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    assert!(reply.ends_with("finished"), "{reply}");
    assert!(
        TcpStream::connect(addr).is_err(),
        "still accepting after the stop"
    );
}

#[actix_web::test]
async fn open_event_streams_end_as_soon_as_shutdown_starts() {
    let app = guild_tests::TestApp::new().await;
    let owner = guild_tests::access(&app.sign_up("acme").await);
    let state = app.state.clone();
    let factory_state = state.clone();
    // A shutdown timeout far longer than the test waits: a stream that held the server would
    // keep it running for 60 s.
    let server = HttpServer::new(move || build_app_with(factory_state.clone(), Box::new(|_| {})))
        .workers(1)
        .disable_signals()
        .shutdown_timeout(60)
        .bind(("127.0.0.1", 0))
        .unwrap();
    let addr = server.addrs()[0];
    let server = server.run();
    let handle = server.handle();
    let running = actix_web::rt::spawn(server);

    let (opened_tx, opened) = std::sync::mpsc::channel();
    let client = std::thread::spawn(move || {
        let mut stream = TcpStream::connect(addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        let request =
            format!("GET /v1/stream HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {owner}\r\n\r\n");
        stream.write_all(request.as_bytes()).unwrap();
        let mut received = Vec::new();
        let mut buf = [0u8; 4096];
        let mut told = false;
        loop {
            match stream.read(&mut buf) {
                Ok(0) => return (String::from_utf8_lossy(&received).into_owned(), true),
                Ok(n) => received.extend_from_slice(&buf[..n]),
                // Timed out: the stream never ended.
                Err(_) => return (String::from_utf8_lossy(&received).into_owned(), false),
            }
            if !told && String::from_utf8_lossy(&received).contains("event: ready") {
                told = true;
                opened_tx.send(()).unwrap();
            }
        }
    });
    while opened.try_recv().is_err() {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    let started = std::time::Instant::now();
    guild_api::server::shut_down(&handle, &state.stopping).await;
    running.await.unwrap().unwrap();
    let stopped_after = started.elapsed();

    let (reply, ended) = client.join().unwrap();
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    assert!(ended, "the stream was still open: {reply}");
    // The final chunk of the chunked body: the stream ended, it was not cut.
    assert!(reply.ends_with("0\r\n\r\n"), "{reply:?}");
    assert!(
        stopped_after < Duration::from_secs(5),
        "the server waited {stopped_after:?} for the stream"
    );
    assert!(
        TcpStream::connect(addr).is_err(),
        "still accepting after the stop"
    );
}
