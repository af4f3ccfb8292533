//! Graceful shutdown: a stop (what SIGTERM triggers) lets in-flight requests finish.

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
