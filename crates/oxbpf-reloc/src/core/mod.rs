//! CO-RE (compile once, run everywhere) relocation: pure functions from (local BTF, target
//! BTF set, `bpf_core_relo` record) to a patched or poisoned instruction and an
//! explanation, with the semantics of the kernel's `tools/lib/bpf/relo_core.c`.
//!
//! - [`calc_relo`] computes one relocation: it parses the access string against the
//!   local type, finds target candidates by essential name (flavour suffix `___x`
//!   stripped) — vmlinux first, module BTF only if vmlinux has none — matches each, and
//!   requires every matching candidate to agree. The vmlinux candidates of all of an
//!   object's local types are found in one pass over it ([`CandidateQueries`], run by
//!   [`apply_core`] or ahead of it by the loader), not by building its whole name index;
//!   other lookups go through the index.
//! - [`patch_insn`] writes the result into ALU imm, LDX/ST/STX off (and size), or
//!   ld_imm64, checking the instruction holds the locally computed value; a relocation
//!   that cannot be satisfied poisons the instruction with a call to helper
//!   [`POISON_HELPER`] (0xbad2310), as libbpf does, so the verifier stops there.
//! - [`apply_core`] runs both over every record of a linked program's functions.
//!
//! Where libbpf and the kernel's own CO-RE (BPF_PROG_LOAD with core_relos) differ, this
//! follows libbpf: the candidates of a local type are cached per [`Targets`] and narrowed
//! to those that matched, so a later relocation of the same local type sees only those
//! (the kernel starts from all candidates for every record). `just core-compat` checks the
//! instructions against libbpf's on the kernel's CO-RE selftests.
//!
//! ```
//! use oxbpf_btf::{Btf, BtfBuilder, CoreRelo, INT_SIGNED};
//! use oxbpf_reloc::{ReloKind, Targets, calc_relo};
//!
//! // Local: struct task_struct___mine { int pid; }; the kernel has pid at byte 8.
//! let mut l = BtfBuilder::new();
//! let int = l.add_int("int", 4, INT_SIGNED);
//! let local_ty = l.add_struct("task_struct___mine", 4, &[("pid", int, 0)]);
//! let access = l.add_str("0:0");
//! let mut k = BtfBuilder::new();
//! let kint = k.add_int("int", 4, INT_SIGNED);
//! k.add_struct("task_struct", 12, &[("state", kint, 0), ("pid", kint, 64)]);
//! let (l, k) = (l.build(), k.build());
//! let (local, kernel) = (Btf::parse(&l)?, Btf::parse(&k)?);
//!
//! let relo = CoreRelo { insn_off: 0, type_id: local_ty, access_str_off: access, kind: 0 };
//! let ex = calc_relo(&local, &relo, &Targets::new("vmlinux", &kernel))?;
//! assert_eq!(ex.kind, ReloKind::FieldByteOffset);
//! assert_eq!(ex.local, "task_struct___mine::pid");
//! assert_eq!((ex.result.orig_val, ex.result.new_val), (0, 8));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod compat;
mod patch;
mod prefetch;
mod spec;

use oxbpf_btf::{Btf, BtfExt, CoreRelo, Type, TypeId};

pub use patch::{POISON_HELPER, is_poisoned, patch_insn};
pub use prefetch::{CandidateQueries, MainCandidates};

use spec::{Spec, format_spec, match_spec, parse_spec};

/// `enum bpf_core_relo_kind`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ReloKind {
    /// Byte offset of a field.
    FieldByteOffset,
    /// Byte size of a field.
    FieldByteSize,
    /// Whether a field exists (1/0).
    FieldExists,
    /// Whether a field is signed (1/0).
    FieldSigned,
    /// Left shift to extract a bitfield from a u64.
    FieldLshiftU64,
    /// Right shift to extract a bitfield from a u64.
    FieldRshiftU64,
    /// The local BTF type id.
    TypeIdLocal,
    /// The target BTF type id.
    TypeIdTarget,
    /// Whether the type exists in the target (1/0).
    TypeExists,
    /// Byte size of the target type.
    TypeSize,
    /// Whether an enumerator exists (1/0).
    EnumvalExists,
    /// The enumerator's value in the target.
    EnumvalValue,
    /// Whether the type matches the target structurally (1/0).
    TypeMatches,
}

