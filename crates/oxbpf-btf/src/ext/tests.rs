use super::*;
use crate::write::{BtfBuilder, BtfExtBuilder};

fn put_u32(blob: &mut [u8], off: usize, v: u32) {
    blob[off..off + 4].copy_from_slice(&v.to_le_bytes());
}

struct Fixture {
    btf: Vec<u8>,
    ext: BtfExtBuilder,
}

fn fixture() -> Fixture {
    let mut b = BtfBuilder::new();
    let int = b.add_int("int", 4, 0);
    let proto = b.add_func_proto(int, &[]);
    b.add_func("prog", proto, 1);
    let text = b.add_str(".text");
    let kprobe = b.add_str("kprobe/foo");
    let file = b.add_str("/src/x.bpf.c");
    let line = b.add_str("return 0;");
    let access = b.add_str("0:1");
    let mut ext = BtfExtBuilder::new();
    ext.add_func_info(
        kprobe,
        &[FuncInfo {
            insn_off: 0,
            type_id: 3,
        }],
    )
    .add_func_info(
        text,
        &[
            FuncInfo {
                insn_off: 0,
                type_id: 3,
            },
            FuncInfo {
                insn_off: 16,
                type_id: 3,
            },
        ],
    )
    .add_line_info(
        kprobe,
        &[LineInfo {
            insn_off: 8,
            file_name_off: file,
            line_off: line,
            line: 42,
            col: 7,
        }],
    )
    .add_core_relos(
        kprobe,
        &[CoreRelo {
            insn_off: 24,
            type_id: 1,
            access_str_off: access,
            kind: 0,
        }],
    );
    Fixture {
        btf: b.build(),
        ext,
    }
}

fn collect<T: ExtRecord>(it: InfoSections<'_, T>) -> Vec<(String, Vec<T>)> {
    it.map(|s| {
        let s = s.unwrap();
        (
            s.section.to_string(),
            s.records().map(Result::unwrap).collect(),
        )
    })
    .collect()
}

fn check(ext: &BtfExt<'_>, btf: &Btf<'_>) {
    let fi = collect(ext.func_info());
    assert_eq!(fi.len(), 2);
    assert_eq!(fi[0].0, "kprobe/foo");
    assert_eq!(fi[1].0, ".text");
    assert_eq!(
        fi[1].1[1],
        FuncInfo {
            insn_off: 16,
            type_id: 3
        }
    );
    let li = collect(ext.line_info());
    assert_eq!(li.len(), 1);
    let l = li[0].1[0];
    assert_eq!((l.insn_off, l.line, l.col), (8, 42, 7));
    assert_eq!(btf.str_at(l.file_name_off).unwrap(), "/src/x.bpf.c");
    assert_eq!(btf.str_at(l.line_off).unwrap(), "return 0;");
    let cr = collect(ext.core_relos());
    assert_eq!(cr[0].0, "kprobe/foo");
    assert_eq!(btf.str_at(cr[0].1[0].access_str_off).unwrap(), "0:1");
    assert_eq!(cr[0].1[0].insn_off, 24);
}

#[test]
fn parses_func_line_and_core_relo_info_both_endians() {
    let f = fixture();
    for endian in [Endian::Little, Endian::Big] {
        let blob = f.ext.build(endian);
        let btf = Btf::parse(&f.btf).unwrap();
        let ext = BtfExt::parse(&blob, &btf).unwrap();
        assert_eq!(ext.endian(), endian);
        assert_eq!(ext.func_info_rec_size(), 8);
        assert_eq!(ext.line_info_rec_size(), 16);
        check(&ext, &btf);
    }
}

#[test]
fn accepts_larger_rec_size_and_skips_extra_bytes() {
    let f = fixture();
    let blob = f.ext.build_padded(Endian::Little, 8);
    let btf = Btf::parse(&f.btf).unwrap();
    let ext = BtfExt::parse(&blob, &btf).unwrap();
    assert_eq!(ext.func_info_rec_size(), 16);
    assert_eq!(ext.line_info_rec_size(), 24);
    assert_eq!(ext.core_relo_rec_size(), 24);
    check(&ext, &btf);
}

