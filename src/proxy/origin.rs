//! Who may drive the proxy: SDKs and CLIs on this machine, not web pages.
//!
//! A web page can make a browser send requests to `127.0.0.1:PORT` (DNS rebinding: a name of the
//! attacker's that resolves to loopback), and the proxy would sign them with the operator's
//! credentials and let the page read the answer. Browsers always name the page's host in `Host`
//! (or the absolute URI) and send `Origin` on such requests; SDKs do neither. So a request is
//! served only when its host is a loopback name or address, the listener's own address, or a
//! name given with `--host-name`, and it carries no `Origin`.

use hyper::http::request::Parts;

use super::heads::{ascii, Heads};

/// The hosts a request may name besides loopback ones.
#[derive(Debug, Clone, Default)]
pub struct Hosts {
    /// The listener's own address, when it is a specific one (`10.0.0.5`), as text.
    own: Option<String>,
    /// The listener's address with its port (`127.0.0.1:4000`), when it is a specific one: what
    /// a client given the proxy's endpoint URL names, found by one comparison.
    exact: Option<String>,
    /// Names given with `--host-name` (lowercase).
    extra: Vec<String>,
}

impl Hosts {
    pub fn new(listen: std::net::SocketAddr, extra: &[String]) -> Hosts {
        let ip = listen.ip();
        Hosts {
            exact: (!ip.is_unspecified()).then(|| listen.to_string()),
            own: (!ip.is_unspecified() && !ip.is_loopback()).then(|| match ip {
                std::net::IpAddr::V6(v6) => format!("[{v6}]"),
                v4 => v4.to_string(),
            }),
            extra: extra.iter().map(|h| h.to_ascii_lowercase()).collect(),
        }
    }

    /// Why this request (`heads`: the headers of `parts`) is refused, or `None` to serve it.
    pub fn refusal(&self, parts: &Parts, heads: &Heads) -> Option<String> {
        if let Some(refused) = web_page(heads) {
            return Some(refused);
        }
        // Checked on every request: no allocation on the way to a yes.
        let named = match parts.uri.authority() {
            Some(authority) => Some(authority.as_str()),
            None => heads
                .host
                .map(|value| ascii(value).unwrap_or("(not ASCII)")),
        };
        match named {
            // HTTP/1.0 without Host: nothing to check.
            None if parts.version <= hyper::Version::HTTP_10 => None,
            None => Some(
                "cognito-vcr: a request without a Host header is refused (HTTP/1.1 requires one)"
                    .to_owned(),
            ),
            Some(host) if self.allows(host) => None,
            Some(host) => Some(format!(
                "cognito-vcr: host {host:?} is not this proxy's (loopback names and addresses are; add others with --host-name)"
            )),
        }
    }

    /// Whether `host` (`name[:port]`, an authority without user info) names this proxy.
    fn allows(&self, host: &str) -> bool {
        if self.exact.as_deref() == Some(host) {
            return true;
        }
        let Some(name) = host_name(host) else {
            return false;
        };
        let is = |other: &str| name.eq_ignore_ascii_case(other);
        let loopback = is("127.0.0.1")
            || is("localhost")
            || is("[::1]")
            || name
                .get(name.len().saturating_sub(".localhost".len())..)
                .is_some_and(|end| end.eq_ignore_ascii_case(".localhost"))
            || name
                .parse::<std::net::Ipv4Addr>()
                .is_ok_and(|ip| ip.is_loopback());
        loopback || self.own.as_deref().is_some_and(is) || self.extra.iter().any(|e| is(e))
    }
}

/// Why a request that a web page sent (it carries `Origin`) is refused: on the listener and
/// inside an intercepted tunnel alike.
pub fn web_page(heads: &Heads) -> Option<String> {
    heads.origin.then(|| {
        "cognito-vcr: a request from a web page (it has an Origin header) is refused: the proxy serves SDKs and CLIs only"
            .to_owned()
    })
}