impl ReloKind {
    /// The kind for the raw `bpf_core_relo::kind`.
    pub fn from_raw(raw: u32) -> Option<ReloKind> {
        use ReloKind::*;
        Some(match raw {
            0 => FieldByteOffset,
            1 => FieldByteSize,
            2 => FieldExists,
            3 => FieldSigned,
            4 => FieldLshiftU64,
            5 => FieldRshiftU64,
            6 => TypeIdLocal,
            7 => TypeIdTarget,
            8 => TypeExists,
            9 => TypeSize,
            10 => EnumvalExists,
            11 => EnumvalValue,
            12 => TypeMatches,
            _ => return None,
        })
    }

    /// libbpf's short name of the kind (`byte_off`, `field_exists`, ...).
    pub fn name(self) -> &'static str {
        use ReloKind::*;
        match self {
            FieldByteOffset => "byte_off",
            FieldByteSize => "byte_sz",
            FieldExists => "field_exists",
            FieldSigned => "signed",
            FieldLshiftU64 => "lshift_u64",
            FieldRshiftU64 => "rshift_u64",
            TypeIdLocal => "local_type_id",
            TypeIdTarget => "target_type_id",
            TypeExists => "type_exists",
            TypeSize => "type_size",
            EnumvalExists => "enumval_exists",
            EnumvalValue => "enumval_value",
            TypeMatches => "type_matches",
        }
    }

    /// A field relocation (kinds 0..=5).
    pub fn is_field_based(self) -> bool {
        use ReloKind::*;
        matches!(
            self,
            FieldByteOffset
                | FieldByteSize
                | FieldExists
                | FieldSigned
                | FieldLshiftU64
                | FieldRshiftU64
        )
    }

    /// A type relocation (type ids, exists, size, matches).
    pub fn is_type_based(self) -> bool {
        use ReloKind::*;
        matches!(
            self,
            TypeIdLocal | TypeIdTarget | TypeExists | TypeSize | TypeMatches
        )
    }

    /// An enumerator relocation.
    pub fn is_enumval_based(self) -> bool {
        matches!(self, ReloKind::EnumvalExists | ReloKind::EnumvalValue)
    }
}

impl std::fmt::Display for ReloKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Module BTFs as (module name, BTF split on the main one).
pub type ModuleBtfs<'t, 'a> = Vec<(String, &'t Btf<'a>)>;

type LoadModules<'t, 'a> = Box<dyn Fn() -> ModuleBtfs<'t, 'a> + 't>;

/// A target candidate: (BTF name, BTF, type id).
type Cand<'t, 'a> = (String, &'t Btf<'a>, TypeId);

/// The target BTF set of a load: the main BTF (vmlinux or a file given instead) and
/// module BTFs, the latter searched only when the main BTF has no candidate.
///
/// Use one `Targets` per object (one local BTF): like libbpf, it caches the candidates of
/// each local type id and narrows them to those that matched, so relocations of one
/// local type must agree on which target types they see.
pub struct Targets<'t, 'a> {
    main: &'t Btf<'a>,
    main_name: String,
    modules: std::cell::OnceCell<Vec<(String, &'t Btf<'a>)>>,
    /// Candidates per local type id, narrowed to those that matched (as libbpf's
    /// candidate cache: a later relocation of the same local type only sees candidates
    /// that matched the earlier ones).
    cands: std::cell::RefCell<std::collections::HashMap<TypeId, Vec<Cand<'t, 'a>>>>,
    /// Main-BTF candidate ids per local type id, found for all of an object's local types
    /// in one pass ([`Targets::prefetch`], [`Targets::with_main_candidates`]); `None`
    /// until then.
    main_cands: std::cell::RefCell<Option<MainCandidates>>,
    load_modules: Option<LoadModules<'t, 'a>>,
}

impl std::fmt::Debug for Targets<'_, '_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Targets")
            .field("main", &self.main_name)
            .field("modules", &self.modules.get().map(Vec::len))
            .finish()
    }
}

