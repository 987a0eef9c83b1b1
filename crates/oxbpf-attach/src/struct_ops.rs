//! struct_ops: a kernel ops table (e.g. `tcp_congestion_ops`) implemented by BPF
//! programs, registered by writing a `BPF_MAP_TYPE_STRUCT_OPS` map's one element and
//! unregistered by deleting it (on drop).
//!
//! The layout comes from vmlinux BTF: the map value is `struct bpf_struct_ops_<type>`
//! (a common header, then `data`, the ops table itself); each function-pointer member
//! holds the fd of a program loaded as `BPF_PROG_TYPE_STRUCT_OPS` with
//! `attach_btf_id` = the ops type's id and `expected_attach_type` = the member's index
//! ([`StructOpsLayout::member`] gives both); the `name` member, where there is one,
//! holds the name given. Every other member stays zero.
//!
//! For struct_ops variables of an object (`SEC(".struct_ops")`, `SEC(".struct_ops.link")`)
//! [`StructOpsLayout::value_from_shadow`] builds the value from the object's declaration:
//! members are matched by name, non-function members copied from the shadow data, function
//! pointers set to program fds. [`create_map`] creates the map (with `BPF_F_LINK` for the
//! `.link` flavour), [`register_value`] writes the value (which registers a plain map:
//! [`StructOps`] unregisters on drop) and [`attach_link`] registers a `BPF_F_LINK` map
//! through a `bpf_link` (`BPF_LINK_CREATE` with `BPF_STRUCT_OPS`, Linux 6.4+): dropping the
//! [`Link`](crate::Link) unregisters.

use std::os::fd::{AsRawFd, BorrowedFd};

use oxbpf_btf::{Btf, Kind, Type, TypeId};
use oxbpf_sys::MapFd;

use crate::{Error, Result};

/// `BPF_MAP_TYPE_STRUCT_OPS`.
pub const MAP_TYPE_STRUCT_OPS: u32 = 26;
/// `BPF_PROG_TYPE_STRUCT_OPS`.
pub const PROG_TYPE_STRUCT_OPS: u32 = 27;

/// One member of the ops table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpsMember {
    /// Its name (`ssthresh`).
    pub name: String,
    /// Its index in the struct: the `expected_attach_type` of its program.
    pub index: u32,
    /// Byte offset inside the ops table.
    pub offset: u32,
    /// True for a function pointer.
    pub is_func: bool,
    /// Byte size.
    pub size: u32,
}

/// Where things are in a struct_ops map value, from vmlinux BTF.
#[derive(Debug, Clone)]
pub struct StructOpsLayout {
    /// The ops type (`tcp_congestion_ops`).
    pub type_name: String,
    /// Its BTF id: the `attach_btf_id` of its programs.
    pub type_id: u32,
    /// The id of `struct bpf_struct_ops_<type>`: the map's `btf_vmlinux_value_type_id`.
    pub value_type_id: u32,
    /// Size of the map value.
    pub value_size: u32,
    /// Offset of `data` (the ops table) in the value.
    pub data_offset: u32,
    /// The ops table's members.
    pub members: Vec<OpsMember>,
}

fn btf_err(what: String, e: oxbpf_btf::Error) -> Error {
    Error::NoAttachPoint {
        what,
        detail: format!("reading vmlinux BTF: {e}"),
    }
}

fn composite<'a>(btf: &Btf<'a>, id: TypeId, what: &str) -> Result<oxbpf_btf::Composite<'a>> {
    match btf.type_by_id(id) {
        Ok(Type::Struct(c)) => Ok(c),
        Ok(_) => Err(Error::NoAttachPoint {
            what: what.to_string(),
            detail: format!("BTF type {id} is not a struct"),
        }),
        Err(e) => Err(btf_err(what.to_string(), e)),
    }
}

