//! Heavy read-only views shared by the requests of this process for a few seconds.
//!
//! The manager dashboard aggregates every (member, module) pair of a manager's members — for
//! 1,000 members, about 210,000 — and is the same for every request that asks for the same
//! members, filter and thresholds. Computed per request, a manager refreshing it, or a team of
//! managers with the same reach opening it together, would each redo that work. A view is
//! therefore kept, already serialized, under a key holding everything its content depends on
//! (the tenant, the members the caller's grants reach, the filter), and:
//!
//! - used while younger than `fresh_for` (`GUILD_DASHBOARD_FRESH_SECS`, 30 s by default; 0
//!   computes every request, as in tests);
//! - computed once when asked for by several requests at a time: the first computes it, the
//!   others wait for it (single flight);
//! - when older, recomputed by one request while the others keep answering with the previous one
//!   for up to another `fresh_for` — never older than twice `fresh_for`;
//! - bounded: past [`MAX_BYTES`] over every entry, stale entries are dropped, then all others;
//! - sent gzip-compressed to clients that accept it (`Accept-Encoding: gzip`, as browsers and
//!   HTTP libraries send), compressed once per view: a dashboard's heatmap repeats its group and
//!   module ids in every cell, so the benchmark's 1.5 MB view is about 70 KB compressed.
//!
//! Authorization is not cached: the caller's permission is checked and their reach computed on
//! every request, before the lookup, and two callers share an entry only when their reach is the
//! same set of members. A change of thresholds drops the tenant's entries in this process
//! ([`SharedViews::forget_tenant`]); other data shows within `fresh_for`, which the view states
//! in its `generated_at`.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use std::io::Write as _;
use std::sync::OnceLock;

use actix_web::http::header::{self, ContentType, HeaderValue};
use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse};
use uuid::Uuid;

/// The most bytes kept over every entry.
pub const MAX_BYTES: usize = 64 * 1024 * 1024;

/// What a key needs to say: the tenant it belongs to (to forget a tenant's entries).
pub trait TenantKey {
    /// The tenant.
    fn tenant(&self) -> Uuid;
}

/// A view: its JSON, and the same compressed once a client asks for it.
#[derive(Debug)]
pub(crate) struct View {
    json: Bytes,
    gzip: OnceLock<Option<Bytes>>,
}

impl View {
    fn new(json: Bytes) -> Arc<Self> {
        Arc::new(Self {
            json,
            gzip: OnceLock::new(),
        })
    }

    /// The bytes kept.
    fn size(&self) -> usize {
        self.json.len()
            + self
                .gzip
                .get()
                .and_then(Option::as_ref)
                .map_or(0, Bytes::len)
    }

    /// The JSON compressed (fast level: the view is compressed once and sent many times);
    /// `None` if compression failed.
    fn gzip(&self) -> Option<&Bytes> {
        self.gzip
            .get_or_init(|| {
                let mut encoder = flate2::write::GzEncoder::new(
                    Vec::with_capacity(self.json.len() / 8),
                    flate2::Compression::fast(),
                );
                encoder.write_all(&self.json).ok()?;
                encoder.finish().ok().map(Bytes::from)
            })
            .as_ref()
    }

    /// The 200 response for `req`: gzip-compressed when the client accepts it.
    pub(crate) fn respond(&self, req: &HttpRequest) -> HttpResponse {
        let mut response = HttpResponse::Ok();
        response
            .content_type(ContentType::json())
            .insert_header((header::VARY, HeaderValue::from_static("accept-encoding")));
        match accepts_gzip(req).then(|| self.gzip()).flatten() {
            Some(gzip) => response
                .insert_header((header::CONTENT_ENCODING, HeaderValue::from_static("gzip")))
                .body(gzip.clone()),
            None => response.body(self.json.clone()),
        }
    }
}

/// Whether `Accept-Encoding` admits gzip (listed, or `*`, without `q=0`).
fn accepts_gzip(req: &HttpRequest) -> bool {
    req.headers()
        .get_all(header::ACCEPT_ENCODING)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|item| {
            let mut parts = item.split(';').map(str::trim);
            let coding = parts.next().unwrap_or_default();
            let refused = parts.any(|p| {
                p.strip_prefix("q=")
                    .and_then(|q| q.parse::<f32>().ok())
                    .is_some_and(|q| q <= 0.0)
            });
            (coding.eq_ignore_ascii_case("gzip") || coding == "*") && !refused
        })
}

#[derive(Default)]
struct Entry {
    /// The view and when it was computed.
    value: Mutex<Option<(Instant, Arc<View>)>>,
    /// Held by the request computing the value.
    computing: tokio::sync::Mutex<()>,
}