impl<'t, 'a> Targets<'t, 'a> {
    /// Only `main` (named `name` in explanations, e.g. "vmlinux").
    pub fn new(name: impl Into<String>, main: &'t Btf<'a>) -> Self {
        Targets {
            main,
            main_name: name.into(),
            modules: std::cell::OnceCell::new(),
            cands: Default::default(),
            main_cands: Default::default(),
            load_modules: None,
        }
    }

    /// Adds module BTFs (split on `main`) as (name, btf).
    pub fn with_modules(self, modules: Vec<(String, &'t Btf<'a>)>) -> Self {
        let _ = self.modules.set(modules);
        self
    }

    /// Adds module BTFs loaded by `load` the first time a relocation has no candidate in
    /// the main BTF.
    pub fn with_lazy_modules(mut self, load: impl Fn() -> Vec<(String, &'t Btf<'a>)> + 't) -> Self {
        self.load_modules = Some(Box::new(load));
        self
    }

    fn modules(&self) -> &[(String, &'t Btf<'a>)] {
        self.modules.get_or_init(|| match &self.load_modules {
            Some(f) => f(),
            None => Vec::new(),
        })
    }
}

/// One target type considered for a relocation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Candidate {
    /// The BTF it lives in ("vmlinux" or a module name).
    pub btf: String,
    /// Its type id there.
    pub type_id: TypeId,
    /// Its name and the access path it matched, as C text (or the name alone if rejected).
    pub path: String,
    /// Whether its spec matched.
    pub accepted: bool,
    /// Why it was accepted (the value it gives) or rejected.
    pub reason: String,
    /// The value it gives, if accepted.
    pub value: Option<u64>,
}

/// The computed outcome of a relocation (libbpf's `bpf_core_relo_res`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReloResult {
    /// The value computed from the local BTF: what the instruction should hold now.
    pub orig_val: u64,
    /// The value for the target.
    pub new_val: u64,
    /// The relocation cannot be satisfied: poison the instruction.
    pub poison: bool,
    /// Check that the instruction holds `orig_val` before patching.
    pub validate: bool,
    /// Local field size (byte-offset relocations of non-bitfields), for memory-size
    /// adjustment of loads/stores.
    pub orig_sz: u32,
    /// Target field size.
    pub new_sz: u32,
    /// The sizes differ in a way a load/store cannot be adjusted to: poison LDX/ST/STX.
    pub fail_memsz_adjust: bool,
}

/// What a relocation did and why — printed by `oxbpf load --explain-core` and listed in
/// errors.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReloExplanation {
    /// Slot index of the instruction in the linked program (set by [`apply_core`]; the
    /// record's section-relative slot for [`calc_relo`]).
    pub insn: usize,
    /// The function the instruction belongs to.
    pub function: String,
    /// Kind of relocation.
    pub kind: ReloKind,
    /// Local type id.
    pub local_type_id: TypeId,
    /// The local access as C text: `task_struct::pid`.
    pub local: String,
    /// The raw access string ("0:1").
    pub access: String,
    /// Every target candidate considered.
    pub candidates: Vec<Candidate>,
    /// The result.
    pub result: ReloResult,
    /// What happened to the instruction ("patched imm 4 -> 8", "poisoned: ...").
    pub outcome: String,
}

impl std::fmt::Display for ReloExplanation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "insn {} ({}): {} {} [{}] -> ",
            self.insn, self.function, self.kind, self.local, self.access
        )?;
        if self.result.poison {
            write!(f, "POISONED")?;
        } else {
            write!(
                f,
                "{} (local {})",
                self.result.new_val, self.result.orig_val
            )?;
        }
        if !self.outcome.is_empty() {
            write!(f, "; {}", self.outcome)?;
        }
        for c in &self.candidates {
            write!(
                f,
                "\n    {} {}[{}] {}: {}",
                if c.accepted { "+" } else { "-" },
                c.btf,
                c.type_id,
                c.path,
                c.reason
            )?;
        }
        Ok(())
    }
}