/// The host of an authority, parsed strictly: `name` or `[v6]`, then nothing or `:` and a port
/// number; no user info. `None` for anything else (`127.0.0.1:1@evil.com`, `[::1]evil.com`,
/// `localhost:evil`).
fn host_name(authority: &str) -> Option<&str> {
    // One pass over the bytes, without parsing the port as text: checked on every request.
    let bytes = authority.as_bytes();
    let name_end = match bytes.first() {
        Some(b'[') => bytes.iter().position(|&b| b == b']')? + 1,
        _ => bytes
            .iter()
            .position(|&b| !(b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_')))
            .unwrap_or(bytes.len()),
    };
    let (name, port) = bytes.split_at(name_end);
    if name.is_empty() || name.contains(&b'@') {
        return None;
    }
    let port_ok = match port.split_first() {
        None => true,
        Some((b':', digits)) if !digits.is_empty() => {
            let mut value = 0u32;
            digits.iter().all(|&d| {
                value = value * 10 + u32::from(d.wrapping_sub(b'0'));
                d.is_ascii_digit() && value <= u32::from(u16::MAX)
            })
        }
        Some(_) => false,
    };
    port_ok.then(|| &authority[..name_end])
}

#[cfg(test)]
mod tests {
    use super::*;

    impl Hosts {
        fn refused(&self, parts: &Parts) -> Option<String> {
            self.refusal(parts, &Heads::of(&parts.headers))
        }
    }

    fn parts(uri: &str, headers: &[(&str, &str)]) -> Parts {
        let mut req = hyper::Request::post(uri);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        req.body(()).unwrap().into_parts().0
    }

    #[test]
    fn loopback_hosts_are_served_and_others_refused() {
        let hosts = Hosts::new("127.0.0.1:4000".parse().unwrap(), &["vcr.internal".into()]);
        for ok in [
            "127.0.0.1:4000",
            "127.0.0.1",
            "localhost:4000",
            "LOCALHOST",
            "[::1]:4000",
            "127.1.2.3:9",
            "127.0.0.1:00080",
            "127.0.0.1:65535",
            "vcr.internal:4000",
        ] {
            assert_eq!(hosts.refused(&parts("/", &[("host", ok)])), None, "{ok}");
        }
        for bad in [
            "evil.example",
            "evil.example:4000",
            "127.0.0.1.evil.example",
            "[::2]:1",
        ] {
            assert!(
                hosts.refused(&parts("/", &[("host", bad)])).is_some(),
                "{bad}"
            );
        }
        // A host that is not ASCII is no loopback name.
        let mut odd = parts("/", &[]);
        odd.headers.insert(
            hyper::header::HOST,
            hyper::header::HeaderValue::from_bytes(b"\xe9vil").unwrap(),
        );
        assert!(hosts.refused(&odd).is_some());
        assert_eq!(
            hosts.refused(&parts("/", &[("host", "app.localhost:1")])),
            None
        );
        // The absolute form names the host too.
        assert!(hosts
            .refused(&parts("http://evil.example/", &[("host", "127.0.0.1")]))
            .is_some());
        // A web page's request, whatever its host.
        let page = parts(
            "/",
            &[
                ("host", "127.0.0.1:4000"),
                ("origin", "http://evil.example"),
            ],
        );
        assert!(hosts.refused(&page).unwrap().contains("Origin"));
    }

    #[test]
    fn malformed_hosts_are_refused() {
        let hosts = Hosts::new("127.0.0.1:4000".parse().unwrap(), &[]);
        for bad in [
            "[::1]evil.com",
            "[::1]:evil",
            "localhost:evil",
            "127.0.0.1:abc",
            "127.0.0.1:",
            "127.0.0.1:99999",
            "127.0.0.1:1@evil.com",
            "[::1@evil.com]:1",
            "127.0.0.1:000000000000000000000065536",
            "localhost evil",
            "",
        ] {
            assert!(
                hosts.refused(&parts("/", &[("host", bad)])).is_some(),
                "{bad:?}"
            );
        }
        // User info in the absolute form.
        assert!(hosts
            .refused(&parts("http://127.0.0.1:1@evil.com/summary", &[]))
            .is_some());
        // HTTP/1.1 without Host; HTTP/1.0 without one is served.
        let mut bare = parts("/", &[]);
        assert!(bare.headers.get(hyper::header::HOST).is_none());
        bare.version = hyper::Version::HTTP_11;
        assert!(hosts.refused(&bare).unwrap().contains("Host"));
        bare.version = hyper::Version::HTTP_10;
        assert_eq!(hosts.refused(&bare), None);
    }

    #[test]
    fn a_specific_listen_address_is_its_own_host() {
        let hosts = Hosts::new("10.0.0.5:4000".parse().unwrap(), &[]);
        assert_eq!(
            hosts.refused(&parts("/", &[("host", "10.0.0.5:4000")])),
            None
        );
        assert!(hosts
            .refused(&parts("/", &[("host", "10.0.0.6:4000")]))
            .is_some());
        // Another port of that address is served as before; the wildcard is nobody's host.
        assert_eq!(hosts.refused(&parts("/", &[("host", "10.0.0.5:1")])), None);
        let any = Hosts::new("0.0.0.0:4000".parse().unwrap(), &[]);
        assert!(any
            .refused(&parts("/", &[("host", "0.0.0.0:4000")]))
            .is_some());
        assert_eq!(
            any.refused(&parts("/", &[("host", "127.0.0.1:4000")])),
            None
        );
    }
}
