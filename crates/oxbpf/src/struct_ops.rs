//! struct_ops maps of an object (`SEC(".struct_ops")`, `SEC(".struct_ops.link")`):
//! before the programs load, each map's ops type is looked up in vmlinux BTF
//! ([`oxbpf_attach::struct_ops::StructOpsLayout`]) and each `struct_ops/` program referenced
//! by a function pointer gets `expected_attach_type` = the kernel member's index (and, at
//! load, `attach_btf_id` = the ops type's id) and is loaded with its map even when its
//! autoload was off (as libbpf does); `struct_ops/` programs no map references are not
//! loaded. The map is created with the kernel's value type (`BPF_F_LINK` for
//! `.struct_ops.link`); after the programs load its value is built from the object's
//! shadow data (members matched by name, function pointers set to program fds). Nothing
//! is registered at load (as in libbpf: an object may hold ops tables it never uses):
//! [`StructOpsMap::attach`] (or [`Collection::attach_all`](crate::Collection::attach_all))
//! writes the value — which registers a plain `.struct_ops` map — and for a
//! `.struct_ops.link` map creates a `BPF_STRUCT_OPS` link; dropping the returned
//! [`Link`](oxbpf_attach::Link) unregisters either.

use std::borrow::Cow;
use std::collections::HashMap;
use std::os::fd::BorrowedFd;

use oxbpf_attach::struct_ops::{self, ShadowMember, StructOpsLayout};
use oxbpf_maps::Map;
use oxbpf_obj::{AttachType, MapKind, MapSpec, ObjectSpec, ProgramType};

use crate::error::{Error, Result};
use crate::program::Program;

/// What the loader learned about the object's struct_ops maps before loading programs.
#[derive(Debug, Default)]
pub(crate) struct Plan {
    /// Per map of the object (same indices): the kernel layout of a struct_ops map.
    layouts: Vec<Option<StructOpsLayout>>,
    /// Program name → (attach_btf_id, member index).
    targets: HashMap<String, (u32, u32)>,
}

fn map_err(map: &str, what: impl std::fmt::Display) -> Error {
    Error::Map {
        map: map.to_owned(),
        source: oxbpf_sys::Error::Invalid(what.to_string()),
    }
}

/// The kernel's name of an object's ops type: without a `___flavor` suffix.
fn kernel_type_name(name: &str) -> &str {
    name.find("___").map_or(name, |i| &name[..i])
}

/// Looks up every struct_ops map's ops type in vmlinux BTF and returns `spec` with each
/// referenced `struct_ops/` program's `expected_attach_type` set to its member's index and
/// autoload on (unreferenced ones with autoload off). struct_ops maps whose
/// [`MapSpec::autocreate`] is off (`?.struct_ops*`) are left out first, as libbpf does not
/// create them: their ops type is not looked up and their programs count as unreferenced.
pub(crate) fn prepare(spec: &ObjectSpec) -> Result<(Cow<'_, ObjectSpec>, Plan)> {
    if !spec
        .maps
        .iter()
        .any(|m| m.kind == MapKind::StructOps && !m.autocreate)
    {
        return plan(spec);
    }
    let created = without_uncreated_maps(spec)?;
    let (out, plan) = plan(&created)?;
    Ok((Cow::Owned(out.into_owned()), plan))
}