/// Internal failure of a relocation computation.
#[derive(Debug)]
pub(crate) enum CoreFail {
    Btf(oxbpf_btf::Error),
    Invalid(String),
}

impl From<oxbpf_btf::Error> for CoreFail {
    fn from(e: oxbpf_btf::Error) -> Self {
        CoreFail::Btf(e)
    }
}

impl std::fmt::Display for CoreFail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CoreFail::Btf(e) => write!(f, "BTF: {e}"),
            CoreFail::Invalid(s) => f.write_str(s),
        }
    }
}

/// Why [`calc_relo`] failed (not "no match", which poisons, but a relocation that
/// cannot be computed at all).
#[derive(Debug, thiserror::Error)]
#[error(
    "CO-RE relocation {} (kind {kind_raw}) of local type {type_id}, access {access:?}: {reason}",
    ReloKind::from_raw(*kind_raw).map_or("unknown", ReloKind::name)
)]
pub struct CoreError {
    /// Raw kind.
    pub kind_raw: u32,
    /// Local type id.
    pub type_id: TypeId,
    /// Access string.
    pub access: String,
    /// What is wrong (with the candidates, for ambiguity).
    pub reason: String,
}

/// A field's value in one spec (`bpf_core_calc_field_relo`): (value, field size, field
/// type id, validate).
fn field_value(
    btf: &Btf<'_>,
    spec: &Spec,
    kind: ReloKind,
) -> Result<(u64, u32, TypeId, bool), CoreFail> {
    let Some(acc) = spec.acc.last() else {
        return Err(CoreFail::Invalid("empty field spec".into()));
    };
    if acc.name.is_none() {
        let sz = btf.resolve_size(acc.type_id)?;
        return match kind {
            ReloKind::FieldByteOffset => Ok((spec.bit_offset / 8, sz, acc.type_id, true)),
            ReloKind::FieldByteSize => Ok((u64::from(sz), 0, 0, true)),
            _ => Err(CoreFail::Invalid(format!(
                "{kind} relocation cannot be applied to an array element access"
            ))),
        };
    }
    let m = match btf.type_by_id(acc.type_id)? {
        Type::Struct(c) | Type::Union(c) => {
            c.members().nth(acc.idx as usize).ok_or_else(|| {
                CoreFail::Invalid(format!("member {} of type {}", acc.idx, acc.type_id))
            })??
        }
        _ => {
            return Err(CoreFail::Invalid(format!(
                "type {} has no members",
                acc.type_id
            )));
        }
    };
    let field_ty = btf.skip_mods_and_typedefs(m.ty)?;
    let mt = btf.type_by_id(field_ty)?;
    let bit_off = spec.bit_offset;
    let mut bit_sz = u64::from(m.bitfield_size);
    let bitfield = bit_sz > 0;
    let (byte_off, byte_sz) = if bitfield {
        let mut byte_sz = u64::from(btf.resolve_size(field_ty)?);
        if byte_sz == 0 {
            return Err(CoreFail::Invalid(format!(
                "bitfield of zero-size type {field_ty}"
            )));
        }
        let mut byte_off = bit_off / 8 / byte_sz * byte_sz;
        while bit_off + bit_sz - byte_off * 8 > byte_sz * 8 {
            if byte_sz >= 8 {
                return Err(CoreFail::Invalid(format!(
                    "bitfield {} at bit {bit_off} cannot be read with a 64-bit load",
                    m.name
                )));
            }
            byte_sz *= 2;
            byte_off = bit_off / 8 / byte_sz * byte_sz;
        }
        (byte_off, byte_sz)
    } else {
        let sz = u64::from(btf.resolve_size(field_ty)?);
        bit_sz = sz * 8;
        (bit_off / 8, sz)
    };
    let mut validate = !bitfield;
    let (mut fsz, mut fty) = (0, 0);
    let val = match kind {
        ReloKind::FieldByteOffset => {
            if !bitfield {
                fsz = byte_sz as u32;
                fty = field_ty;
            }
            byte_off
        }
        ReloKind::FieldByteSize => byte_sz,
        ReloKind::FieldSigned => {
            validate = true;
            u64::from(match mt {
                Type::Enum(e) | Type::Enum64(e) => e.signed,
                Type::Int(i) => i.encoding & oxbpf_btf::INT_SIGNED != 0,
                _ => false,
            })
        }
        ReloKind::FieldLshiftU64 => 64u64.wrapping_sub(bit_off + bit_sz - byte_off * 8),
        ReloKind::FieldRshiftU64 => {
            validate = true;
            64u64.wrapping_sub(bit_sz)
        }
        ReloKind::FieldExists => 1,
        _ => {
            return Err(CoreFail::Invalid(format!(
                "{kind} is not a field relocation"
            )));
        }
    };
    Ok((val, fsz, fty, validate))
}

