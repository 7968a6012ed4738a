//! ACL 1.0 `whiteRemoteAddress` patterns as ACL 2.0 `sourceIps` (IPs and CIDR blocks, the only
//! forms 5.3.3 `IPAddressUtils.isValidIPOrCidr` takes). The patterns are those of 4.9.8
//! `RemoteAddressStrategyFactory`: blank (matches nothing), `*` (everything), one address, a
//! comma list, `a.b.c.{x,y}`, and ranges where the first field holding `*` or `m-n` is the
//! range and later fields are ignored (`10.0.*.*`, `10.0.1-5.*`, `192.168.1.10-20`).

use std::net::{IpAddr, Ipv4Addr};

/// What a pattern lets through.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Addresses {
    /// Blank: the account has no white address.
    Nobody,
    /// `*`, `*.*.*.*`, `*:*:*:*:*:*:*:*`.
    Everyone,
    /// IPs and CIDR blocks.
    Listed(Vec<String>),
}

pub(crate) fn parse(pattern: &str) -> Result<Addresses, String> {
    let p = pattern.trim();
    if p.is_empty() {
        return Ok(Addresses::Nobody);
    }
    if matches!(p, "*" | "*.*.*.*" | "*:*:*:*:*:*:*:*") {
        return Ok(Addresses::Everyone);
    }
    let cannot =
        |why: &str| format!("whiteRemoteAddress '{p}' cannot be written as ACL 2.0 sourceIps: {why}");
    if p.ends_with('}') {
        let (head, tail) = p.split_once('{').ok_or_else(|| cannot("unbalanced braces"))?;
        if p.contains(':') {
            return Err(cannot("IPv6 brace lists are not supported"));
        }
        let ips = tail
            .trim_end_matches('}')
            .split(',')
            .map(|last| {
                single(&format!("{head}{}", last.trim())).ok_or_else(|| cannot("not an address list"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        return Ok(Addresses::Listed(ips));
    }
    if p.contains(',') {
        let ips = p
            .split(',')
            .map(|a| single(a.trim()).ok_or_else(|| cannot("not a list of addresses")))
            .collect::<Result<Vec<_>, _>>()?;
        return Ok(Addresses::Listed(ips));
    }
    if p.contains('*') || p.contains('-') {
        if p.contains(':') {
            return Err(cannot("IPv6 ranges are not supported"));
        }
        let (low, high) = ipv4_range(p).ok_or_else(|| cannot("not an IPv4 range"))?;
        return Ok(Addresses::Listed(cidrs(low, high)));
    }
    single(p).map(|ip| Addresses::Listed(vec![ip])).ok_or_else(|| cannot("not an address"))
}

fn single(text: &str) -> Option<String> {
    text.parse::<IpAddr>().ok().map(|ip| ip.to_string())
}

/// `a.b.*.*` or `a.b.m-n.*` and the like: the first and last address the range covers.
fn ipv4_range(p: &str) -> Option<(u32, u32)> {
    let fields: Vec<&str> = p.split('.').map(str::trim).collect();
    if fields.len() != 4 {
        return None;
    }
    let at = (1..4).find(|i| fields[*i] == "*" || fields[*i].contains('-'))?;
    let mut low = [0u8; 4];
    let mut high = [255u8; 4];
    for i in 0..at {
        let n: u8 = fields[i].parse().ok()?;
        low[i] = n;
        high[i] = n;
    }
    let (from, to) = match fields[at] {
        "*" => (0, 255),
        range => {
            let (a, b) = range.split_once('-')?;
            (a.trim().parse::<u8>().ok()?, b.trim().parse::<u8>().ok()?)
        }
    };
    if from > to {
        return None;
    }
    low[at] = from;
    high[at] = to;
    Some((u32::from(Ipv4Addr::from(low)), u32::from(Ipv4Addr::from(high))))
}

/// The fewest CIDR blocks covering exactly `low..=high`; a one-address block as a plain IP.
fn cidrs(low: u32, high: u32) -> Vec<String> {
    let mut out = Vec::new();
    let mut at = u64::from(low);
    while at <= u64::from(high) {
        let mut bits = if at == 0 { 32 } else { at.trailing_zeros().min(32) };
        while at + (1u64 << bits) - 1 > u64::from(high) {
            bits -= 1;
        }
        let ip = Ipv4Addr::from(u32::try_from(at).unwrap_or(u32::MAX));
        out.push(if bits == 0 { ip.to_string() } else { format!("{ip}/{}", 32 - bits) });
        at += 1u64 << bits;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listed(p: &str) -> Vec<String> {
        match parse(p).unwrap() {
            Addresses::Listed(v) => v,
            other => panic!("{p}: {other:?}"),
        }
    }

    #[test]
    fn the_4_9_8_patterns_become_ips_and_cidr_blocks() {
        assert_eq!(listed("10.0.0.*"), vec!["10.0.0.0/24"]);
        assert_eq!(listed("10.*.*.*"), vec!["10.0.0.0/8"]);
        assert_eq!(listed("10.0.*.5"), vec!["10.0.0.0/16"], "later fields are ignored, as in 4.9.8");
        assert_eq!(listed("192.168.1.10-13"), vec!["192.168.1.10/31", "192.168.1.12/31"]);
        assert_eq!(listed("192.168.1.7-8"), vec!["192.168.1.7", "192.168.1.8"]);
        assert_eq!(listed("10.0.1-2.*"), vec!["10.0.1.0/24", "10.0.2.0/24"]);
        assert_eq!(listed("10.0.0.{1,2}"), vec!["10.0.0.1", "10.0.0.2"]);
        assert_eq!(listed("10.0.0.1, 10.0.0.9"), vec!["10.0.0.1", "10.0.0.9"]);
        assert_eq!(listed("::1"), vec!["::1"]);
        assert_eq!(parse("*").unwrap(), Addresses::Everyone);
        assert_eq!(parse(" ").unwrap(), Addresses::Nobody);
    }

    #[test]
    fn patterns_acl2_cannot_express_are_refused_with_the_pattern() {
        for p in [
            "fe80::*",
            "1:2:3:4:5:6:7:{1,2}",
            "10.0.0",
            "10.0.0.300",
            "*.0.0.1",
            "10.0.9-1.*",
            "host.example",
        ] {
            let e = parse(p).unwrap_err();
            assert!(e.contains(p.trim()), "{e}");
        }
    }
}
