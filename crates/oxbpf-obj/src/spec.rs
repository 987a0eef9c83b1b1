//! The data model an object is read into: [`ProgramSpec`], [`MapSpec`], [`Relocation`], ...

use oxbpf_asm::Insn;

use crate::kinds::MapType;
use crate::section::SectionDef;

/// One function of the object: an entry program or a `.text` subprogram.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProgramSpec {
    /// The function symbol.
    pub name: String,
    /// ELF section name, which is the `SEC()` text (including a leading `?`).
    pub section: String,
    /// Byte offset of the function in its section.
    pub section_offset: u64,
    /// Derived from the section name. For subprograms this is `ProgramType::UNSPEC` with
    /// `AttachPoint::None` and `autoload: false`: they are never loaded on their own.
    pub def: SectionDef,
    /// The function's 8-byte slots, exactly as in the object.
    pub insns: Vec<Insn>,
    /// Relocations of this function, sorted by `insn` (slot index within `insns`).
    pub relocations: Vec<Relocation>,
}

/// A relocation record, classified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Relocation {
    /// Slot index within the function's `insns`.
    pub insn: usize,
    /// What the instruction refers to.
    pub target: RelocTarget,
    /// The ELF symbol's name (the section name for section symbols).
    pub symbol: String,
}

/// What a relocated instruction refers to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RelocTarget {
    /// `ld_imm64` of a map (index into [`ObjectSpec::maps`](crate::ObjectSpec::maps)):
    /// becomes `BPF_PSEUDO_MAP_FD`.
    Map {
        /// Index into `ObjectSpec::maps`.
        map: usize,
    },
    /// `ld_imm64` of global data: becomes `BPF_PSEUDO_MAP_VALUE` with `offset` into the value.
    Data {
        /// Index into `ObjectSpec::maps` (a data-section map).
        map: usize,
        /// Byte offset into the map value (symbol value + instruction addend).
        offset: u32,
    },
    /// `call` with `src = BPF_PSEUDO_CALL` to the function starting at `offset` in `section`.
    Call {
        /// Section of the callee.
        section: String,
        /// Byte offset of the callee's first instruction in that section.
        offset: u64,
    },
    /// `ld_imm64` of a function's address (a callback): clang emits `src = 0`, the linker
    /// turns it into `BPF_PSEUDO_FUNC`.
    Func {
        /// Section of the callback.
        section: String,
        /// Byte offset of the callback's first instruction in that section.
        offset: u64,
    },
    /// An undefined symbol (kconfig, ksym, kfunc): resolved by a later stage. `ld_imm64`
    /// loads its value or address, `call` calls a kfunc.
    Extern {
        /// The extern's name.
        name: String,
        /// Index into [`ObjectSpec::externs`](crate::ObjectSpec::externs).
        index: usize,
    },
}

/// How a map was defined.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MapKind {
    /// A BTF-defined map in `.maps`.
    Btf,
    /// A `struct bpf_map_def` in the legacy `maps` section.
    Legacy,
    /// The map backing a global-data section.
    Data(DataSection),
    /// A struct_ops variable in `.struct_ops` or `.struct_ops.link`.
    StructOps,
}

/// Which kind of global-data section backs a data map.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DataSection {
    /// `.data`, `.data.*`.
    Data,
    /// `.rodata`, `.rodata.*` (the loader freezes these and may mark them read-only).
    Rodata,
    /// `.bss`, `.bss.*` (zero-initialised).
    Bss,
    /// Reserved for other data sections (not produced yet).
    Other,
}

/// A map the object defines.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MapSpec {
    /// Map name: the variable's name, or the section name for data maps (`.rodata`).
    pub name: String,
    /// `BPF_MAP_TYPE_*`.
    pub map_type: MapType,
    /// Key size in bytes.
    pub key_size: u32,
    /// Value size in bytes.
    pub value_size: u32,
    /// Maximum number of entries.
    pub max_entries: u32,
    /// `map_flags` as written in the object. Data maps carry 0: the loader picks
    /// `BPF_F_MMAPABLE` / `BPF_F_RDONLY_PROG` from what the kernel supports.
    pub flags: u32,
    /// `pinning` (0 = none, 1 = `LIBBPF_PIN_BY_NAME`).
    pub pinning: u32,
    /// `map_extra` (bloom filter hashes, arena address, ...).
    pub map_extra: u64,
    /// `numa_node`, if given.
    pub numa_node: Option<u32>,
    /// BTF type id of the key in the object's BTF.
    pub btf_key_type: Option<u32>,
    /// BTF type id of the value in the object's BTF (also for ring buffers, to decode records).
    pub btf_value_type: Option<u32>,
    /// How the map was defined.
    pub kind: MapKind,
    /// ELF section of the definition (`.maps`, `maps`, `.data`, `.rodata.str1.1`, ...).
    pub section: String,
    /// Initial value: the contents of a data map (zeros for `.bss`), the shadow data of a
    /// struct_ops map (the variable's bytes), or an arena's `.addr_space.1` globals (placed
    /// at the start of the arena); `None` for other maps.
    pub data: Option<Vec<u8>>,
    /// The inner map template of a map-in-map (`__array(values, struct inner_def)`): the
    /// loader creates it to pass its fd as `inner_map_fd`.
    pub inner: Option<Box<MapSpec>>,
    /// Initial slots of a map-in-map or prog array (`.values = { [1] = &x }`), sorted by
    /// index; each index is below `max_entries`.
    pub initial_slots: Vec<(u32, MapSlot)>,
    /// For struct_ops maps (`SEC(".struct_ops")`, `SEC(".struct_ops.link")`): the ops
    /// type and what each member is set to.
    pub struct_ops: Option<StructOpsSpec>,
    /// Create this map at load (libbpf's autocreate): false for struct_ops variables of a
    /// `?.struct_ops` / `?.struct_ops.link` section (optional ops tables); set it before
    /// loading to change that. A map not created is absent from the loaded collection.
    pub autocreate: bool,
}

/// What an initial slot of a map-in-map or prog array holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MapSlot {
    /// Another map of the object (index into `ObjectSpec::maps`).
    Map(usize),
    /// An entry program of the object, by name: filled in after the programs load.
    Program(String),
}

/// A struct_ops variable: a kernel ops table (`struct tcp_congestion_ops`) implemented by
/// the object's programs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StructOpsSpec {
    /// The ops type's name in the object's BTF (the kernel type has the same name, up to a
    /// `___flavor` suffix).
    pub type_name: String,
    /// Its BTF type id in the object's BTF.
    pub btf_type: u32,
    /// `SEC(".struct_ops.link")`: created with `BPF_F_LINK`, registered by a link.
    pub link: bool,
    /// The members of the object's declaration of the type, in order.
    pub members: Vec<StructOpsMember>,
}

/// One member of a struct_ops variable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StructOpsMember {
    /// Member name (matched by name against the kernel's type).
    pub name: String,
    /// Byte offset in the shadow data ([`MapSpec::data`]).
    pub offset: u32,
    /// Byte size.
    pub size: u32,
    /// True for a function pointer.
    pub is_func: bool,
    /// The entry program (`SEC("struct_ops/...")`) the member points to, if set.
    pub program: Option<String>,
}

/// A named variable in a data section.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GlobalVar {
    /// The symbol name.
    pub name: String,
    /// Index of the data map in `ObjectSpec::maps`.
    pub map: usize,
    /// Byte offset in the map value.
    pub offset: u32,
    /// Size in bytes.
    pub size: u32,
    /// BTF type id of the variable's type (the type a `VAR` points to), when the object has
    /// BTF describing it.
    pub btf_type: Option<u32>,
}