#[test]
fn header_without_core_relo_has_no_core_relos() {
    let f = fixture();
    let mut blob = f.ext.build(Endian::Little);
    // Drop core_relo fields: hdr_len 24, shift the blocks 8 bytes down.
    blob.drain(24..32);
    put_u32(&mut blob, 4, 24);
    let btf = Btf::parse(&f.btf).unwrap();
    let ext = BtfExt::parse(&blob, &btf).unwrap();
    assert_eq!(ext.core_relos().count(), 0);
    assert_eq!(collect(ext.func_info()).len(), 2);
    assert_eq!(collect(ext.line_info()).len(), 1);
}

#[test]
fn rejects_truncated_ext_header() {
    let f = fixture();
    let blob = f.ext.build(Endian::Little);
    let btf = Btf::parse(&f.btf).unwrap();
    let e = BtfExt::parse(&blob[..20], &btf).unwrap_err();
    assert_eq!(
        e.to_string(),
        "BTF.ext at offset 0x0: header truncated: need 24 bytes, blob is 20 bytes"
    );
}

#[test]
fn rejects_bad_ext_magic() {
    let f = fixture();
    let mut blob = f.ext.build(Endian::Little);
    blob[1] = 0;
    let btf = Btf::parse(&f.btf).unwrap();
    let e = BtfExt::parse(&blob, &btf).unwrap_err();
    assert!(e.to_string().contains("offset 0x0: bad magic"), "{e}");
}

#[test]
fn rejects_block_past_end() {
    let f = fixture();
    let mut blob = f.ext.build(Endian::Little);
    put_u32(&mut blob, 20, 0x1000); // line_info_len
    let btf = Btf::parse(&f.btf).unwrap();
    let e = BtfExt::parse(&blob, &btf).unwrap_err();
    assert!(e.to_string().contains("line_info block (off"), "{e}");
    assert!(e.to_string().contains("past the end of the blob"), "{e}");
}

#[test]
fn rejects_rec_size_smaller_than_record() {
    let f = fixture();
    let mut blob = f.ext.build(Endian::Little);
    put_u32(&mut blob, 32, 4); // func_info rec_size
    let btf = Btf::parse(&f.btf).unwrap();
    let e = BtfExt::parse(&blob, &btf).unwrap_err();
    assert_eq!(
        e.to_string(),
        "BTF.ext at offset 0x20: func_info rec_size 4 is smaller than the 8-byte record"
    );
}

#[test]
fn rejects_records_past_block_end() {
    let f = fixture();
    let mut blob = f.ext.build(Endian::Little);
    put_u32(&mut blob, 40, 100); // num_info of func_info section 0
    let btf = Btf::parse(&f.btf).unwrap();
    let e = BtfExt::parse(&blob, &btf).unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.starts_with(
            "BTF.ext at offset 0x24: func_info section 0 (\"kprobe/foo\"): 100 records"
        ),
        "{msg}"
    );
}

#[test]
fn rejects_section_name_offset_past_end() {
    let f = fixture();
    let mut blob = f.ext.build(Endian::Little);
    put_u32(&mut blob, 36, 0x9999);
    let btf = Btf::parse(&f.btf).unwrap();
    let e = BtfExt::parse(&blob, &btf).unwrap_err();
    assert!(
        e.to_string().starts_with(
            "BTF.ext at offset 0x24: func_info section 0: section name: string offset 0x9999"
        ),
        "{e}"
    );
}

#[test]
fn rejects_bad_hdr_len() {
    let f = fixture();
    let mut blob = f.ext.build(Endian::Little);
    put_u32(&mut blob, 4, 8);
    let btf = Btf::parse(&f.btf).unwrap();
    let e = BtfExt::parse(&blob, &btf).unwrap_err();
    assert!(e.to_string().contains("hdr_len 0x8 is outside"), "{e}");
}

mod props {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn ext_never_panics_on_mutated_blobs(
            muts in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
            cut in any::<prop::sample::Index>(),
        ) {
            let f = fixture();
            let btf = Btf::parse(&f.btf).unwrap();
            let mut blob = f.ext.build(Endian::Little);
            for (i, v) in muts {
                let i = i.index(blob.len());
                blob[i] = v;
            }
            let cut = cut.index(blob.len() + 1);
            if let Ok(ext) = BtfExt::parse(&blob[..cut], &btf) {
                for s in ext.func_info().flatten() { s.records().for_each(drop); }
                for s in ext.line_info().flatten() { s.records().for_each(drop); }
                for s in ext.core_relos().flatten() { s.records().for_each(drop); }
            }
        }
    }
}
