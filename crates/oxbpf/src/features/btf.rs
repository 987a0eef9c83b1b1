//! BTF feature probes: which BTF kinds `BPF_BTF_LOAD` accepts.

use std::borrow::Cow;
use std::sync::OnceLock;

use oxbpf_btf::{
    Btf, BtfBuilder, BtfFeatures, INT_SIGNED, LINKAGE_GLOBAL, LINKAGE_STATIC, VAR_STATIC,
};
use oxbpf_sys::Errno;
use oxbpf_sys::bpf;

use super::Support;

/// The result of one BTF feature probe.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BtfProbe {
    /// The [`BtfFeatures`] field this probe decides (`"float"`).
    pub feature: &'static str,
    /// What was probed, for people (`"BTF_KIND_FLOAT"`).
    pub what: &'static str,
    /// The first kernel release with the feature.
    pub since: &'static str,
    /// The kernel's answer.
    pub support: Support,
}

/// (feature, description, first kernel, probe blob builder), in [`BtfFeatures::iter`] order.
type ProbeDef = (&'static str, &'static str, &'static str, fn() -> Vec<u8>);

const PROBES: &[ProbeDef] = &[
    ("func", "BTF_KIND_FUNC and FUNC_PROTO", "5.0", func_blob),
    (
        "func_global",
        "BTF FUNC with global linkage",
        "5.6",
        func_global_blob,
    ),
    ("datasec", "BTF_KIND_VAR and DATASEC", "5.2", datasec_blob),
    (
        "qmark_datasec",
        "BTF DATASEC names starting with '?'",
        "6.10",
        qmark_datasec_blob,
    ),
    ("float", "BTF_KIND_FLOAT", "5.13", float_blob),
    ("decl_tag", "BTF_KIND_DECL_TAG", "5.16", decl_tag_blob),
    ("type_tag", "BTF_KIND_TYPE_TAG", "5.17", type_tag_blob),
    ("enum64", "BTF_KIND_ENUM64", "6.0", enum64_blob),
];

/// `int` alone: any kernel with BTF accepts it.
fn minimal_blob() -> Vec<u8> {
    let mut b = BtfBuilder::new();
    b.add_int("int", 4, INT_SIGNED);
    b.build_endian(oxbpf_btf::Endian::native())
}

/// `void x(int a)` with the given FUNC linkage.
fn func_with_linkage(linkage: u16) -> Vec<u8> {
    let mut b = BtfBuilder::new();
    let int = b.add_int("int", 4, INT_SIGNED);
    let proto = b.add_func_proto(0, &[("a", int)]);
    b.add_func("x", proto, linkage);
    b.build_endian(oxbpf_btf::Endian::native())
}

fn func_blob() -> Vec<u8> {
    func_with_linkage(LINKAGE_STATIC)
}

fn func_global_blob() -> Vec<u8> {
    func_with_linkage(LINKAGE_GLOBAL)
}

/// `static int x;` in a DATASEC named `sec`.
fn datasec_named(sec: &str) -> Vec<u8> {
    let mut b = BtfBuilder::new();
    let int = b.add_int("", 4, INT_SIGNED);
    let var = b.add_var("x", int, VAR_STATIC);
    b.add_datasec(sec, 4, &[(var, 0, 4)]);
    b.build_endian(oxbpf_btf::Endian::native())
}

fn datasec_blob() -> Vec<u8> {
    datasec_named(".data")
}

fn qmark_datasec_blob() -> Vec<u8> {
    datasec_named("?.data")
}

fn float_blob() -> Vec<u8> {
    let mut b = BtfBuilder::new();
    b.add_float("float", 4);
    b.build_endian(oxbpf_btf::Endian::native())
}

fn decl_tag_blob() -> Vec<u8> {
    let mut b = BtfBuilder::new();
    let int = b.add_int("", 4, INT_SIGNED);
    let var = b.add_var("tag", int, VAR_STATIC);
    b.add_decl_tag("tag", var, -1);
    b.build_endian(oxbpf_btf::Endian::native())
}

fn type_tag_blob() -> Vec<u8> {
    let mut b = BtfBuilder::new();
    let int = b.add_int("", 4, INT_SIGNED);
    let tag = b.add_type_tag("tag", int);
    b.add_ptr(tag);
    b.build_endian(oxbpf_btf::Endian::native())
}

fn enum64_blob() -> Vec<u8> {
    let mut b = BtfBuilder::new();
    b.add_enum64("enum64", 8, false, &[]);
    b.build_endian(oxbpf_btf::Endian::native())
}

/// Load `blob`; the fd is closed right away.
fn try_load(blob: &[u8]) -> Result<(), oxbpf_sys::Error> {
    bpf::btf_load(blob, &mut []).map(drop)
}

/// Errors that say nothing about the feature: no permission, no `bpf()`.
fn is_inconclusive(e: &oxbpf_sys::Error) -> bool {
    matches!(
        e.errno(),
        Some(Errno::EPERM) | Some(Errno::EACCES) | Some(Errno::ENOSYS) | None
    )
}

/// What a probe's load result says about the feature.
fn classify(r: Result<(), oxbpf_sys::Error>) -> Support {
    match r {
        Ok(()) => Support::Yes,
        Err(e) if is_inconclusive(&e) => Support::Unknown(e.to_string()),
        Err(_) => Support::No,
    }
}

/// Run every BTF probe now (uncached; [`btf_probes`] caches).
///
/// If even a minimal BTF blob is refused, every probe is [`Support::Unknown`]: the kernel
/// takes no BTF at all (or not from us), which no rewriting fixes.
pub fn probe_btf_features() -> Vec<BtfProbe> {
    let base = try_load(&minimal_blob()).err();
    PROBES
        .iter()
        .map(|&(feature, what, since, blob)| {
            let support = match &base {
                Some(e) => Support::Unknown(format!("minimal BTF refused: {e}")),
                None => classify(try_load(&blob())),
            };
            BtfProbe {
                feature,
                what,
                since,
                support,
            }
        })
        .collect()
}

/// The BTF probes of this kernel, run on first call and kept for the process.
pub fn btf_probes() -> &'static [BtfProbe] {
    static PROBED: OnceLock<Vec<BtfProbe>> = OnceLock::new();
    PROBED.get_or_init(probe_btf_features)
}