impl StructOpsLayout {
    /// Reads the layout of struct_ops type `type_name` from `btf` (vmlinux).
    pub fn from_btf(btf: &Btf<'_>, type_name: &str) -> Result<Self> {
        let what = format!("struct_ops type {type_name}");
        let missing = |detail: String| Error::NoAttachPoint {
            what: what.clone(),
            detail,
        };
        let type_id = btf
            .find_by_name(type_name, Kind::Struct)
            .map_err(|e| btf_err(what.clone(), e))?
            .ok_or_else(|| missing(format!("no struct {type_name} in vmlinux BTF")))?;
        let value_name = format!("bpf_struct_ops_{type_name}");
        let value_type_id = btf
            .find_by_name(&value_name, Kind::Struct)
            .map_err(|e| btf_err(what.clone(), e))?
            .ok_or_else(|| {
                missing(format!(
                    "no struct {value_name}: the kernel cannot implement {type_name} in BPF \
                     (struct_ops needs Linux 5.6, and the subsystem must support it)"
                ))
            })?;
        let value = composite(btf, value_type_id, &what)?;
        let mut data_offset = None;
        for m in value.members() {
            let m = m.map_err(|e| btf_err(what.clone(), e))?;
            if m.name == "data" {
                data_offset = Some(m.bit_offset / 8);
            }
        }
        let data_offset =
            data_offset.ok_or_else(|| missing(format!("struct {value_name} has no `data`")))?;
        let ops = composite(btf, type_id, &what)?;
        let mut members = Vec::new();
        for (i, m) in ops.members().enumerate() {
            let m = m.map_err(|e| btf_err(what.clone(), e))?;
            let ty = btf
                .skip_mods_and_typedefs(m.ty)
                .map_err(|e| btf_err(what.clone(), e))?;
            let is_func = match btf.type_by_id(ty) {
                Ok(Type::Ptr(_)) => {
                    let target = btf
                        .type_by_id(ty)
                        .ok()
                        .and_then(|t| t.referenced())
                        .and_then(|r| btf.skip_mods_and_typedefs(r).ok());
                    target.is_some_and(|t| btf.kind(t).ok() == Some(Kind::FuncProto))
                }
                _ => false,
            };
            if m.bitfield_size != 0 {
                // Bitfields cannot be set from an object (as in libbpf); keep the member
                // listed with its containing bytes unknown.
                members.push(OpsMember {
                    name: m.name.to_string(),
                    index: i as u32,
                    offset: m.bit_offset / 8,
                    is_func: false,
                    size: 0,
                });
                continue;
            }
            let size = btf
                .resolve_size(m.ty)
                .map_err(|e| btf_err(what.clone(), e))?;
            members.push(OpsMember {
                name: m.name.to_string(),
                index: i as u32,
                offset: m.bit_offset / 8,
                is_func,
                size,
            });
        }
        Ok(StructOpsLayout {
            type_name: type_name.to_string(),
            type_id,
            value_type_id,
            value_size: value.size,
            data_offset,
            members,
        })
    }

    /// The member `name`, or an error naming the type.
    pub fn member(&self, name: &str) -> Result<&OpsMember> {
        self.members
            .iter()
            .find(|m| m.name == name)
            .ok_or_else(|| Error::NoAttachPoint {
                what: format!("member {name} of struct {}", self.type_name),
                detail: "not in vmlinux BTF".into(),
            })
    }