impl Entry {
    fn current(&self) -> Option<(Instant, Arc<View>)> {
        self.value.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// Serialized views by key (see the module).
pub struct SharedViews<K> {
    fresh_for: Duration,
    entries: Mutex<HashMap<K, Arc<Entry>>>,
}

impl<K> std::fmt::Debug for SharedViews<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedViews")
            .field("fresh_for", &self.fresh_for)
            .finish_non_exhaustive()
    }
}

impl<K: Eq + Hash + Clone + TenantKey> SharedViews<K> {
    /// Views kept for `fresh_for`; zero computes every request.
    pub fn new(fresh_for: Duration) -> Self {
        Self {
            fresh_for,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// How long a view is used.
    pub fn fresh_for(&self) -> Duration {
        self.fresh_for
    }

    /// The view under `key`: kept, or computed by `compute` (once for the requests asking at
    /// the same time).
    pub(crate) async fn get_or_compute<E, F, Fut>(&self, key: K, compute: F) -> Result<Arc<View>, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Bytes, E>>,
    {
        if self.fresh_for.is_zero() {
            return compute().await.map(View::new);
        }
        let entry = self
            .entries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(key.clone())
            .or_default()
            .clone();
        let current = entry.current();
        if let Some((at, value)) = &current
            && at.elapsed() < self.fresh_for
        {
            return Ok(value.clone());
        }
        let _computing = match entry.computing.try_lock() {
            Ok(guard) => guard,
            Err(_) => {
                // Another request is computing it: answer with the previous value while it is
                // younger than twice `fresh_for`, or wait for the new one.
                if let Some((at, value)) = current
                    && at.elapsed() < self.fresh_for * 2
                {
                    return Ok(value);
                }
                entry.computing.lock().await
            }
        };
        if let Some((at, value)) = entry.current()
            && at.elapsed() < self.fresh_for
        {
            return Ok(value);
        }
        let value = View::new(compute().await?);
        *entry.value.lock().unwrap_or_else(|e| e.into_inner()) =
            Some((Instant::now(), value.clone()));
        self.bound(&key);
        Ok(value)
    }

    /// Drops every view of `tenant`.
    pub(crate) fn forget_tenant(&self, tenant: Uuid) {
        self.entries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|k, _| k.tenant() != tenant);
    }

    /// Past [`MAX_BYTES`], drops the stale entries, then every entry but `keep`.
    fn bound(&self, keep: &K) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let size = |entries: &HashMap<K, Arc<Entry>>| -> usize {
            entries
                .values()
                .filter_map(|e| e.current())
                .map(|(_, v)| v.size())
                .sum()
        };
        if size(&entries) <= MAX_BYTES {
            return;
        }
        let fresh_for = self.fresh_for;
        entries.retain(|k, e| {
            k == keep || e.current().is_some_and(|(at, _)| at.elapsed() < fresh_for)
        });
        if size(&entries) > MAX_BYTES {
            entries.retain(|k, _| k == keep);
        }
    }

    /// Views kept (computed or being computed).
    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries.lock().unwrap_or_else(|e| e.into_inner()).len()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[derive(Debug, Clone, PartialEq, Eq, Hash)]
    struct Key(Uuid, u32);

    impl TenantKey for Key {
        fn tenant(&self) -> Uuid {
            self.0
        }
    }

    async fn count(
        views: &SharedViews<Key>,
        key: Key,
        calls: &AtomicUsize,
        wait: Duration,
    ) -> Bytes {
        views
            .get_or_compute(key, || async {
                let n = calls.fetch_add(1, Ordering::SeqCst) + 1;
                tokio::time::sleep(wait).await;
                Ok::<_, ()>(Bytes::from(n.to_string()))
            })
            .await
            .unwrap()
            .json
            .clone()
    }

