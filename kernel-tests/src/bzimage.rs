//! The ELF `vmlinux` inside a `vmlinuz` bzImage, like the kernel's `extract-vmlinux`.
//!
//! The boot protocol header (2.08+) says exactly where the compressed payload is
//! (`payload_offset`/`payload_length`); an image without a usable header is scanned for
//! the compressors' magics instead. zstd (6.12 cloud kernels), legacy LZ4 (5.10, 6.1) and
//! gzip and xz (with the x86 BCJ filter the kernel's `xz_wrap.sh` applies) payloads are
//! decoded in pure Rust.

use std::fmt;
use std::io::Read;

/// Why an image yields no vmlinux.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// The file ends before a structure that must be there.
    Truncated {
        /// What was being read.
        what: &'static str,
        /// The byte offset where it should end.
        needed: u64,
        /// The file's length.
        len: u64,
    },
    /// The payload is in a format this crate does not decode.
    Unsupported {
        /// The compressor.
        format: &'static str,
        /// Offset of the payload in the image.
        offset: u64,
    },
    /// The payload did not decompress.
    Corrupt {
        /// The compressor.
        format: &'static str,
        /// Offset of the payload in the image.
        offset: u64,
        /// The decoder's message.
        detail: String,
    },
    /// Decompressed, but what came out is not a loadable x86-64 ELF kernel.
    NotElf {
        /// Why.
        detail: String,
    },
    /// No payload magic anywhere in the image.
    NoPayload,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Truncated { what, needed, len } => write!(
                f,
                "kernel image truncated: {what} needs {needed} bytes, the file has {len}"
            ),
            Error::Unsupported { format, offset } => write!(
                f,
                "kernel payload at offset {offset:#x} is {format}, which is not supported yet"
            ),
            Error::Corrupt {
                format,
                offset,
                detail,
            } => write!(
                f,
                "kernel payload at offset {offset:#x} ({format}) does not decompress: {detail}"
            ),
            Error::NotElf { detail } => write!(f, "kernel is not a usable ELF vmlinux: {detail}"),
            Error::NoPayload => write!(f, "no compressed kernel payload found in the image"),
        }
    }
}

impl std::error::Error for Error {}

/// A compressed payload's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// zstd frame (`28 b5 2f fd`).
    Zstd,
    /// LZ4 legacy frame (`02 21 4c 18`), as the kernel's `lz4 -l` writes it.
    Lz4Legacy,
    /// gzip (`1f 8b 08`).
    Gzip,
    /// xz (`fd 37 7a 58 5a 00`).
    Xz,
}

impl Format {
    fn name(self) -> &'static str {
        match self {
            Format::Zstd => "zstd",
            Format::Lz4Legacy => "lz4 (legacy frame)",
            Format::Gzip => "gzip",
            Format::Xz => "xz",
        }
    }

    fn magic(self) -> &'static [u8] {
        match self {
            Format::Zstd => &[0x28, 0xb5, 0x2f, 0xfd],
            Format::Lz4Legacy => &LZ4_LEGACY_MAGIC,
            Format::Gzip => &[0x1f, 0x8b, 0x08],
            Format::Xz => &[0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00],
        }
    }

    /// The format whose magic starts `bytes`.
    pub fn detect(bytes: &[u8]) -> Option<Format> {
        [Format::Zstd, Format::Lz4Legacy, Format::Gzip, Format::Xz]
            .into_iter()
            .find(|f| bytes.starts_with(f.magic()))
    }
}

const LZ4_LEGACY_MAGIC: [u8; 4] = [0x02, 0x21, 0x4c, 0x18];
/// Uncompressed size of each legacy LZ4 block but the last.
const LZ4_LEGACY_BLOCK: usize = 8 << 20;
const ELF_MAGIC: &[u8] = b"\x7fELF";

fn u16_at(b: &[u8], off: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(off..off + 2)?.try_into().ok()?))
}

fn u32_at(b: &[u8], off: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(off..off + 4)?.try_into().ok()?))
}

