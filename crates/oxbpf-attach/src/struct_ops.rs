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
//! Objects with a `.struct_ops` section are not read here: the loader does not yet turn
//! them into programs and a layout, so callers load the programs themselves.

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
            members.push(OpsMember {
                name: m.name.to_string(),
                index: i as u32,
                offset: m.bit_offset / 8,
                is_func,
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

/// A registered struct_ops table; dropping it unregisters (deletes the map element).
#[derive(Debug)]
pub struct StructOps {
    map: MapFd,
    description: String,
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
    pub fn unregister(self) -> Result<()> {
        let r = oxbpf_sys::bpf::map_delete_elem(self.map.as_fd(), &0u32.to_ne_bytes());
        let description = self.description.clone();
        std::mem::forget(self);
        r.map(drop).map_err(|source| Error::Kernel {
            what: format!("unregistering {description}"),
            source,
        })
    }
}

impl Drop for StructOps {
    fn drop(&mut self) {
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
    // The kernel takes a BTF object for every map with BTF type ids, even when the value
    // type is vmlinux's: a one-type BTF does.
    let btf =
        oxbpf_sys::bpf::btf_load(&minimal_btf(), &mut []).map_err(|source| Error::Kernel {
            what: format!("the BTF of the struct_ops map of {description}"),
            source,
        })?;
    let mut attr = oxbpf_sys::bpf::MapCreate::new(MAP_TYPE_STRUCT_OPS, 4, layout.value_size, 1);
    attr.btf_vmlinux_value_type_id = layout.value_type_id;
    attr.btf_fd = btf.raw() as u32;
    attr.map_name = oxbpf_sys::bpf::object_name(name);
    let map = oxbpf_sys::bpf::map_create(&attr).map_err(|source| Error::Rejected {
        what: format!("the struct_ops map of {description}"),
        source,
        hint: "struct_ops maps need Linux 5.6 and CAP_BPF + CAP_NET_ADMIN (tcp) or CAP_SYS_ADMIN"
            .into(),
    })?;
    oxbpf_sys::bpf::map_update_elem(map.as_fd(), &0u32.to_ne_bytes(), &value, 0).map_err(
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
    Ok(StructOps { map, description })
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
                },
                OpsMember {
                    name: "name".into(),
                    index: 1,
                    offset: 16,
                    is_func: false,
                },
                OpsMember {
                    name: "past_end".into(),
                    index: 2,
                    offset: 44,
                    is_func: true,
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
    fn minimal_btf_parses() {
        let b = minimal_btf();
        let btf = Btf::parse(&b).unwrap();
        assert_eq!(btf.find_by_name("int", Kind::Int).unwrap(), Some(1));
    }
}
