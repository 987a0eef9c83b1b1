//! Kernel config (`CONFIG_X=y` lines) from /proc/config.gz or /boot/config-<release>.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};

/// A parsed kernel config: option name (without `CONFIG_`) → value (`y`, `m`, `"str"`, 42).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct KernelConfig {
    /// Where it was read from.
    pub source: PathBuf,
    /// The set options; `# CONFIG_X is not set` lines are absent.
    pub options: HashMap<String, String>,
}

impl KernelConfig {
    /// True if `name` is `y` or `m`.
    pub fn enabled(&self, name: &str) -> bool {
        matches!(self.options.get(name).map(String::as_str), Some("y" | "m"))
    }

    /// The value of `name`, if set.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.options.get(name).map(String::as_str)
    }
}

/// Parses the text of a kernel config.
pub fn parse_config(text: &str) -> HashMap<String, String> {
    text.lines()
        .filter_map(|l| {
            let (k, v) = l.trim().strip_prefix("CONFIG_")?.split_once('=')?;
            Some((k.to_owned(), v.to_owned()))
        })
        .collect()
}

/// Reads the config: `<proc>/config.gz` (gzip), else `<boot>/config-<release>`.
/// `Err` says what was tried.
pub(crate) fn read(
    proc: &Path,
    boot: &Path,
    release: Option<&str>,
) -> Result<KernelConfig, String> {
    let gz = proc.join("config.gz");
    let mut tried = Vec::new();
    match std::fs::File::open(&gz) {
        Ok(f) => {
            let mut text = String::new();
            match flate2::read::GzDecoder::new(f).read_to_string(&mut text) {
                Ok(_) => {
                    return Ok(KernelConfig {
                        options: parse_config(&text),
                        source: gz,
                    });
                }
                Err(e) => tried.push(format!("{}: {e}", gz.display())),
            }
        }
        Err(e) => tried.push(format!("{}: {e}", gz.display())),
    }
    if let Some(r) = release {
        let p = boot.join(format!("config-{r}"));
        match std::fs::read_to_string(&p) {
            Ok(text) => {
                return Ok(KernelConfig {
                    options: parse_config(&text),
                    source: p,
                });
            }
            Err(e) => tried.push(format!("{}: {e}", p.display())),
        }
    }
    Err(tried.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_set_options_and_skips_comments() {
        let c = parse_config(
            "# comment\nCONFIG_BPF=y\n# CONFIG_KPROBES is not set\nCONFIG_HZ=250\nCONFIG_X=\"a=b\"\n",
        );
        assert_eq!(c.get("BPF").map(String::as_str), Some("y"));
        assert_eq!(c.get("HZ").map(String::as_str), Some("250"));
        assert_eq!(c.get("X").map(String::as_str), Some("\"a=b\""));
        assert!(!c.contains_key("KPROBES"));
    }
}