/// Where the boot header puts the payload: `Ok(None)` if this is not a 2.08+ bzImage.
pub fn payload_range(image: &[u8]) -> Result<Option<(usize, usize)>, Error> {
    if u32_at(image, 0x202) != Some(u32::from_le_bytes(*b"HdrS")) {
        return Ok(None);
    }
    let version = u16_at(image, 0x206).unwrap_or(0);
    if version < 0x208 {
        return Ok(None);
    }
    let len = image.len() as u64;
    let (Some(offset), Some(length)) = (u32_at(image, 0x248), u32_at(image, 0x24c)) else {
        return Err(Error::Truncated {
            what: "boot header",
            needed: 0x250,
            len,
        });
    };
    let setup_sects = match image[0x1f1] {
        0 => 4,
        n => u64::from(n),
    };
    let start = (setup_sects + 1) * 512 + u64::from(offset);
    let end = start + u64::from(length);
    if end > len {
        return Err(Error::Truncated {
            what: "compressed payload (from the boot header)",
            needed: end,
            len,
        });
    }
    // Both fit in the file, so in usize.
    Ok(Some((start as usize, end as usize)))
}

/// The ELF vmlinux of a bzImage (or of a bare compressed kernel).
pub fn extract_vmlinux(image: &[u8]) -> Result<Vec<u8>, Error> {
    if image.starts_with(ELF_MAGIC) {
        check_elf(image)?;
        return Ok(image.to_vec());
    }
    if let Some((start, end)) = payload_range(image)? {
        let payload = &image[start..end];
        let Some(format) = Format::detect(payload) else {
            return Err(Error::Corrupt {
                format: "unknown",
                offset: start as u64,
                detail: format!(
                    "no known magic (first bytes {:02x?})",
                    &payload[..payload.len().min(6)]
                ),
            });
        };
        let elf = decompress(format, payload, start as u64)?;
        check_elf(&elf)?;
        return Ok(elf);
    }
    // No usable header: try every magic occurrence, first success wins.
    let mut last = Error::NoPayload;
    for at in 0..image.len() {
        if let Some(format) = Format::detect(&image[at..]) {
            match decompress(format, &image[at..], at as u64) {
                Ok(elf) if elf.starts_with(ELF_MAGIC) => {
                    check_elf(&elf)?;
                    return Ok(elf);
                }
                Ok(_) => {}
                Err(e) => last = e,
            }
        }
    }
    Err(last)
}

/// Decodes one payload; trailing bytes after the stream (the kernel appends the
/// uncompressed size) are ignored.
pub fn decompress(format: Format, payload: &[u8], offset: u64) -> Result<Vec<u8>, Error> {
    let corrupt = |detail: String| Error::Corrupt {
        format: format.name(),
        offset,
        detail,
    };
    match format {
        Format::Zstd => {
            let mut src = payload;
            let mut dec = ruzstd::decoding::StreamingDecoder::new(&mut src)
                .map_err(|e| corrupt(e.to_string()))?;
            let mut out = Vec::new();
            dec.read_to_end(&mut out)
                .map_err(|e| corrupt(e.to_string()))?;
            Ok(out)
        }
        Format::Gzip => {
            let mut out = Vec::new();
            flate2::read::GzDecoder::new(payload)
                .read_to_end(&mut out)
                .map_err(|e| corrupt(e.to_string()))?;
            Ok(out)
        }
        Format::Lz4Legacy => unlz4_legacy(payload).map_err(corrupt),
        Format::Xz => {
            // One stream: the kernel appends the uncompressed size after it.
            let mut out = Vec::new();
            lzma_rust2::XzReader::new(payload, false)
                .read_to_end(&mut out)
                .map_err(|e| corrupt(e.to_string()))?;
            Ok(out)
        }
    }
}

