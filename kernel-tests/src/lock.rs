//! `kernels.lock`: the pinned kernel packages, and Debian version ordering.

use std::cmp::Ordering;
use std::fmt;

/// One pinned kernel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pin {
    /// The kernel series, e.g. `6.1`.
    pub series: String,
    /// The Debian suite it comes from (documentation; apt finds it in any listed suite).
    pub suite: String,
    /// The binary package, e.g. `linux-image-6.1.0-57-cloud-amd64-unsigned`.
    pub package: String,
    /// The Debian version, e.g. `6.1.192-3`.
    pub version: String,
    /// sha256 of the `.deb`, lowercase hex.
    pub sha256: String,
}

/// Why a lock file does not parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockError {
    /// 1-based line.
    pub line: usize,
    /// What is wrong.
    pub detail: String,
}

impl fmt::Display for LockError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "kernels.lock line {}: {}", self.line, self.detail)
    }
}

impl std::error::Error for LockError {}

/// Parses `series suite package version sha256` lines (`#` comments, blank lines ok).
pub fn parse(text: &str) -> Result<Vec<Pin>, LockError> {
    let mut pins: Vec<Pin> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let err = |detail: String| LockError {
            line: i + 1,
            detail,
        };
        let f: Vec<&str> = line.split_whitespace().collect();
        let [series, suite, package, version, sha256] = f[..] else {
            return Err(err(format!(
                "expected 5 fields (series suite package version sha256), found {}",
                f.len()
            )));
        };
        if !series_matches(series, package) {
            return Err(err(format!(
                "package {package} is not a cloud kernel of series {series}"
            )));
        }
        if sha256.len() != 64 || !sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(err(format!("sha256 {sha256:?} is not 64 hex digits")));
        }
        if pins.iter().any(|p| p.series == series) {
            return Err(err(format!("series {series} is pinned twice")));
        }
        pins.push(Pin {
            series: series.to_owned(),
            suite: suite.to_owned(),
            package: package.to_owned(),
            version: version.to_owned(),
            sha256: sha256.to_ascii_lowercase(),
        });
    }
    Ok(pins)
}

/// Renders pins in the format [`parse`] reads, after the header comment.
pub fn render(header: &str, pins: &[Pin]) -> String {
    let mut s = header.to_owned();
    for p in pins {
        s.push_str(&format!(
            "{} {} {} {} {}\n",
            p.series, p.suite, p.package, p.version, p.sha256
        ));
    }
    s
}

/// `text` (a lock file) with the pins of `used` whose package, version or sha256
/// differ put in place of their series' line, keeping comments, order and the suite
/// column; `None` when nothing changed. A used series the lock does not pin is an error.
pub fn update(text: &str, used: &[Pin]) -> Result<Option<String>, LockError> {
    let pins = parse(text)?;
    for u in used {
        if !pins.iter().any(|p| p.series == u.series) {
            return Err(LockError {
                line: 0,
                detail: format!("series {} is not pinned, so it cannot be updated", u.series),
            });
        }
    }
    let mut out = String::with_capacity(text.len());
    let mut changed = false;
    for raw in text.split_inclusive('\n') {
        let line = raw.split('#').next().unwrap_or("").trim();
        let series = line.split_whitespace().next().unwrap_or("");
        let old = pins.iter().find(|p| !line.is_empty() && p.series == series);
        let new = used.iter().find(|u| u.series == series);
        match (old, new) {
            (Some(o), Some(n))
                if (&o.package, &o.version, &o.sha256) != (&n.package, &n.version, &n.sha256) =>
            {
                changed = true;
                out.push_str(&format!(
                    "{} {} {} {} {}\n",
                    o.series, o.suite, n.package, n.version, n.sha256
                ));
            }
            _ => out.push_str(raw),
        }
    }
    Ok(changed.then_some(out))
}