/// `spec` without its struct_ops maps whose autocreate is off, map indices renumbered. A
/// program, subprogram or map slot that refers to a left-out map is an error naming both.
fn without_uncreated_maps(spec: &ObjectSpec) -> Result<ObjectSpec> {
    let keep: Vec<bool> = spec
        .maps
        .iter()
        .map(|m| m.kind != MapKind::StructOps || m.autocreate)
        .collect();
    // Old index → new index (None: left out).
    let mut new_index = Vec::with_capacity(keep.len());
    let mut n = 0;
    for &k in &keep {
        new_index.push(k.then_some(n));
        n += usize::from(k);
    }
    let renumber = |i: usize, user: &str| -> Result<usize> {
        match new_index.get(i) {
            Some(Some(j)) => Ok(*j),
            Some(None) => Err(map_err(
                &spec.maps[i].name,
                format!("{user} refers to this struct_ops map, whose autocreate is off"),
            )),
            None => Ok(i),
        }
    };
    let mut out = spec.clone();
    for (what, progs) in [
        ("program", &mut out.programs),
        ("subprogram", &mut out.subprograms),
    ] {
        for p in progs.iter_mut() {
            for r in &mut p.relocations {
                if let oxbpf_obj::RelocTarget::Map { map }
                | oxbpf_obj::RelocTarget::Data { map, .. } = &mut r.target
                {
                    *map = renumber(*map, &format!("{what} {:?}", p.name))?;
                }
            }
        }
    }
    for g in &mut out.globals {
        g.map = renumber(g.map, &format!("global {:?}", g.name))?;
    }
    let mut maps = Vec::with_capacity(n);
    for (m, k) in std::mem::take(&mut out.maps).into_iter().zip(&keep) {
        if *k {
            maps.push(m);
        }
    }
    for m in &mut maps {
        for (_, slot) in &mut m.initial_slots {
            if let oxbpf_obj::MapSlot::Map(i) = slot {
                *i = renumber(*i, &format!("a slot of map {:?}", m.name))?;
            }
        }
    }
    out.maps = maps;
    Ok(out)
}

/// [`prepare`] for an object whose struct_ops maps are all created.
fn plan(spec: &ObjectSpec) -> Result<(Cow<'_, ObjectSpec>, Plan)> {
    let mut plan = Plan::default();
    if !spec.maps.iter().any(|m| m.kind == MapKind::StructOps) {
        return Ok((Cow::Borrowed(spec), plan));
    }
    let vmlinux = crate::kernel_btf::vmlinux().map_err(|e| {
        let first = spec.maps.iter().find(|m| m.kind == MapKind::StructOps);
        map_err(
            first.map_or("", |m| m.name.as_str()),
            format!("struct_ops needs the kernel's BTF: {e}"),
        )
    })?;
    for m in &spec.maps {
        let Some(ops) = m
            .struct_ops
            .as_ref()
            .filter(|_| m.kind == MapKind::StructOps)
        else {
            plan.layouts.push(None);
            continue;
        };
        let layout = StructOpsLayout::from_btf(vmlinux, kernel_type_name(&ops.type_name))
            .map_err(|e| map_err(&m.name, e))?;
        for member in &ops.members {
            let Some(prog) = &member.program else {
                continue;
            };
            let km = layout
                .member(&member.name)
                .map_err(|e| map_err(&m.name, e))?;
            if !km.is_func {
                return Err(map_err(
                    &m.name,
                    format!(
                        "member {:?} of struct {} is not a function pointer in the kernel",
                        member.name, layout.type_name
                    ),
                ));
            }
            let target = (layout.type_id, km.index);
            match plan.targets.insert(prog.clone(), target) {
                Some(old) if old != target => {
                    return Err(map_err(
                        &m.name,
                        format!(
                            "program {prog:?} serves member {:?} here (index {}) and another \
                             member or ops type elsewhere (type {}, index {}): a struct_ops \
                             program implements one member of one type",
                            member.name, km.index, old.0, old.1
                        ),
                    ));
                }
                _ => {}
            }
        }
        plan.layouts.push(Some(layout));
    }
    let mut out = Cow::Borrowed(spec);
    for (i, p) in spec.programs.iter().enumerate() {
        if p.def.prog_type != ProgramType::STRUCT_OPS {
            continue;
        }
        let def = &mut out.to_mut().programs[i].def;
        // As libbpf: a program a struct_ops map references is loaded with its map (even
        // if its autoload was turned off), one no map references is not.
        match plan.targets.get(&p.name) {
            Some(&(_, index)) => {
                def.expected_attach_type = Some(AttachType(index));
                def.autoload = true;
            }
            None => def.autoload = false,
        }
    }
    Ok((out, plan))
}

impl Plan {
    /// The `attach_btf_id` of struct_ops program `name`, if a map references it.
    pub(crate) fn attach_btf_id(&self, name: &str) -> Option<u32> {
        self.targets.get(name).map(|t| t.0)
    }