/// The BTF features of this kernel (probed once per process); unknown counts as present.
pub fn btf_features() -> &'static BtfFeatures {
    static FEATURES: OnceLock<BtfFeatures> = OnceLock::new();
    FEATURES.get_or_init(|| {
        let mut f = BtfFeatures::all();
        for p in btf_probes() {
            f.set(p.feature, p.support.assumed_present());
        }
        f
    })
}

/// `btf` (a `.BTF` blob) rewritten for a kernel with `features`: borrowed unchanged when
/// every feature is present, else [`oxbpf_btf::sanitize`]d.
pub fn sanitize_for<'a>(btf: &'a [u8], features: &BtfFeatures) -> oxbpf_btf::Result<Cow<'a, [u8]>> {
    if features.is_all() {
        return Ok(Cow::Borrowed(btf));
    }
    let parsed = Btf::parse(btf)?;
    oxbpf_btf::sanitize(&parsed, features).map(Cow::Owned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use oxbpf_btf::{Kind, Type};

    #[test]
    fn probes_cover_every_feature_in_order() {
        let names: Vec<&str> = PROBES.iter().map(|p| p.0).collect();
        let want: Vec<&str> = BtfFeatures::all().iter().map(|(n, _)| n).collect();
        assert_eq!(names, want);
    }

    #[test]
    fn each_probe_blob_parses_and_holds_its_kind() {
        let want = [
            (Kind::Func, "x"),
            (Kind::Func, "x"),
            (Kind::Datasec, ".data"),
            (Kind::Datasec, "?.data"),
            (Kind::Float, "float"),
            (Kind::DeclTag, "tag"),
            (Kind::TypeTag, "tag"),
            (Kind::Enum64, "enum64"),
        ];
        for (p, (kind, name)) in PROBES.iter().zip(want) {
            let blob = (p.3)();
            let btf = Btf::parse(&blob).unwrap();
            let found = btf
                .types()
                .map(|t| t.unwrap().1)
                .find(|t| t.kind() == kind)
                .unwrap_or_else(|| panic!("{}: no {kind:?}", p.0));
            assert_eq!(found.name(), name, "{}", p.0);
        }
        let blob = func_global_blob();
        let btf = Btf::parse(&blob).unwrap();
        let Type::Func(f) = btf.type_by_id(3).unwrap() else {
            panic!()
        };
        assert_eq!(f.linkage, LINKAGE_GLOBAL);
    }

    #[test]
    fn sanitize_for_borrows_when_nothing_is_missing() {
        let blob = float_blob();
        assert!(matches!(
            sanitize_for(&blob, &BtfFeatures::all()).unwrap(),
            Cow::Borrowed(_)
        ));
        let mut f = BtfFeatures::all();
        f.float = false;
        let out = sanitize_for(&blob, &f).unwrap();
        let btf = Btf::parse(&out).unwrap();
        assert_eq!(btf.kind(1).unwrap(), Kind::Struct);
        assert!(sanitize_for(b"junk", &f).is_err());
    }

    #[test]
    fn einval_means_missing_and_permission_errors_mean_unknown() {
        let err = |errno| {
            Err(oxbpf_sys::Error::Syscall {
                call: "BPF_BTF_LOAD",
                errno,
            })
        };
        assert_eq!(classify(Ok(())), Support::Yes);
        assert_eq!(classify(err(Errno::EINVAL)), Support::No);
        assert_eq!(classify(err(Errno::E2BIG)), Support::No);
        for errno in [Errno::EPERM, Errno::EACCES, Errno::ENOSYS] {
            let Support::Unknown(why) = classify(err(errno)) else {
                panic!("{errno}")
            };
            assert!(why.starts_with("BPF_BTF_LOAD: "), "{why}");
        }
    }

    #[test]
    fn unknown_counts_as_present() {
        assert!(Support::Yes.assumed_present());
        assert!(Support::Unknown("EPERM".into()).assumed_present());
        assert!(!Support::No.assumed_present());
    }
}