    /// The map value registering `programs` (member name → program fd) under `name`.
    pub fn value(&self, name: &str, programs: &[(&str, BorrowedFd<'_>)]) -> Result<Vec<u8>> {
        let mut v = vec![0u8; self.value_size as usize];
        let put = |v: &mut [u8], at: usize, bytes: &[u8], what: &str| -> Result<()> {
            let slot = v
                .get_mut(at..at + bytes.len())
                .ok_or_else(|| Error::InvalidName {
                    what: format!("{what} of struct {}", self.type_name),
                    reason: "lies past the end of the map value in vmlinux BTF",
                })?;
            slot.copy_from_slice(bytes);
            Ok(())
        };
        if let Ok(m) = self.member("name") {
            if name.len() >= 16 || name.is_empty() || name.contains('\0') {
                return Err(Error::InvalidName {
                    what: format!("{} name {name:?}", self.type_name),
                    reason: "must be 1 to 15 bytes without NUL",
                });
            }
            put(
                &mut v,
                (self.data_offset + m.offset) as usize,
                name.as_bytes(),
                "name",
            )?;
        }
        for (member, fd) in programs {
            let m = self.member(member)?;
            if !m.is_func {
                return Err(Error::InvalidName {
                    what: format!("member {member} of struct {}", self.type_name),
                    reason: "is not a function pointer",
                });
            }
            let fd = fd.as_raw_fd() as u64;
            put(
                &mut v,
                (self.data_offset + m.offset) as usize,
                &fd.to_ne_bytes(),
                member,
            )?;
        }
        Ok(v)
    }
}

/// One member of an object's declaration of an ops type, for
/// [`StructOpsLayout::value_from_shadow`].
#[derive(Debug, Clone, Copy)]
pub struct ShadowMember<'a> {
    /// Member name (matched against the kernel's type).
    pub name: &'a str,
    /// The member's bytes in the object's shadow data.
    pub bytes: &'a [u8],
    /// True if the object declares it as a function pointer.
    pub is_func: bool,
    /// The program it is set to (function pointers only).
    pub program: Option<BorrowedFd<'a>>,
}

impl StructOpsLayout {
    /// The map value for an object's struct_ops variable: each member of the object's
    /// declaration is found by name in the kernel's type; function pointers get their
    /// program's fd, other members their bytes from the shadow data (sizes must agree).
    /// A member the kernel lacks is an error unless it is zero and has no program (as in
    /// libbpf: older kernels may lack newer, unset members).
    pub fn value_from_shadow(&self, members: &[ShadowMember<'_>]) -> Result<Vec<u8>> {
        let mut v = vec![0u8; self.value_size as usize];
        let invalid = |member: &str, reason: &'static str| Error::InvalidName {
            what: format!("member {member} of struct {}", self.type_name),
            reason,
        };
        for sm in members {
            let Some(km) = self.members.iter().find(|m| m.name == sm.name) else {
                if sm.program.is_none() && sm.bytes.iter().all(|&b| b == 0) {
                    continue;
                }
                return Err(Error::NoAttachPoint {
                    what: format!("member {} of struct {}", sm.name, self.type_name),
                    detail: "set in the object, but the kernel's type has no such member".into(),
                });
            };
            let at = (self.data_offset + km.offset) as usize;
            if sm.is_func != km.is_func {
                return Err(invalid(
                    sm.name,
                    "is a function pointer on one side only (object vs kernel BTF)",
                ));
            }
            let bytes: Vec<u8> = if km.is_func {
                match sm.program {
                    Some(fd) => (fd.as_raw_fd() as u64).to_ne_bytes().to_vec(),
                    None => continue,
                }
            } else {
                if km.size == 0 {
                    if sm.bytes.iter().all(|&b| b == 0) {
                        continue;
                    }
                    return Err(invalid(
                        sm.name,
                        "is a bitfield in the kernel: cannot be set",
                    ));
                }
                if sm.bytes.len() != km.size as usize {
                    return Err(Error::NoAttachPoint {
                        what: format!("member {} of struct {}", sm.name, self.type_name),
                        detail: format!(
                            "is {} bytes in the object, {} in the kernel",
                            sm.bytes.len(),
                            km.size
                        ),
                    });
                }
                sm.bytes.to_vec()
            };
            let slot = v.get_mut(at..at + bytes.len()).ok_or_else(|| {
                invalid(sm.name, "lies past the end of the map value in vmlinux BTF")
            })?;
            slot.copy_from_slice(&bytes);
        }
        Ok(v)
    }
}

/// `BPF_F_LINK`: a struct_ops map registered through a `bpf_link`.
pub const BPF_F_LINK: u32 = 1 << 13;
/// `BPF_STRUCT_OPS`: the attach type of a struct_ops link.
pub const ATTACH_TYPE_STRUCT_OPS: u32 = 44;

/// Creates the (empty) struct_ops map of `layout` named `name`, with `BPF_F_LINK` when
/// `link` (registered by [`attach_link`] instead of by the value write).
pub fn create_map(layout: &StructOpsLayout, name: &str, link: bool) -> Result<MapFd> {
    // The kernel takes a BTF object for every map with BTF type ids, even when the value
    // type is vmlinux's: a one-type BTF does.
    let btf =
        oxbpf_sys::bpf::btf_load(&minimal_btf(), &mut []).map_err(|source| Error::Kernel {
            what: format!("the BTF of the struct_ops map {name}"),
            source,
        })?;
    let mut attr = oxbpf_sys::bpf::MapCreate::new(MAP_TYPE_STRUCT_OPS, 4, layout.value_size, 1);
    attr.btf_vmlinux_value_type_id = layout.value_type_id;
    attr.btf_fd = btf.raw() as u32;
    attr.map_name = oxbpf_sys::bpf::object_name(name);
    if link {
        attr.map_flags |= BPF_F_LINK;
    }
    oxbpf_sys::bpf::map_create(&attr).map_err(|source| Error::Rejected {
        what: format!("the struct_ops map {name} ({})", layout.type_name),
        source,
        hint: if link {
            "struct_ops maps need Linux 5.6 (BPF_F_LINK: 6.4) and CAP_BPF + CAP_NET_ADMIN (tcp) \
             or CAP_SYS_ADMIN"
                .into()
        } else {
            "struct_ops maps need Linux 5.6 and CAP_BPF + CAP_NET_ADMIN (tcp) or CAP_SYS_ADMIN"
                .into()
        },
    })
}

/// Writes `value` into struct_ops map `map`. For a plain map this registers the table
/// (the returned [`StructOps`] unregisters on drop); for a `BPF_F_LINK` map it only
/// prepares it for [`attach_link`] (drop the returned value then: deleting the element of
/// a link map is refused and harmless).
pub fn register_value(
    layout: &StructOpsLayout,
    map: MapFd,
    value: &[u8],
    description: String,
) -> Result<StructOps> {
    oxbpf_sys::bpf::map_update_elem(map.as_fd(), &0u32.to_ne_bytes(), value, 0).map_err(
        |source| Error::Rejected {
            what: description.clone(),
            source,
            hint: format!(
                "each program must be BPF_PROG_TYPE_STRUCT_OPS with attach_btf_id {} and \
                 expected_attach_type = its member's index; required members must be set \
                 and the name must be unused",
                layout.type_id
            ),
        },
    )?;
    Ok(StructOps {
        map,
        description,
        registered: true,
    })
}

/// Registers struct_ops map `map` (created by [`create_map`]) with `value`, as libbpf's
/// `bpf_map__attach_struct_ops`: a plain map by writing the value (the returned link
/// deletes the element on drop: [`LinkMechanism::StructOpsMap`](crate::LinkMechanism)), a
/// `BPF_F_LINK` map (`link`) by writing the value (`EBUSY`: written before, which is
/// fine) and creating a `BPF_STRUCT_OPS` link.
pub fn attach_map(
    layout: &StructOpsLayout,
    map: BorrowedFd<'_>,
    value: &[u8],
    link: bool,
    description: &str,
) -> Result<crate::Link> {
    let fd = map
        .try_clone_to_owned()
        .map(MapFd::from_owned)
        .map_err(|e| Error::Kernel {
            what: format!("duplicating the map fd of {description}"),
            source: oxbpf_sys::Error::Invalid(e.to_string()),
        })?;
    if !link {
        let ops = register_value(layout, fd, value, description.to_owned())?;
        return Ok(crate::Link::struct_ops(
            ops,
            format!("struct_ops {description}"),
        ));
    }
    match oxbpf_sys::bpf::map_update_elem(map, &0u32.to_ne_bytes(), value, 0) {
        Ok(()) => {}
        Err(e) if e.errno() == Some(oxbpf_sys::Errno::EBUSY) => {}
        Err(source) => {
            return Err(Error::Rejected {
                what: description.to_owned(),
                source,
                hint: format!(
                    "each program must be BPF_PROG_TYPE_STRUCT_OPS with attach_btf_id {} and \
                     expected_attach_type = its member's index; required members must be set",
                    layout.type_id
                ),
            });
        }
    }
    drop(fd);
    attach_link(map, description)
}

/// Registers `BPF_F_LINK` struct_ops map `map` (its value written already) through a
/// `bpf_link`; dropping the link unregisters.
pub fn attach_link(map: BorrowedFd<'_>, description: &str) -> Result<crate::Link> {
    let link =
        oxbpf_sys::bpf::link_create(map, 0, ATTACH_TYPE_STRUCT_OPS, 0, 0).map_err(|source| {
            Error::Rejected {
                what: format!("struct_ops link for {description}"),
                source,
                hint: "struct_ops links need Linux 6.4 and a map created with BPF_F_LINK whose \
                   value is written; the name must be unused"
                    .into(),
            }
        })?;
    Ok(crate::Link::fd(link, format!("struct_ops {description}")))
}

/// A registered struct_ops table; dropping it unregisters (deletes the map element).
#[derive(Debug)]
pub struct StructOps {
    map: MapFd,
    description: String,
    /// False once [`StructOps::unregister`] ran (drop has nothing left to do).
    registered: bool,
}

impl StructOps {
    /// The struct_ops map.
    pub fn map_fd(&self) -> BorrowedFd<'_> {
        self.map.as_fd()
    }