    /// Creates struct_ops map `index` of the object (`m`), empty.
    pub(crate) fn create_map(&self, index: usize, m: &MapSpec) -> Result<Map> {
        let layout = self
            .layouts
            .get(index)
            .and_then(Option::as_ref)
            .ok_or_else(|| map_err(&m.name, "no kernel layout for this struct_ops map"))?;
        let link = m.struct_ops.as_ref().is_some_and(|o| o.link);
        let fd = struct_ops::create_map(layout, &m.name, link).map_err(|e| map_err(&m.name, e))?;
        Map::from_fd(m.name.clone(), fd).map_err(|e| Error::Maps(Box::new(e)))
    }

    /// Builds every struct_ops map's value from the shadow data and the loaded programs
    /// (written when the map is attached).
    pub(crate) fn register(
        &self,
        spec: &ObjectSpec,
        maps: &[Map],
        programs: &[Program],
    ) -> Result<Vec<StructOpsMap>> {
        let mut out = Vec::new();
        for (i, (m, map)) in spec.maps.iter().zip(maps).enumerate() {
            let (Some(layout), Some(ops)) = (
                self.layouts.get(i).and_then(Option::as_ref),
                m.struct_ops.as_ref(),
            ) else {
                continue;
            };
            let shadow = m.data.as_deref().unwrap_or(&[]);
            let mut members = Vec::with_capacity(ops.members.len());
            for member in &ops.members {
                let start = member.offset as usize;
                let bytes = shadow
                    .get(start..start + member.size as usize)
                    .ok_or_else(|| {
                        map_err(
                            &m.name,
                            format!("member {:?} lies past the shadow data", member.name),
                        )
                    })?;
                let program = match &member.program {
                    None => None,
                    Some(name) => Some(
                        programs
                            .iter()
                            .find(|p| p.name() == name)
                            .ok_or_else(|| {
                                map_err(
                                    &m.name,
                                    format!(
                                        "member {:?}: program {name:?} was not loaded",
                                        member.name
                                    ),
                                )
                            })?
                            .fd()
                            .as_fd(),
                    ),
                };
                members.push(ShadowMember {
                    name: &member.name,
                    bytes,
                    is_func: member.is_func,
                    program,
                });
            }
            let value = layout
                .value_from_shadow(&members)
                .map_err(|e| map_err(&m.name, e))?;
            let fd = map.map_fd().try_clone().map_err(|source| Error::Map {
                map: m.name.clone(),
                source,
            })?;
            out.push(StructOpsMap {
                name: m.name.clone(),
                link: ops.link,
                layout: layout.clone(),
                map: fd,
                value,
            });
        }
        Ok(out)
    }
}

/// A struct_ops map of a loaded [`Collection`](crate::Collection): a kernel ops table
/// implemented by the object's programs.
#[derive(Debug)]
pub struct StructOpsMap {
    name: String,
    link: bool,
    layout: StructOpsLayout,
    map: oxbpf_sys::MapFd,
    /// The value to write: kernel layout, program fds of the collection's programs.
    value: Vec<u8>,
}

impl StructOpsMap {
    /// The map (variable) name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The kernel ops type (`tcp_congestion_ops`).
    pub fn type_name(&self) -> &str {
        &self.layout.type_name
    }

    /// True for a `.struct_ops.link` map (created with `BPF_F_LINK`, registered through a
    /// `bpf_link`); false for a `.struct_ops` one (registered by its value).
    pub fn is_link(&self) -> bool {
        self.link
    }

    /// The struct_ops map's fd.
    pub fn map_fd(&self) -> BorrowedFd<'_> {
        self.map.as_fd()
    }

    /// The map value [`StructOpsMap::attach`] writes (`struct bpf_struct_ops_<type>`).
    pub fn value(&self) -> &[u8] {
        &self.value
    }

    /// Registers the ops table: writes the value (a plain map is registered by that; the
    /// link deletes the element on drop) and, for a `.struct_ops.link` map, creates a
    /// `BPF_STRUCT_OPS` link (Linux 6.4+), closed on drop. The kernel refuses a second
    /// registration of the same name, and a plain map registers only once (`EBUSY` after
    /// it was unregistered: load the object again).
    pub fn attach(&self) -> Result<oxbpf_attach::Link> {
        let description = format!("{} {}", self.layout.type_name, self.name);
        struct_ops::attach_map(
            &self.layout,
            self.map.as_fd(),
            &self.value,
            self.link,
            &description,
        )
        .map_err(|source| Error::Attach {
            program: format!("struct_ops map {}", self.name),
            source,
        })
    }
}