/// The value of one spec for `kind`; `None` spec = no target. Returns (value, poison,
/// validate, size, field type).
fn spec_value(
    btf: &Btf<'_>,
    spec: Option<&Spec>,
    kind: ReloKind,
) -> Result<(u64, bool, bool, u32, TypeId), CoreFail> {
    if kind.is_field_based() {
        let Some(spec) = spec else {
            return Ok(if kind == ReloKind::FieldExists {
                (0, false, true, 0, 0)
            } else {
                (0, true, true, 0, 0)
            });
        };
        let (v, sz, ty, validate) = field_value(btf, spec, kind)?;
        return Ok((v, false, validate, sz, ty));
    }
    if kind.is_type_based() {
        let Some(spec) = spec else {
            return Ok((0, false, true, 0, 0));
        };
        return Ok(match kind {
            ReloKind::TypeIdLocal | ReloKind::TypeIdTarget => {
                (u64::from(spec.root_type_id), false, false, 0, 0)
            }
            ReloKind::TypeExists | ReloKind::TypeMatches => (1, false, true, 0, 0),
            _ => (
                u64::from(btf.resolve_size(spec.root_type_id)?),
                false,
                true,
                0,
                0,
            ),
        });
    }
    let Some(spec) = spec else {
        return Ok(if kind == ReloKind::EnumvalExists {
            (0, false, true, 0, 0)
        } else {
            (0, true, true, 0, 0)
        });
    };
    if kind == ReloKind::EnumvalExists {
        return Ok((1, false, true, 0, 0));
    }
    let acc = spec
        .acc
        .first()
        .ok_or_else(|| CoreFail::Invalid("empty enum spec".into()))?;
    let (Type::Enum(e) | Type::Enum64(e)) = btf.type_by_id(acc.type_id)? else {
        return Err(CoreFail::Invalid(format!(
            "type {} is not an enum",
            acc.type_id
        )));
    };
    let (_, v) = e
        .values()
        .nth(acc.idx as usize)
        .ok_or_else(|| CoreFail::Invalid(format!("enumerator {} of {}", acc.idx, acc.type_id)))??;
    // As libbpf: a 32-bit enumerator is sign-extended, a 64-bit one taken as is.
    let v = if e.is_enum64() {
        v as u64
    } else {
        i64::from(v as i32) as u64
    };
    Ok((v, false, true, 0, 0))
}