/// The legacy LZ4 frame: magic, then `[u32 compressed size][block]`… each block
/// decompressing to at most 8 MiB; a repeated magic starts a new frame. It ends at the
/// end of input or at a size field that cannot be a block (the kernel's appended size).
fn unlz4_legacy(payload: &[u8]) -> Result<Vec<u8>, String> {
    if !payload.starts_with(&LZ4_LEGACY_MAGIC) {
        return Err("no legacy LZ4 magic".into());
    }
    // LZ4's worst-case expansion of an 8 MiB block.
    let max_block = LZ4_LEGACY_BLOCK + LZ4_LEGACY_BLOCK / 255 + 16;
    let mut out = Vec::new();
    let mut block = vec![0u8; LZ4_LEGACY_BLOCK];
    let mut pos = 4;
    while pos + 4 <= payload.len() {
        let Some(size) = u32_at(payload, pos) else {
            break;
        };
        if size.to_le_bytes() == LZ4_LEGACY_MAGIC {
            pos += 4;
            continue;
        }
        let size = size as usize;
        let remaining = payload.len() - pos - 4;
        if remaining == 0 && !out.is_empty() {
            break; // the kernel's appended uncompressed size, as the last word
        }
        if size == 0 || size > max_block {
            if out.is_empty() {
                return Err(format!("bad block size {size} at payload offset {pos}"));
            }
            break; // the trailing uncompressed-size word
        }
        if size > remaining {
            return Err(format!(
                "block at payload offset {pos} needs {size} bytes, only {remaining} remain (truncated)"
            ));
        }
        let n = lz4_flex::block::decompress_into(&payload[pos + 4..pos + 4 + size], &mut block)
            .map_err(|e| format!("block at payload offset {pos}: {e}"))?;
        out.extend_from_slice(&block[..n]);
        pos += 4 + size;
    }
    if out.is_empty() {
        return Err("no blocks".into());
    }
    Ok(out)
}

/// Checks that `elf` is an x86-64 ELF whose loadable segments all lie inside the file.
pub fn check_elf(elf: &[u8]) -> Result<(), Error> {
    use object::read::elf::{ElfFile64, ProgramHeader};
    let not = |detail: String| Error::NotElf { detail };
    let file = ElfFile64::<object::Endianness>::parse(elf).map_err(|e| not(format!("ELF: {e}")))?;
    if file.elf_header().e_machine.get(file.endian()) != object::elf::EM_X86_64 {
        return Err(not("not an x86-64 ELF".into()));
    }
    let endian = file.endian();
    let mut loads = 0;
    for (i, ph) in file.elf_program_headers().iter().enumerate() {
        if ph.p_type(endian) != object::elf::PT_LOAD {
            continue;
        }
        loads += 1;
        let end = ph.p_offset(endian).saturating_add(ph.p_filesz(endian));
        if end > elf.len() as u64 {
            return Err(Error::Truncated {
                what: if i == 0 {
                    "ELF segment 0"
                } else {
                    "an ELF PT_LOAD segment"
                },
                needed: end,
                len: elf.len() as u64,
            });
        }
    }
    if loads == 0 {
        return Err(not("no PT_LOAD segments".into()));
    }
    Ok(())
}

