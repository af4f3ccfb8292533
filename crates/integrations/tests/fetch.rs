//! The SSRF guard of link previews against a real HTTP server on loopback (the guard's test
//! switch lets plain http reach loopback, nothing else) and against names pointed at private
//! addresses.

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use guild_integrations::fetch::{FetchPolicy, SafeFetcher};
use guild_kernel::ports::{FetchError, LinkPreviewer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// A PNG's first bytes (enough for sniffing) and some payload.
fn png(len: usize) -> Vec<u8> {
    let mut bytes = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    bytes.resize(len, 7);
    bytes
}

/// Serves canned answers by path on 127.0.0.1 until the test ends; `/slow` never answers.
async fn serve() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let mut buf = vec![0u8; 4096];
                let mut read = 0;
                while !buf[..read].windows(4).any(|w| w == b"\r\n\r\n") {
                    match socket.read(&mut buf[read..]).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => read += n,
                    }
                }
                let head = String::from_utf8_lossy(&buf[..read]).to_string();
                let path = head.split_whitespace().nth(1).unwrap_or("/").to_owned();
                let page = |body: &str| {
                    (
                        200,
                        "text/html; charset=utf-8",
                        body.as_bytes().to_vec(),
                        None,
                    )
                };
                let (status, content_type, body, location): (u16, &str, Vec<u8>, Option<&str>) =
                    match path.as_str() {
                        "/article" => page(
                            r#"<html><head><title>Fallback</title>
                            <meta property="og:title" content="Ten rules for safe lifting">
                            <meta property="og:description" content="What the warehouse team learned.">
                            <meta property="og:image" content="/card.png"></head><body>…</body></html>"#,
                        ),
                        "/card.png" => (200, "image/png", png(2_000), None),
                        "/big-image" => page(
                            r#"<meta property="og:image" content="/huge.png"><title>Big</title>"#,
                        ),
                        "/huge.png" => (200, "image/png", png(300_000), None),
                        "/not-an-image" => page(
                            r#"<meta property="og:image" content="/script.svg"><title>S</title>"#,
                        ),
                        "/script.svg" => {
                            (200, "image/png", b"<svg onload=alert(1)>".to_vec(), None)
                        }
                        "/to-metadata" => (
                            302,
                            "text/plain",
                            Vec::new(),
                            Some("http://169.254.169.254/latest/meta-data/"),
                        ),
                        "/to-intranet" => (
                            301,
                            "text/plain",
                            Vec::new(),
                            Some("https://intranet.example/admin"),
                        ),
                        "/to-article" => (307, "text/plain", Vec::new(), Some("/article")),
                        "/loop" => (302, "text/plain", Vec::new(), Some("/loop")),
                        "/json" => (200, "application/json", b"{}".to_vec(), None),
                        "/slow" => {
                            tokio::time::sleep(Duration::from_secs(30)).await;
                            return;
                        }
                        _ => (404, "text/plain", b"no".to_vec(), None),
                    };
                let mut response = format!(
                    "HTTP/1.1 {status} X\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n",
                    body.len()
                );
                if let Some(location) = location {
                    response.push_str(&format!("Location: {location}\r\n"));
                }
                response.push_str("\r\n");
                let _ = socket.write_all(response.as_bytes()).await;
                let _ = socket.write_all(&body).await;
            });
        }
    });
    addr
}

fn fetcher(policy: FetchPolicy) -> SafeFetcher {
    SafeFetcher::new(policy).expect("a fetcher")
}

fn refused(result: Result<guild_kernel::ports::LinkPreview, FetchError>) -> String {
    match result {
        Err(FetchError::Refused(why)) => why,
        other => panic!("expected the guard to refuse, got {other:?}"),
    }
}

#[tokio::test]
async fn loopback_private_and_metadata_addresses_are_refused() {
    let addr = serve().await;
    let guarded = fetcher(FetchPolicy::default());
    // The page is really there: only the guard stands between the fetcher and it.
    let local = fetcher(FetchPolicy::default().allowing_loopback_for_tests());
    local
        .preview(&format!("http://{addr}/article"))
        .await
        .expect("served");

    for url in [
        format!("http://{addr}/article"),
        format!("https://{addr}/article"),
        "http://127.0.0.1/".to_owned(),
        "https://127.0.0.1/".to_owned(),
        "http://169.254.169.254/latest/meta-data/".to_owned(),
        "https://169.254.169.254/latest/meta-data/".to_owned(),
        "https://[::1]/".to_owned(),
        "https://[::ffff:127.0.0.1]/".to_owned(),
        "https://10.0.0.1/".to_owned(),
        "https://192.168.1.1/".to_owned(),
        "https://100.100.100.200/".to_owned(),
    ] {
        refused(guarded.preview(&url).await);
    }
    // The test switch opens loopback only.
    refused(
        local
            .preview("http://169.254.169.254/latest/meta-data/")
            .await,
    );
    refused(local.preview("http://10.0.0.1/").await);
}

