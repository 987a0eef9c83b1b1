//! `.BTF.ext`: per-ELF-section func_info, line_info and CO-RE relocation records.

use std::marker::PhantomData;

use crate::btf::Btf;
use crate::endian::Endian;
use crate::error::{Error, Result};
use crate::types::{Strings, TypeId};

/// Size of the `.BTF.ext` header up to line_info (without core_relo fields).
pub const BTF_EXT_HEADER_MIN_LEN: usize = 24;
/// Size of the `.BTF.ext` header with the core_relo fields.
pub const BTF_EXT_HEADER_CORE_LEN: usize = 32;

/// A record type stored in a `.BTF.ext` info block.
pub trait ExtRecord: Sized {
    /// The known (minimum) record size in bytes.
    const SIZE: usize;
    /// The block's name, for errors ("func_info", ...).
    const WHAT: &'static str;
    /// Decode from at least `SIZE` bytes.
    fn decode(b: &[u8], endian: Endian) -> Option<Self>;
}

/// `struct bpf_func_info` as stored in `.BTF.ext`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FuncInfo {
    /// Instruction offset in BYTES from the start of the ELF section, as stored.
    pub insn_off: u32,
    /// The FUNC type.
    pub type_id: TypeId,
}

/// `struct bpf_line_info` as stored in `.BTF.ext`, with `line_col` split.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LineInfo {
    /// Instruction offset in BYTES from the start of the ELF section, as stored.
    pub insn_off: u32,
    /// String offset of the file name.
    pub file_name_off: u32,
    /// String offset of the source line text.
    pub line_off: u32,
    /// Line number (`line_col >> 10`).
    pub line: u32,
    /// Column (`line_col & 0x3ff`).
    pub col: u32,
}

/// `struct bpf_core_relo` as stored in `.BTF.ext`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CoreRelo {
    /// Instruction offset in bytes from the start of the ELF section.
    pub insn_off: u32,
    /// The local root type.
    pub type_id: TypeId,
    /// String offset of the access string ("0:1:2").
    pub access_str_off: u32,
    /// `enum bpf_core_relo_kind`.
    pub kind: u32,
}

fn u32s<const N: usize>(b: &[u8], e: Endian) -> Option<[u32; N]> {
    let mut out = [0u32; N];
    for (i, v) in out.iter_mut().enumerate() {
        *v = e.read_u32(b, i * 4)?;
    }
    Some(out)
}

impl ExtRecord for FuncInfo {
    const SIZE: usize = 8;
    const WHAT: &'static str = "func_info";
    fn decode(b: &[u8], e: Endian) -> Option<Self> {
        let [insn_off, type_id] = u32s(b, e)?;
        Some(FuncInfo { insn_off, type_id })
    }
}

impl ExtRecord for LineInfo {
    const SIZE: usize = 16;
    const WHAT: &'static str = "line_info";
    fn decode(b: &[u8], e: Endian) -> Option<Self> {
        let [insn_off, file_name_off, line_off, line_col] = u32s(b, e)?;
        Some(LineInfo {
            insn_off,
            file_name_off,
            line_off,
            line: line_col >> 10,
            col: line_col & 0x3ff,
        })
    }
}

impl ExtRecord for CoreRelo {
    const SIZE: usize = 16;
    const WHAT: &'static str = "core_relo";
    fn decode(b: &[u8], e: Endian) -> Option<Self> {
        let [insn_off, type_id, access_str_off, kind] = u32s(b, e)?;
        Some(CoreRelo {
            insn_off,
            type_id,
            access_str_off,
            kind,
        })
    }
}

/// The fields of `struct btf_ext_header`; block offsets are relative to the header's end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExtHeader {
    /// Version (1).
    pub version: u8,
    /// Flags.
    pub flags: u8,
    /// Header length (24, or 32 with core_relo).
    pub hdr_len: u32,
    /// func_info block offset.
    pub func_info_off: u32,
    /// func_info block length.
    pub func_info_len: u32,
    /// line_info block offset.
    pub line_info_off: u32,
    /// line_info block length.
    pub line_info_len: u32,
    /// core_relo block offset (0 if the header is shorter than 32 bytes).
    pub core_relo_off: u32,
    /// core_relo block length (0 if the header is shorter than 32 bytes).
    pub core_relo_len: u32,
}

/// One info block (after its rec_size word); empty if absent.
#[derive(Clone, Copy, Debug, Default)]
struct Block<'a> {
    /// Absolute offset of `data` in the .BTF.ext blob.
    start: usize,
    data: &'a [u8],
    rec_size: u32,
}

/// A parsed `.BTF.ext` blob: a view over borrowed bytes, validated at parse time.
pub struct BtfExt<'a> {
    data: &'a [u8],
    endian: Endian,
    header: ExtHeader,
    strs: Strings<'a>,
    func_info: Block<'a>,
    line_info: Block<'a>,
    core_relo: Block<'a>,
}

impl std::fmt::Debug for BtfExt<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BtfExt")
            .field("endian", &self.endian)
            .field("header", &self.header)
            .finish_non_exhaustive()
    }
}