    #[tokio::test]
    async fn requests_at_the_same_time_compute_a_view_once() {
        let views = SharedViews::new(Duration::from_secs(30));
        let calls = AtomicUsize::new(0);
        let key = Key(Uuid::nil(), 1);
        let all = futures_util::future::join_all(
            (0..8).map(|_| count(&views, key.clone(), &calls, Duration::from_millis(50))),
        )
        .await;
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        assert!(all.iter().all(|v| v == "1"), "{all:?}");
        // Kept: no new computation.
        assert_eq!(count(&views, key, &calls, Duration::ZERO).await, "1");
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn another_key_or_a_forgotten_tenant_computes_again() {
        let views = SharedViews::new(Duration::from_secs(30));
        let calls = AtomicUsize::new(0);
        let (a, b) = (Uuid::from_u128(1), Uuid::from_u128(2));
        assert_eq!(count(&views, Key(a, 1), &calls, Duration::ZERO).await, "1");
        // Another reach (or filter) is another view.
        assert_eq!(count(&views, Key(a, 2), &calls, Duration::ZERO).await, "2");
        assert_eq!(count(&views, Key(b, 1), &calls, Duration::ZERO).await, "3");
        views.forget_tenant(a);
        assert_eq!(views.len(), 1);
        assert_eq!(count(&views, Key(a, 1), &calls, Duration::ZERO).await, "4");
        assert_eq!(count(&views, Key(b, 1), &calls, Duration::ZERO).await, "3");
    }

    #[tokio::test]
    async fn a_stale_view_is_recomputed_by_one_request_while_others_use_it() {
        let views = SharedViews::new(Duration::from_millis(100));
        let calls = AtomicUsize::new(0);
        let key = Key(Uuid::nil(), 1);
        assert_eq!(
            count(&views, key.clone(), &calls, Duration::ZERO).await,
            "1"
        );
        tokio::time::sleep(Duration::from_millis(120)).await;
        let slow = count(&views, key.clone(), &calls, Duration::from_millis(60));
        let others = async {
            tokio::time::sleep(Duration::from_millis(10)).await;
            count(&views, key.clone(), &calls, Duration::ZERO).await
        };
        let (recomputed, other) = futures_util::future::join(slow, others).await;
        assert_eq!(recomputed, "2");
        assert_eq!(
            other, "1",
            "the other request answers with the previous view"
        );
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn zero_freshness_computes_every_request() {
        let views = SharedViews::new(Duration::ZERO);
        let calls = AtomicUsize::new(0);
        let key = Key(Uuid::nil(), 1);
        count(&views, key.clone(), &calls, Duration::ZERO).await;
        count(&views, key, &calls, Duration::ZERO).await;
        assert_eq!(calls.load(Ordering::SeqCst), 2);
        assert_eq!(views.len(), 0);
    }

    #[tokio::test]
    async fn past_the_byte_bound_stale_views_go_first() {
        let views = SharedViews::new(Duration::from_millis(50));
        let big = Bytes::from(vec![b'x'; MAX_BYTES / 2 + 1]);
        let put = |k: u32| {
            let big = big.clone();
            views.get_or_compute(Key(Uuid::nil(), k), move || async move { Ok::<_, ()>(big) })
        };
        put(1).await.unwrap();
        tokio::time::sleep(Duration::from_millis(60)).await;
        put(2).await.unwrap();
        assert_eq!(views.len(), 1, "the stale first view was dropped");
        put(3).await.unwrap();
        assert_eq!(
            views.len(),
            1,
            "over the bound with fresh views: only the newest is kept"
        );
    }

    #[test]
    fn gzip_is_sent_to_clients_that_accept_it_and_decompresses_to_the_json() {
        use actix_web::test::TestRequest;
        let json = Bytes::from(
            serde_json::to_vec(&vec![serde_json::json!({ "group_id": Uuid::nil() }); 500]).unwrap(),
        );
        let view = View::new(json.clone());
        let body = |response: HttpResponse| {
            let encoding = response
                .headers()
                .get(header::CONTENT_ENCODING)
                .map(|v| v.to_str().unwrap().to_owned());
            let bytes = actix_web::body::to_bytes(response.into_body());
            (
                encoding,
                futures_util::FutureExt::now_or_never(bytes)
                    .unwrap()
                    .unwrap(),
            )
        };
        for accept in ["gzip", "br, gzip;q=0.8", "*", "deflate, GZIP"] {
            let req = TestRequest::default()
                .insert_header((header::ACCEPT_ENCODING, accept))
                .to_http_request();
            let (encoding, bytes) = body(view.respond(&req));
            assert_eq!(encoding.as_deref(), Some("gzip"), "{accept}");
            assert!(
                bytes.len() < json.len() / 10,
                "{accept}: {} bytes",
                bytes.len()
            );
            let mut plain = Vec::new();
            std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&bytes[..]), &mut plain)
                .unwrap();
            assert_eq!(plain, json);
        }
        for accept in [None, Some("br"), Some("gzip;q=0"), Some("identity")] {
            let mut req = TestRequest::default();
            if let Some(accept) = accept {
                req = req.insert_header((header::ACCEPT_ENCODING, accept));
            }
            let (encoding, bytes) = body(view.respond(&req.to_http_request()));
            assert_eq!(encoding, None, "{accept:?}");
            assert_eq!(bytes, json);
        }
    }
}