    /// What is registered (`tcp_congestion_ops oxbpf_cc`).
    pub fn description(&self) -> &str {
        &self.description
    }

    /// Unregisters now.
    pub fn unregister(mut self) -> Result<()> {
        self.registered = false;
        let r = oxbpf_sys::bpf::map_delete_elem(self.map.as_fd(), &0u32.to_ne_bytes());
        r.map(drop).map_err(|source| Error::Kernel {
            what: format!("unregistering {}", self.description),
            source,
        })
    }
}

impl Drop for StructOps {
    fn drop(&mut self) {
        if !self.registered {
            return;
        }
        let _ = oxbpf_sys::bpf::map_delete_elem(self.map.as_fd(), &0u32.to_ne_bytes());
    }
}

/// A BTF blob holding one type (`int`).
fn minimal_btf() -> Vec<u8> {
    let mut b = Vec::with_capacity(45);
    // Header: magic, version 1, flags 0, hdr_len 24; types at 0 (16 bytes), strings at 16.
    b.extend_from_slice(&0xeb9fu16.to_le_bytes());
    b.extend_from_slice(&[1, 0]);
    for v in [24u32, 0, 16, 16, 5] {
        b.extend_from_slice(&v.to_le_bytes());
    }
    // [1] INT "int" size 4, signed, 32 bits.
    for v in [1u32, 1 << 24, 4, (1 << 24) | 32] {
        b.extend_from_slice(&v.to_le_bytes());
    }
    b.extend_from_slice(b"\0int\0");
    b
}