fn bad(offset: usize, reason: String) -> Error {
    Error::BadExt { offset, reason }
}

impl<'a> BtfExt<'a> {
    /// Parse `.BTF.ext` bytes; section names are resolved in `btf`'s string section.
    pub fn parse(data: &'a [u8], btf: &Btf<'a>) -> Result<BtfExt<'a>> {
        if data.len() < BTF_EXT_HEADER_MIN_LEN {
            return Err(bad(
                0,
                format!(
                    "header truncated: need {BTF_EXT_HEADER_MIN_LEN} bytes, blob is {} bytes",
                    data.len()
                ),
            ));
        }
        let magic = [data[0], data[1]];
        let endian = Endian::from_magic(magic)
            .ok_or_else(|| bad(0, format!("bad magic {magic:02x?} (want 0xeb9f)")))?;
        if data[2] != 1 {
            return Err(bad(2, format!("unsupported version {} (want 1)", data[2])));
        }
        let field = |off: usize| endian.read_u32(data, off).unwrap_or(0);
        let hdr_len = field(4);
        if (hdr_len as usize) < BTF_EXT_HEADER_MIN_LEN || hdr_len as usize > data.len() {
            return Err(bad(
                4,
                format!(
                    "hdr_len {hdr_len:#x} is outside {BTF_EXT_HEADER_MIN_LEN:#x}..={:#x} (the blob's length)",
                    data.len()
                ),
            ));
        }
        let has_core = hdr_len as usize >= BTF_EXT_HEADER_CORE_LEN;
        let header = ExtHeader {
            version: data[2],
            flags: data[3],
            hdr_len,
            func_info_off: field(8),
            func_info_len: field(12),
            line_info_off: field(16),
            line_info_len: field(20),
            core_relo_off: if has_core { field(24) } else { 0 },
            core_relo_len: if has_core { field(28) } else { 0 },
        };
        let mut ext = BtfExt {
            data,
            endian,
            header,
            strs: btf.strings(),
            func_info: Block::default(),
            line_info: Block::default(),
            core_relo: Block::default(),
        };
        ext.func_info = ext.block::<FuncInfo>(header.func_info_off, header.func_info_len)?;
        ext.line_info = ext.block::<LineInfo>(header.line_info_off, header.line_info_len)?;
        ext.core_relo = ext.block::<CoreRelo>(header.core_relo_off, header.core_relo_len)?;
        // Validate every section header, name and record range now, so iteration is clean.
        for s in ext.func_info() {
            s?;
        }
        for s in ext.line_info() {
            s?;
        }
        for s in ext.core_relos() {
            s?;
        }
        Ok(ext)
    }

    fn block<T: ExtRecord>(&self, off: u32, len: u32) -> Result<Block<'a>> {
        let what = T::WHAT;
        if len == 0 {
            return Ok(Block::default());
        }
        let start = u64::from(self.header.hdr_len) + u64::from(off);
        let end = start + u64::from(len);
        if end > self.data.len() as u64 {
            return Err(bad(
                start.min(self.data.len() as u64) as usize,
                format!(
                    "{what} block (off {off:#x}, len {len:#x}) spans {start:#x}..{end:#x}, past the end of the blob (len {:#x})",
                    self.data.len()
                ),
            ));
        }
        let (start, end) = (start as usize, end as usize);
        let block = &self.data[start..end];
        let rec_size = self.endian.read_u32(block, 0).ok_or_else(|| {
            bad(
                start,
                format!("{what} block of {len} bytes is too short for its rec_size"),
            )
        })?;
        if (rec_size as usize) < T::SIZE {
            return Err(bad(
                start,
                format!(
                    "{what} rec_size {rec_size} is smaller than the {}-byte record",
                    T::SIZE
                ),
            ));
        }
        Ok(Block {
            start: start + 4,
            data: &block[4..],
            rec_size,
        })
    }

    fn sections<T: ExtRecord>(&self, block: Block<'a>) -> InfoSections<'a, T> {
        InfoSections {
            block,
            pos: 0,
            idx: 0,
            endian: self.endian,
            strs: self.strs,
            done: false,
            _t: PhantomData,
        }
    }

    /// Byte order of the blob.
    pub fn endian(&self) -> Endian {
        self.endian
    }

    /// The decoded header.
    pub fn header(&self) -> ExtHeader {
        self.header
    }

    /// The func_info records, per ELF section.
    pub fn func_info(&self) -> InfoSections<'a, FuncInfo> {
        self.sections(self.func_info)
    }

    /// The line_info records, per ELF section.
    pub fn line_info(&self) -> InfoSections<'a, LineInfo> {
        self.sections(self.line_info)
    }

    /// The CO-RE relocation records, per ELF section (empty if the header has none).
    pub fn core_relos(&self) -> InfoSections<'a, CoreRelo> {
        self.sections(self.core_relo)
    }

    /// func_info record size as stored (0 if there is no func_info).
    pub fn func_info_rec_size(&self) -> u32 {
        self.func_info.rec_size
    }

    /// line_info record size as stored (0 if there is no line_info).
    pub fn line_info_rec_size(&self) -> u32 {
        self.line_info.rec_size
    }

    /// core_relo record size as stored (0 if there are no CO-RE relocations).
    pub fn core_relo_rec_size(&self) -> u32 {
        self.core_relo.rec_size
    }
}