/// Combines local and target values into a result (`bpf_core_calc_relo`).
fn calc_result(
    local: &Btf<'_>,
    ls: &Spec,
    targ: Option<(&Btf<'_>, &Spec)>,
    kind: ReloKind,
) -> Result<ReloResult, CoreFail> {
    if kind == ReloKind::TypeIdLocal {
        let id = u64::from(ls.root_type_id);
        return Ok(ReloResult {
            orig_val: id,
            new_val: id,
            validate: true,
            ..Default::default()
        });
    }
    let (orig_val, _, validate, orig_sz, orig_ty) = spec_value(local, Some(ls), kind)?;
    let (tbtf, tspec) = match targ {
        Some((b, s)) => (b, Some(s)),
        None => (local, None),
    };
    let (new_val, poison, _, new_sz, new_ty) = spec_value(tbtf, tspec, kind)?;
    let mut res = ReloResult {
        orig_val,
        new_val,
        poison,
        validate,
        orig_sz,
        new_sz,
        fail_memsz_adjust: false,
    };
    if kind == ReloKind::FieldByteOffset && !poison && orig_sz != new_sz {
        let ot = local.type_by_id(local.skip_mods_and_typedefs(orig_ty)?)?;
        let nt = tbtf.type_by_id(tbtf.skip_mods_and_typedefs(new_ty)?)?;
        let unsigned_int =
            |t: &Type<'_>| matches!(t, Type::Int(i) if i.encoding & oxbpf_btf::INT_SIGNED == 0);
        let ok = matches!((&ot, &nt), (Type::Ptr(_), Type::Ptr(_)))
            || (unsigned_int(&ot) && unsigned_int(&nt));
        res.fail_memsz_adjust = !ok;
    }
    Ok(res)
}

/// The target candidates of local type `local_id`: types with its essential name and a
/// compatible kind, from the main BTF, else from module BTFs (own types only).
fn find_candidates<'t, 'a>(
    local: &Btf<'_>,
    local_id: TypeId,
    targets: &Targets<'t, 'a>,
) -> Result<Vec<(String, &'t Btf<'a>, TypeId)>, CoreFail> {
    let lt = local.type_by_id(local_id)?;
    let lname = lt.name();
    let lkind = lt.kind();
    let mut out = Vec::new();
    let add = |out: &mut Vec<(String, &'t Btf<'a>, TypeId)>,
               name: &str,
               btf: &'t Btf<'a>,
               min_id: TypeId|
     -> Result<(), CoreFail> {
        for id in btf.find_by_essential_name(lname) {
            if id < min_id {
                continue;
            }
            if compat::kinds_compat(lkind, btf.kind(id)?) {
                out.push((name.to_string(), btf, id));
            }
        }
        Ok(())
    };
    let prefetched = targets
        .main_cands
        .borrow()
        .as_ref()
        .and_then(|m| m.get(local_id).map(<[TypeId]>::to_vec));
    match prefetched {
        // Already filtered by kind compatibility (see `Targets::prefetch`).
        Some(ids) => out.extend(
            ids.into_iter()
                .map(|id| (targets.main_name.clone(), targets.main, id)),
        ),
        None => add(&mut out, &targets.main_name, targets.main, 0)?,
    }
    if out.is_empty() {
        for (name, m) in targets.modules() {
            add(&mut out, name, m, m.start_id())?;
        }
    }
    Ok(out)
}

/// Computes one CO-RE relocation of `local` against `targets` (`bpf_core_calc_relo_insn`).
/// A relocation no candidate satisfies is not an error: its result says `poison` (or
/// gives 0 for the `*_EXISTS`/`TYPE_*` kinds). Candidates that match but disagree are an
/// error listing them.
pub fn calc_relo(
    local: &Btf<'_>,
    relo: &CoreRelo,
    targets: &Targets<'_, '_>,
) -> Result<ReloExplanation, CoreError> {
    let access = local.str_at(relo.access_str_off).map(str::to_string);
    let err = |access: &str, reason: String| CoreError {
        kind_raw: relo.kind,
        type_id: relo.type_id,
        access: access.to_string(),
        reason,
    };
    let access = access.map_err(|e| err("", format!("access string: {e}")))?;
    let kind = ReloKind::from_raw(relo.kind)
        .ok_or_else(|| err(&access, format!("unknown relocation kind {}", relo.kind)))?;
    let cf = |e: CoreFail| err(&access, e.to_string());
    let ls = parse_spec(local, relo.type_id, &access, kind).map_err(cf)?;
    let local_text = format_spec(local, &ls, kind);
    let mut ex = ReloExplanation {
        insn: (relo.insn_off / 8) as usize,
        function: String::new(),
        kind,
        local_type_id: relo.type_id,
        local: local_text,
        access: access.clone(),
        candidates: Vec::new(),
        result: ReloResult::default(),
        outcome: String::new(),
    };
    if kind == ReloKind::TypeIdLocal {
        ex.result = calc_result(local, &ls, None, kind).map_err(cf)?;
        return Ok(ex);
    }
    let lname = local.type_name(relo.type_id).map_err(|e| cf(e.into()))?;
    if lname.is_empty() {
        return Err(err(
            &access,
            format!(
                "local type {} is anonymous: no candidates can be found",
                relo.type_id
            ),
        ));
    }
    let cached = targets.cands.borrow().get(&relo.type_id).cloned();
    let cands = match cached {
        Some(c) => c,
        None => find_candidates(local, relo.type_id, targets).map_err(cf)?,
    };
    let mut matched: Vec<Cand<'_, '_>> = Vec::new();
    // The first matching candidate's result and field bit offset.
    let mut chosen: Option<(ReloResult, u64)> = None;
    for cand in &cands {
        let (btf_name, tbtf, tid) = (cand.0.clone(), cand.1, cand.2);
        let tname = tbtf.type_name(tid).unwrap_or("");
        match match_spec(local, &ls, kind, tbtf, tid).map_err(cf)? {
            Err(reason) => ex.candidates.push(Candidate {
                btf: btf_name,
                type_id: tid,
                path: tname.to_string(),
                accepted: false,
                reason,
                value: None,
            }),
            Ok(ts) => {
                let res = calc_result(local, &ls, Some((tbtf, &ts)), kind).map_err(cf)?;
                let path = format_spec(tbtf, &ts, kind);
                let reason = if kind.is_field_based() {
                    format!(
                        "matched at bit offset {}, value {}",
                        ts.bit_offset, res.new_val
                    )
                } else {
                    format!("matched, value {}", res.new_val)
                };
                matched.push(cand.clone());
                ex.candidates.push(Candidate {
                    btf: btf_name,
                    type_id: tid,
                    path,
                    accepted: true,
                    reason,
                    value: Some(res.new_val),
                });
                match &chosen {
                    None => chosen = Some((res, ts.bit_offset)),
                    Some((first, first_bits)) => {
                        // As libbpf: field candidates must agree on the bit offset too
                        // (even where the value, e.g. FIELD_EXISTS, would not differ).
                        if (kind.is_field_based() && *first_bits != ts.bit_offset)
                            || first.new_val != res.new_val
                            || first.poison != res.poison
                            || first.new_sz != res.new_sz
                        {
                            let list = ex
                                .candidates
                                .iter()
                                .filter(|c| c.accepted)
                                .map(|c| {
                                    format!("{}[{}] {} = {:?}", c.btf, c.type_id, c.path, c.value)
                                })
                                .collect::<Vec<_>>()
                                .join(", ");
                            return Err(err(
                                &access,
                                format!("{kind} of {}: candidates disagree: {list}", ex.local),
                            ));
                        }
                    }
                }
            }
        }
    }
    // Later relocations of this local type see only the candidates that matched (if any).
    targets.cands.borrow_mut().insert(
        relo.type_id,
        if matched.is_empty() { cands } else { matched },
    );
    ex.result = match chosen {
        Some((r, _)) => r,
        None => calc_result(local, &ls, None, kind).map_err(cf)?,
    };
    if ex.result.poison {
        ex.outcome = if ex.candidates.is_empty() {
            format!("no target type named {}", oxbpf_btf::essential_name(lname))
        } else {
            "no candidate matched".to_string()
        };
    }
    Ok(ex)
}

/// Whether the object has any CO-RE record (so a loader knows to read target BTF).
pub fn has_core_relos(spec: &oxbpf_obj::ObjectSpec) -> bool {
    let (Some(btf_bytes), Some(ext_bytes)) = (&spec.btf, &spec.btf_ext) else {
        return false;
    };
    let Ok(btf) = Btf::parse(btf_bytes) else {
        return false;
    };
    let Ok(ext) = BtfExt::parse(ext_bytes, &btf) else {
        return false;
    };
    ext_has_core_relos(&ext)
}

/// True if the parsed `.BTF.ext` has at least one CO-RE record.
pub fn ext_has_core_relos(ext: &BtfExt<'_>) -> bool {
    ext.core_relos().any(|s| s.is_ok_and(|s| !s.is_empty()))
}

/// The linked program's name (its entry function's), for errors.
fn program_name(prog: &crate::LinkedProgram) -> String {
    prog.functions
        .first()
        .map_or_else(String::new, |(n, _)| n.clone())
}

/// Maps a BTF error met while `context` in `program` to the relocator's error.
pub(crate) fn btf_error(
    program: &str,
    context: &str,
) -> impl FnOnce(oxbpf_btf::Error) -> crate::Error + use<> {
    let (program, context) = (program.to_owned(), context.to_owned());
    move |source| crate::Error::Btf {
        program,
        context,
        source,
    }
}

/// Applies every CO-RE record of the object's `.BTF.ext` to the linked program: each
/// function placed gets the records of its ELF section that fall in its byte range,
/// at `start + (insn_off - section_offset) / 8`. Returns an explanation per record.
pub fn apply_core(
    spec: &oxbpf_obj::ObjectSpec,
    prog: &mut crate::LinkedProgram,
    targets: &Targets<'_, '_>,
) -> crate::Result<Vec<ReloExplanation>> {
    let (Some(btf_bytes), Some(ext_bytes)) = (&spec.btf, &spec.btf_ext) else {
        return Ok(Vec::new());
    };
    let program = program_name(prog);
    let btf_err = |context: &str| btf_error(&program, context);
    let btf = Btf::parse_with_offsets(btf_bytes).map_err(btf_err("parsing .BTF"))?;
    let ext = BtfExt::parse(ext_bytes, &btf).map_err(btf_err("parsing .BTF.ext"))?;
    apply_core_parsed(spec, &btf, &ext, prog, targets)
}

/// [`apply_core`] with the object's `.BTF` and `.BTF.ext` already parsed (`btf` and
/// `ext` must be `spec`'s).
pub fn apply_core_parsed(
    spec: &oxbpf_obj::ObjectSpec,
    btf: &Btf<'_>,
    ext: &BtfExt<'_>,
    prog: &mut crate::LinkedProgram,
    targets: &Targets<'_, '_>,
) -> crate::Result<Vec<ReloExplanation>> {
    let program = program_name(prog);
    let btf_err = |context: &str| btf_error(&program, context);
    targets.prefetch(btf, ext);
    let mut out = Vec::new();
    let funcs: Vec<(String, usize)> = prog.functions.clone();
    for (fname, start) in &funcs {
        // The function placed at `start`: same name and its instructions fit there.
        let Some(f) = spec
            .programs
            .iter()
            .chain(&spec.subprograms)
            .find(|p| &p.name == fname && start + p.insns.len() <= prog.insns.len())
        else {
            continue;
        };
        let lo = f.section_offset;
        let hi = lo + f.insns.len() as u64 * 8;
        for sec in ext.core_relos() {
            let sec = sec.map_err(btf_err(".BTF.ext core_relo"))?;
            if sec.section != f.section {
                continue;
            }
            for r in sec.records() {
                let r = r.map_err(btf_err(".BTF.ext core_relo"))?;
                let off = u64::from(r.insn_off);
                if !(lo..hi).contains(&off) {
                    continue;
                }
                let core_err = |insn: usize, reason: String| crate::Error::Core {
                    program: program.clone(),
                    function: f.name.clone(),
                    insn,
                    reason,
                };
                if off % 8 != 0 {
                    return Err(core_err(
                        0,
                        format!(
                            "CO-RE record at {:?}+{off:#x} is not instruction-aligned",
                            f.section
                        ),
                    ));
                }
                let slot = start + ((off - lo) / 8) as usize;
                let mut ex =
                    calc_relo(btf, &r, targets).map_err(|e| core_err(slot, e.to_string()))?;
                ex.insn = slot;
                ex.function = f.name.clone();
                let outcome = patch_insn(&mut prog.insns, slot, &ex.result)
                    .map_err(|reason| core_err(slot, format!("{}: {reason}", ex.local)))?;
                if is_poisoned(&prog.insns[slot]) {
                    ex.result.poison = true;
                }
                if ex.outcome.is_empty() {
                    ex.outcome = outcome;
                } else {
                    ex.outcome = format!("{}; {outcome}", ex.outcome);
                }
                out.push(ex);
            }
        }
    }
    Ok(out)
}
