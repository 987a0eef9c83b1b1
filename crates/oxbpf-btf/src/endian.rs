//! Byte order and bounds-checked integer reads.

/// Byte order of a BTF or BTF.ext blob, taken from its magic.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Endian {
    /// Least significant byte first (x86, arm64, bpfel).
    Little,
    /// Most significant byte first (s390x, bpfeb).
    Big,
}

impl Endian {
    /// The byte order of the machine running this code.
    pub const fn native() -> Endian {
        if cfg!(target_endian = "big") {
            Endian::Big
        } else {
            Endian::Little
        }
    }

    /// Detect the byte order from the two magic bytes 0xeB9F; `None` if neither matches.
    pub fn from_magic(bytes: [u8; 2]) -> Option<Endian> {
        match bytes {
            [0x9f, 0xeb] => Some(Endian::Little),
            [0xeb, 0x9f] => Some(Endian::Big),
            _ => None,
        }
    }

    /// Decode a u16 in this byte order.
    pub fn u16(self, b: [u8; 2]) -> u16 {
        match self {
            Endian::Little => u16::from_le_bytes(b),
            Endian::Big => u16::from_be_bytes(b),
        }
    }

    /// Decode a u32 in this byte order.
    pub fn u32(self, b: [u8; 4]) -> u32 {
        match self {
            Endian::Little => u32::from_le_bytes(b),
            Endian::Big => u32::from_be_bytes(b),
        }
    }

    /// Encode a u16 in this byte order.
    pub fn u16_bytes(self, v: u16) -> [u8; 2] {
        match self {
            Endian::Little => v.to_le_bytes(),
            Endian::Big => v.to_be_bytes(),
        }
    }

    /// Encode a u32 in this byte order.
    pub fn u32_bytes(self, v: u32) -> [u8; 4] {
        match self {
            Endian::Little => v.to_le_bytes(),
            Endian::Big => v.to_be_bytes(),
        }
    }

    /// Read a u32 at `off` in `data`; `None` if it does not fit.
    pub(crate) fn read_u32(self, data: &[u8], off: usize) -> Option<u32> {
        let end = off.checked_add(4)?;
        let b: [u8; 4] = data.get(off..end)?.try_into().ok()?;
        Some(self.u32(b))
    }

    /// Overwrite the u32 at `off` in `data`; `false` if it does not fit.
    pub(crate) fn write_u32(self, data: &mut [u8], off: usize, v: u32) -> bool {
        match off.checked_add(4).and_then(|end| data.get_mut(off..end)) {
            Some(dst) => {
                dst.copy_from_slice(&self.u32_bytes(v));
                true
            }
            None => false,
        }
    }
}
