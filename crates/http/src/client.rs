//! Where a request comes from, as recorded on the session it starts.

use actix_web::HttpRequest;
use actix_web::http::header;
use domain::ClientInfo;

/// The peer's address and the `User-Agent`. Until trusted proxies are configurable the address is
/// the TCP peer's, never a forwarded header anyone could forge.
pub(crate) fn client_info(req: &HttpRequest) -> ClientInfo {
    let ip = req
        .peer_addr()
        .map(|peer| peer.ip().to_string())
        .unwrap_or_default();
    let agent = req
        .headers()
        .get(header::USER_AGENT)
        .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned())
        .unwrap_or_default();
    ClientInfo::new(&ip, &agent)
}