/// Iterator over the per-ELF-section groups of one info block.
#[derive(Debug)]
pub struct InfoSections<'a, T> {
    block: Block<'a>,
    pos: usize,
    idx: usize,
    endian: Endian,
    strs: Strings<'a>,
    done: bool,
    _t: PhantomData<T>,
}

impl<'a, T: ExtRecord> InfoSections<'a, T> {
    fn next_section(&mut self) -> Result<InfoSection<'a, T>> {
        let b = self.block;
        let at = b.start + self.pos;
        let i = self.idx;
        let what = T::WHAT;
        let (Some(name_off), Some(num_info)) = (
            self.endian.read_u32(b.data, self.pos),
            self.endian.read_u32(b.data, self.pos + 4),
        ) else {
            return Err(bad(
                at,
                format!(
                    "{what} section {i}: header (8 bytes) runs past the end of the block at {:#x}",
                    b.start + b.data.len()
                ),
            ));
        };
        let section = self
            .strs
            .get(name_off)
            .map_err(|e| bad(at, format!("{what} section {i}: section name: {e}")))?;
        let rec_start = self.pos + 8;
        let bytes = u64::from(num_info) * u64::from(b.rec_size);
        let rec_end = rec_start as u64 + bytes;
        if rec_end > b.data.len() as u64 {
            return Err(bad(
                at,
                format!(
                    "{what} section {i} ({section:?}): {num_info} records of {} bytes run past the end of the block at {:#x}",
                    b.rec_size,
                    b.start + b.data.len()
                ),
            ));
        }
        let rec_end = rec_end as usize;
        self.pos = rec_end;
        self.idx += 1;
        Ok(InfoSection {
            section,
            num_info,
            rec_size: b.rec_size,
            offset: b.start + rec_start,
            data: &b.data[rec_start..rec_end],
            endian: self.endian,
            _t: PhantomData,
        })
    }
}

impl<'a, T: ExtRecord> Iterator for InfoSections<'a, T> {
    type Item = Result<InfoSection<'a, T>>;
    fn next(&mut self) -> Option<Self::Item> {
        if self.done || self.pos >= self.block.data.len() {
            return None;
        }
        let r = self.next_section();
        if r.is_err() {
            self.done = true;
        }
        Some(r)
    }
}

/// The records of one info block for one ELF section.
#[derive(Debug)]
pub struct InfoSection<'a, T> {
    /// The ELF section name (e.g. "kprobe/do_sys_open", ".text").
    pub section: &'a str,
    num_info: u32,
    rec_size: u32,
    offset: usize,
    data: &'a [u8],
    endian: Endian,
    _t: PhantomData<T>,
}

impl<T> Clone for InfoSection<'_, T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for InfoSection<'_, T> {}

impl<'a, T: ExtRecord> InfoSection<'a, T> {
    /// Number of records.
    pub fn len(&self) -> usize {
        self.num_info as usize
    }

    /// True if there are no records.
    pub fn is_empty(&self) -> bool {
        self.num_info == 0
    }

    /// Record size as stored (>= the known size; extra bytes are skipped).
    pub fn rec_size(&self) -> u32 {
        self.rec_size
    }

    /// Byte offset of the first record in the .BTF.ext blob.
    pub fn offset(&self) -> usize {
        self.offset
    }

    /// The raw bytes of all records.
    pub fn raw(&self) -> &'a [u8] {
        self.data
    }

    /// The records, decoded on demand.
    pub fn records(&self) -> InfoRecords<'a, T> {
        InfoRecords { sec: *self, idx: 0 }
    }
}

/// Iterator over an [`InfoSection`]'s records.
#[derive(Debug)]
pub struct InfoRecords<'a, T> {
    sec: InfoSection<'a, T>,
    idx: u32,
}

impl<T: ExtRecord> Iterator for InfoRecords<'_, T> {
    type Item = Result<T>;
    fn next(&mut self) -> Option<Self::Item> {
        if self.idx >= self.sec.num_info {
            return None;
        }
        let i = self.idx;
        self.idx += 1;
        let off = i as usize * self.sec.rec_size as usize;
        let rec = self
            .sec
            .data
            .get(off..)
            .and_then(|b| T::decode(b, self.sec.endian));
        match rec {
            Some(r) => Some(Ok(r)),
            None => {
                self.idx = self.sec.num_info;
                Some(Err(bad(
                    self.sec.offset + off,
                    format!(
                        "{} record {i} of section {:?} runs past its data",
                        T::WHAT,
                        self.sec.section
                    ),
                )))
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = (self.sec.num_info - self.idx) as usize;
        (n, Some(n))
    }
}

#[cfg(test)]
mod tests;