/// The raw `.BTF` section of a vmlinux ELF, if it has one.
pub fn btf_section(elf: &[u8]) -> Option<&[u8]> {
    use object::{Object, ObjectSection};
    let file = object::File::parse(elf).ok()?;
    file.section_by_name(".BTF")?.data().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal x86-64 ELF with one PT_LOAD segment covering `body`.
    fn tiny_elf(body: &[u8]) -> Vec<u8> {
        let mut e = vec![0u8; 64 + 56];
        e[..4].copy_from_slice(ELF_MAGIC);
        e[4] = 2; // 64-bit
        e[5] = 1; // little endian
        e[6] = 1;
        e[16..18].copy_from_slice(&2u16.to_le_bytes()); // ET_EXEC
        e[18..20].copy_from_slice(&object::elf::EM_X86_64.to_le_bytes());
        e[20..24].copy_from_slice(&1u32.to_le_bytes());
        e[32..40].copy_from_slice(&64u64.to_le_bytes()); // e_phoff
        e[52..54].copy_from_slice(&64u16.to_le_bytes()); // e_ehsize
        e[54..56].copy_from_slice(&56u16.to_le_bytes()); // e_phentsize
        e[56..58].copy_from_slice(&1u16.to_le_bytes()); // e_phnum
        let ph = 64;
        e[ph..ph + 4].copy_from_slice(&object::elf::PT_LOAD.to_le_bytes());
        let off = (64 + 56) as u64;
        e[ph + 8..ph + 16].copy_from_slice(&off.to_le_bytes());
        e[ph + 32..ph + 40].copy_from_slice(&(body.len() as u64).to_le_bytes());
        e[ph + 40..ph + 48].copy_from_slice(&(body.len() as u64).to_le_bytes());
        e.extend_from_slice(body);
        e
    }

    fn lz4_legacy(data: &[u8], block: usize) -> Vec<u8> {
        let mut out = LZ4_LEGACY_MAGIC.to_vec();
        for chunk in data.chunks(block) {
            let c = lz4_flex::block::compress(chunk);
            out.extend_from_slice(&(c.len() as u32).to_le_bytes());
            out.extend_from_slice(&c);
        }
        // The kernel build appends the uncompressed size.
        out.extend_from_slice(&(data.len() as u32).to_le_bytes());
        out
    }

    /// A bzImage-shaped file: setup_sects = 1, header 2.15, payload right after.
    fn bzimage(payload: &[u8]) -> Vec<u8> {
        let mut img = vec![0u8; 1024];
        img[0x1f1] = 1;
        img[0x202..0x206].copy_from_slice(b"HdrS");
        img[0x206..0x208].copy_from_slice(&0x020fu16.to_le_bytes());
        img[0x248..0x24c].copy_from_slice(&0u32.to_le_bytes());
        img[0x24c..0x250].copy_from_slice(&(payload.len() as u32).to_le_bytes());
        img.extend_from_slice(payload);
        img
    }

    #[test]
    fn extracts_lz4_legacy_payload_from_bzimage() {
        let body: Vec<u8> = (0..300_000u32)
            .flat_map(|i| (i % 251).to_le_bytes())
            .collect();
        let elf = tiny_elf(&body);
        let img = bzimage(&lz4_legacy(&elf, LZ4_LEGACY_BLOCK));
        assert_eq!(extract_vmlinux(&img).unwrap(), elf);
    }

    #[test]
    fn lz4_legacy_with_many_blocks_and_repeated_magic() {
        let data: Vec<u8> = (0..100_000u32).map(|i| (i * 7 % 256) as u8).collect();
        let mut frame = lz4_legacy(&data[..50_000], 20_000);
        frame.truncate(frame.len() - 4); // drop the size word, a second frame follows
        frame.extend_from_slice(&lz4_legacy(&data[50_000..], 20_000));
        assert_eq!(unlz4_legacy(&frame).unwrap(), data);
    }

    #[test]
    fn extracts_gzip_payload_by_scanning_without_header() {
        use std::io::Write;
        let elf = tiny_elf(b"kernel text");
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&elf).unwrap();
        let mut img = b"some stub without a boot header".to_vec();
        img.extend_from_slice(&gz.finish().unwrap());
        img.extend_from_slice(&[0, 1, 2, 3]);
        assert_eq!(extract_vmlinux(&img).unwrap(), elf);
    }

    #[test]
    fn rejects_truncated_bzimage_with_sizes() {
        let elf = tiny_elf(&[0x90; 5000]);
        let mut img = bzimage(&lz4_legacy(&elf, LZ4_LEGACY_BLOCK));
        let full = img.len() as u64;
        img.truncate(img.len() - 100);
        let err = extract_vmlinux(&img).unwrap_err();
        assert_eq!(
            err,
            Error::Truncated {
                what: "compressed payload (from the boot header)",
                needed: full,
                len: full - 100
            }
        );
        assert!(err.to_string().contains("truncated"), "{err}");
    }

    #[test]
    fn rejects_truncated_lz4_block() {
        let data = vec![7u8; 10_000];
        let mut frame = lz4_legacy(&data, LZ4_LEGACY_BLOCK);
        frame.truncate(frame.len() - 8);
        let err = unlz4_legacy(&frame).unwrap_err();
        assert!(err.contains("truncated"), "{err}");
    }

    #[test]
    fn rejects_elf_whose_segment_runs_past_the_end() {
        let mut elf = tiny_elf(&[1u8; 4096]);
        elf.truncate(elf.len() - 1);
        let err = check_elf(&elf).unwrap_err();
        assert!(
            matches!(err, Error::Truncated { needed, len, .. } if needed == len + 1),
            "{err}"
        );
    }

    /// `printf 'oxbpf xz payload\n' | xz --check=crc32 --x86 --lzma2` (the kernel's
    /// filter chain), made once with xz-utils 5.4.1.
    const XZ_BCJ_SAMPLE: &[u8] = include_bytes!("../tests/data/sample.x86.xz");

    #[test]
    fn decodes_committed_xz_sample_with_x86_bcj_filter() {
        let mut payload = XZ_BCJ_SAMPLE.to_vec();
        payload.extend_from_slice(&17u32.to_le_bytes()); // the kernel's appended size
        assert_eq!(
            decompress(Format::Xz, &payload, 0).unwrap(),
            b"oxbpf xz payload\n"
        );
    }

    #[test]
    fn extracts_xz_payload_built_by_the_xz_cli() {
        use std::io::Write;
        use std::process::{Command, Stdio};
        // x86 code-like bytes (E8 calls) so the BCJ filter really rewrites something.
        let body: Vec<u8> = (0..20_000u32)
            .flat_map(|i| [0xe8, (i % 251) as u8, (i >> 3) as u8, 0, 0, 0x90])
            .collect();
        let elf = tiny_elf(&body);
        let child = Command::new("xz")
            .args(["--check=crc32", "--x86", "--lzma2=dict=1MiB", "-c"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn();
        let Ok(mut child) = child else {
            println!("skipping: no xz CLI (xz-utils) to build the payload");
            return;
        };
        child.stdin.take().unwrap().write_all(&elf).unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "xz failed");
        let mut payload = out.stdout;
        payload.extend_from_slice(&(elf.len() as u32).to_le_bytes());
        assert_eq!(extract_vmlinux(&bzimage(&payload)).unwrap(), elf);
    }

    #[test]
    fn rejects_corrupt_xz_naming_format_and_offset() {
        let mut payload = XZ_BCJ_SAMPLE.to_vec();
        let mid = payload.len() / 2;
        payload[mid] ^= 0xff;
        let err = decompress(Format::Xz, &payload, 0x4000).unwrap_err();
        assert!(
            matches!(
                err,
                Error::Corrupt {
                    format: "xz",
                    offset: 0x4000,
                    ..
                }
            ),
            "{err}"
        );
        let cut = decompress(Format::Xz, &XZ_BCJ_SAMPLE[..20], 0).unwrap_err();
        assert!(matches!(cut, Error::Corrupt { format: "xz", .. }), "{cut}");
    }

    #[test]
    fn arbitrary_bytes_do_not_panic() {
        let mut seed = 0x1234_5678u32;
        for len in [0usize, 1, 3, 0x250, 2000] {
            let mut v = vec![0u8; len];
            for b in &mut v {
                seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
                *b = (seed >> 16) as u8;
            }
            let _ = extract_vmlinux(&v);
            if len >= 0x250 {
                v[0x202..0x206].copy_from_slice(b"HdrS");
                v[0x206..0x208].copy_from_slice(&0x020fu16.to_le_bytes());
                let _ = extract_vmlinux(&v);
            }
        }
    }
}