/// Registers `programs` as a `layout.type_name` named `name`: creates the struct_ops
/// map and writes its element (the kernel registers the table, e.g. a congestion
/// control algorithm, on that write).
pub fn register(
    layout: &StructOpsLayout,
    name: &str,
    programs: &[(&str, BorrowedFd<'_>)],
) -> Result<StructOps> {
    let description = format!("{} {name}", layout.type_name);
    let value = layout.value(name, programs)?;
    let map = create_map(layout, name, false)?;
    register_value(layout, map, &value, description)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout() -> StructOpsLayout {
        StructOpsLayout {
            type_name: "demo_ops".into(),
            type_id: 7,
            value_type_id: 8,
            value_size: 48,
            data_offset: 8,
            members: vec![
                OpsMember {
                    name: "run".into(),
                    index: 0,
                    offset: 0,
                    is_func: true,
                    size: 8,
                },
                OpsMember {
                    name: "name".into(),
                    index: 1,
                    offset: 16,
                    is_func: false,
                    size: 16,
                },
                OpsMember {
                    name: "past_end".into(),
                    index: 2,
                    offset: 44,
                    is_func: true,
                    size: 8,
                },
            ],
        }
    }

    #[test]
    fn value_puts_name_and_program_fds_in_data() {
        let f = std::fs::File::open("/dev/null").unwrap();
        let fd = std::os::fd::AsFd::as_fd(&f);
        let v = layout().value("cc", &[("run", fd)]).unwrap();
        assert_eq!(v.len(), 48);
        assert_eq!(
            u64::from_ne_bytes(v[8..16].try_into().unwrap()),
            fd.as_raw_fd() as u64
        );
        assert_eq!(&v[24..27], b"cc\0");
        assert!(v[..8].iter().all(|&b| b == 0), "common header stays zero");
    }

    #[test]
    fn value_rejects_bad_members_and_names() {
        let f = std::fs::File::open("/dev/null").unwrap();
        let fd = std::os::fd::AsFd::as_fd(&f);
        let l = layout();
        assert!(l.value("cc", &[("name", fd)]).is_err(), "not a function");
        assert!(l.value("cc", &[("nope", fd)]).is_err(), "no such member");
        assert!(
            l.value("cc", &[("past_end", fd)]).is_err(),
            "past the value"
        );
        assert!(l.value("a_name_of_16_byt", &[]).is_err(), "too long");
        assert!(l.value("", &[]).is_err(), "empty");
    }

    #[test]
    fn value_from_shadow_copies_data_sets_fds_and_skips_zero_unknowns() {
        let f = std::fs::File::open("/dev/null").unwrap();
        let fd = std::os::fd::AsFd::as_fd(&f);
        let l = layout();
        let mut name = [0u8; 16];
        name[..4].copy_from_slice(b"obj1");
        let zero8 = [0u8; 8];
        let v = l
            .value_from_shadow(&[
                ShadowMember {
                    name: "run",
                    bytes: &zero8,
                    is_func: true,
                    program: Some(fd),
                },
                ShadowMember {
                    name: "name",
                    bytes: &name,
                    is_func: false,
                    program: None,
                },
                ShadowMember {
                    name: "newer_kernels_only",
                    bytes: &zero8,
                    is_func: true,
                    program: None,
                },
            ])
            .unwrap();
        assert_eq!(
            u64::from_ne_bytes(v[8..16].try_into().unwrap()),
            fd.as_raw_fd() as u64
        );
        assert_eq!(&v[24..40], &name);
    }

    #[test]
    fn value_from_shadow_rejects_unknown_set_members_and_size_mismatch() {
        let f = std::fs::File::open("/dev/null").unwrap();
        let fd = std::os::fd::AsFd::as_fd(&f);
        let l = layout();
        let err = l
            .value_from_shadow(&[ShadowMember {
                name: "missing",
                bytes: &[0; 8],
                is_func: true,
                program: Some(fd),
            }])
            .unwrap_err();
        assert!(err.to_string().contains("no such member"), "{err}");
        let err = l
            .value_from_shadow(&[ShadowMember {
                name: "name",
                bytes: &[1; 8],
                is_func: false,
                program: None,
            }])
            .unwrap_err();
        assert!(
            err.to_string().contains("8 bytes in the object, 16"),
            "{err}"
        );
        let err = l
            .value_from_shadow(&[ShadowMember {
                name: "name",
                bytes: &[0; 8],
                is_func: true,
                program: Some(fd),
            }])
            .unwrap_err();
        assert!(
            err.to_string().contains("function pointer on one side"),
            "{err}"
        );
    }

    #[test]
    fn minimal_btf_parses() {
        let b = minimal_btf();
        let btf = Btf::parse(&b).unwrap();
        assert_eq!(btf.find_by_name("int", Kind::Int).unwrap(), Some(1));
    }
}