/// True if `package` is Debian's cloud kernel image of `series` (`X.Y`):
/// `linux-image-X.Y.0-N-cloud-amd64-unsigned` (5.10, 6.1 naming) or
/// `linux-image-X.Y.N+debNN-cloud-amd64[-unsigned]` (6.12 naming; trixie-backports ships
/// only the signed image, whose bzImage boots the same under qemu). Backports of another
/// suite (`6.1.0-0.deb11.N`) do not count.
pub fn series_matches(series: &str, package: &str) -> bool {
    let Some(rest) = package
        .strip_prefix("linux-image-")
        .and_then(|r| r.strip_prefix(series))
        .and_then(|r| r.strip_prefix('.'))
        .and_then(|r| {
            r.strip_suffix("-cloud-amd64-unsigned")
                .or_else(|| r.strip_suffix("-cloud-amd64"))
        })
    else {
        return false;
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if let Some(abi) = rest.strip_prefix("0-") {
        return digits(abi);
    }
    match rest.split_once("+deb") {
        Some((patch, deb)) => digits(patch) && digits(deb),
        None => false,
    }
}

/// Compares two Debian versions (`[epoch:]upstream[-revision]`) as dpkg does.
pub fn compare_versions(a: &str, b: &str) -> Ordering {
    fn split(v: &str) -> (u64, &str, &str) {
        let (epoch, rest) = match v.split_once(':') {
            Some((e, r)) if e.bytes().all(|b| b.is_ascii_digit()) => (e.parse().unwrap_or(0), r),
            _ => (0, v),
        };
        match rest.rsplit_once('-') {
            Some((u, r)) => (epoch, u, r),
            None => (epoch, rest, ""),
        }
    }
    let (ea, ua, ra) = split(a);
    let (eb, ub, rb) = split(b);
    ea.cmp(&eb)
        .then_with(|| compare_part(ua, ub))
        .then_with(|| compare_part(ra, rb))
}

/// dpkg's `verrevcmp`: alternate non-digit runs (`~` first, then end, letters, others)
/// and digit runs (numerically).
fn compare_part(a: &str, b: &str) -> Ordering {
    fn order(c: Option<u8>) -> i32 {
        match c {
            Some(b'~') => -1,
            None => 0,
            Some(c) if c.is_ascii_digit() => 0,
            Some(c) if c.is_ascii_alphabetic() => i32::from(c),
            Some(c) => i32::from(c) + 256,
        }
    }
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        while (i < a.len() && !a[i].is_ascii_digit()) || (j < b.len() && !b[j].is_ascii_digit()) {
            let (ca, cb) = (order(a.get(i).copied()), order(b.get(j).copied()));
            if ca != cb {
                return ca.cmp(&cb);
            }
            i += 1;
            j += 1;
        }
        let start_i = i;
        while i < a.len() && a[i].is_ascii_digit() {
            i += 1;
        }
        let start_j = j;
        while j < b.len() && b[j].is_ascii_digit() {
            j += 1;
        }
        let na = std::str::from_utf8(&a[start_i..i]).unwrap_or("0");
        let nb = std::str::from_utf8(&b[start_j..j]).unwrap_or("0");
        let (na, nb) = (na.trim_start_matches('0'), nb.trim_start_matches('0'));
        let c = na.len().cmp(&nb.len()).then_with(|| na.cmp(nb));
        if c != Ordering::Equal {
            return c;
        }
    }
    Ordering::Equal
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cmp::Ordering::*;

    const SHA: &str = "f1d1c1e4aeab51b6b92177fcbe9a69f781d6e095288844f6fd2f264e44e2fddf";

    #[test]
    fn parses_pins_and_rejects_bad_lines() {
        let text = format!(
            "# header\n\n5.10 bullseye linux-image-5.10.0-43-cloud-amd64-unsigned 5.10.251-5 {SHA} # note\n"
        );
        let pins = parse(&text).unwrap();
        assert_eq!(pins.len(), 1);
        assert_eq!(pins[0].version, "5.10.251-5");
        assert_eq!(parse(&render("# h\n", &pins)).unwrap(), pins);

        let e = parse("6.1 bookworm linux-image-6.1.0-57-cloud-amd64-unsigned 6.1.192-3\n")
            .unwrap_err();
        assert_eq!(e.line, 1);
        assert!(e.detail.contains("5 fields"), "{e}");
        let e = parse(&format!(
            "6.1 bookworm linux-image-6.12.1+deb12-cloud-amd64-unsigned 1 {SHA}"
        ))
        .unwrap_err();
        assert!(e.detail.contains("not a cloud kernel of series 6.1"), "{e}");
        let e = parse("6.1 b linux-image-6.1.0-5-cloud-amd64-unsigned 1 abc").unwrap_err();
        assert!(e.detail.contains("64 hex"), "{e}");
        let line = format!("6.1 b linux-image-6.1.0-5-cloud-amd64-unsigned 1 {SHA}\n");
        let e = parse(&format!("{line}{line}")).unwrap_err();
        assert_eq!(e.line, 2);
    }

    #[test]
    fn update_replaces_only_the_re_resolved_series_and_keeps_comments() {
        let sha_a = "a".repeat(64);
        let sha_b = "b".repeat(64);
        let text = format!(
            "# header\n6.1 bookworm linux-image-6.1.0-57-cloud-amd64-unsigned 6.1.192-3 {sha_a}\n\
             \n5.10 bullseye linux-image-5.10.0-43-cloud-amd64-unsigned 5.10.251-5 {sha_a}\n"
        );
        let mut used = parse(&text).unwrap();
        assert_eq!(update(&text, &used).unwrap(), None, "nothing changed");
        used[1].package = "linux-image-5.10.0-44-cloud-amd64-unsigned".into();
        used[1].version = "5.10.260-1".into();
        used[1].suite = "ignored-suite".into();
        used[1].sha256 = sha_b.clone();
        let new = update(&text, &used).unwrap().unwrap();
        assert_eq!(
            new,
            format!(
                "# header\n6.1 bookworm linux-image-6.1.0-57-cloud-amd64-unsigned 6.1.192-3 {sha_a}\n\
                 \n5.10 bullseye linux-image-5.10.0-44-cloud-amd64-unsigned 5.10.260-1 {sha_b}\n"
            )
        );
        assert_eq!(parse(&new).unwrap()[1].version, "5.10.260-1");
        let mut stray = used[0].clone();
        stray.series = "6.6".into();
        assert!(update(&text, &[stray]).unwrap_err().detail.contains("6.6"));
    }

    #[test]
    fn series_matching_follows_debian_names() {
        assert!(series_matches(
            "6.1",
            "linux-image-6.1.0-57-cloud-amd64-unsigned"
        ));
        assert!(series_matches(
            "6.12",
            "linux-image-6.12.117+deb12-cloud-amd64-unsigned"
        ));
        assert!(series_matches(
            "5.10",
            "linux-image-5.10.0-43-cloud-amd64-unsigned"
        ));
        assert!(!series_matches(
            "6.1",
            "linux-image-6.12.117+deb12-cloud-amd64-unsigned"
        ));
        assert!(!series_matches(
            "6.1",
            "linux-image-6.1.0-0.deb11.52-cloud-amd64-unsigned"
        ));
        assert!(series_matches("6.1", "linux-image-6.1.0-57-cloud-amd64"));
        assert!(series_matches(
            "6.19",
            "linux-image-6.19.14+deb13-cloud-amd64"
        ));
        assert!(!series_matches(
            "6.19",
            "linux-image-6.19.14+deb13-cloud-amd64-dbg"
        ));
        assert!(!series_matches(
            "6.1",
            "linux-image-6.1.0-57-amd64-unsigned"
        ));
    }

    #[test]
    fn versions_compare_like_dpkg() {
        assert_eq!(compare_versions("5.10.262-1", "5.10.251-5"), Greater);
        assert_eq!(compare_versions("6.1.192-3", "6.1.192-2"), Greater);
        assert_eq!(
            compare_versions("6.12.95-1~bpo12+1", "6.12.107-1~deb12u1"),
            Less
        );
        assert_eq!(compare_versions("1.0~rc1-1", "1.0-1"), Less);
        assert_eq!(compare_versions("1:1.0-1", "2.0-1"), Greater);
        assert_eq!(compare_versions("1.0-1", "1.0-1"), Equal);
        assert_eq!(compare_versions("1.0a-1", "1.0-1"), Greater);
        assert_eq!(compare_versions("1.0+x", "1.0a"), Greater);
    }
}