#[tokio::test]
async fn a_name_resolving_to_a_private_address_is_refused() {
    let private: IpAddr = "10.20.30.40".parse().expect("ip");
    let public: IpAddr = "93.184.215.14".parse().expect("ip");
    let policy = FetchPolicy::default()
        .with_host("intranet.example", vec![private])
        .with_host("split.example", vec![public, private]);
    let guarded = fetcher(policy);
    let why = refused(guarded.preview("https://intranet.example/").await);
    assert!(why.contains("intranet.example"), "{why}");
    // One private answer among public ones refuses the name.
    refused(guarded.preview("https://split.example/").await);
    // The system resolver's answers are checked the same way.
    refused(guarded.preview("https://localhost/").await);
}

#[tokio::test]
async fn a_redirect_to_a_private_address_is_refused() {
    let addr = serve().await;
    let policy = FetchPolicy::default()
        .allowing_loopback_for_tests()
        .with_host("intranet.example", vec!["192.168.7.7".parse().expect("ip")]);
    let local = fetcher(policy);
    let why = refused(local.preview(&format!("http://{addr}/to-metadata")).await);
    assert!(why.contains("169.254.169.254"), "{why}");
    refused(local.preview(&format!("http://{addr}/to-intranet")).await);
    let why = refused(local.preview(&format!("http://{addr}/loop")).await);
    assert!(why.contains("redirects"), "{why}");
    // A redirect to an allowed page is followed.
    let preview = local
        .preview(&format!("http://{addr}/to-article"))
        .await
        .expect("followed");
    assert_eq!(preview.title.as_deref(), Some("Ten rules for safe lifting"));
}

#[tokio::test]
async fn only_https_on_its_default_port_reaches_public_names() {
    let guarded = fetcher(FetchPolicy::default());
    for url in [
        "http://example.com/",
        "https://example.com:8443/",
        "ftp://example.com/",
        "https://user:secret@example.com/",
        "not a url",
    ] {
        refused(guarded.preview(url).await);
    }
}

#[tokio::test]
async fn a_page_gives_its_title_description_and_downloaded_image() {
    let addr = serve().await;
    let local = fetcher(FetchPolicy::default().allowing_loopback_for_tests());
    let preview = local
        .preview(&format!("http://{addr}/article"))
        .await
        .expect("a preview");
    assert_eq!(preview.title.as_deref(), Some("Ten rules for safe lifting"));
    assert_eq!(
        preview.description.as_deref(),
        Some("What the warehouse team learned.")
    );
    let image = preview.image.expect("the image, downloaded");
    assert_eq!(image.content_type, "image/png");
    assert_eq!(image.bytes, png(2_000));
}

#[tokio::test]
async fn limits_leave_out_what_is_too_large_too_slow_or_not_an_image() {
    let addr = serve().await;
    let mut policy = FetchPolicy::default().allowing_loopback_for_tests();
    policy.max_image_bytes = 100_000;
    policy.timeout = Duration::from_millis(500);
    let local = fetcher(policy);

    let preview = local
        .preview(&format!("http://{addr}/big-image"))
        .await
        .expect("a preview");
    assert_eq!(preview.title.as_deref(), Some("Big"));
    assert_eq!(preview.image, None, "an image over the limit is left out");

    let preview = local
        .preview(&format!("http://{addr}/not-an-image"))
        .await
        .expect("a preview");
    assert_eq!(
        preview.image, None,
        "bytes that do not sniff as an image are left out"
    );

    match local.preview(&format!("http://{addr}/json")).await {
        Err(FetchError::Unusable(why)) => assert!(why.contains("HTML"), "{why}"),
        other => panic!("expected unusable, got {other:?}"),
    }
    match local.preview(&format!("http://{addr}/missing")).await {
        Err(FetchError::Unusable(why)) => assert!(why.contains("404"), "{why}"),
        other => panic!("expected unusable, got {other:?}"),
    }
    let started = Instant::now();
    match local.preview(&format!("http://{addr}/slow")).await {
        Err(FetchError::Unavailable(_)) => {}
        other => panic!("expected a timeout, got {other:?}"),
    }
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "the time limit holds"
    );
}
