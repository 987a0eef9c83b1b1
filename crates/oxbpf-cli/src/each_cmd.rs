//! `oxbpf load --each`: every program of each object loaded on its own (the others'
//! autoload off, the object's maps created with it), one JSON line per program, as
//! veristat reports its verdicts.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use oxbpf::obj::MapType;
use oxbpf::{Collection, LoadOptions, ObjectSpec};
use serde_json::{Value, json};

type Res = Result<(), Box<dyn std::error::Error>>;

/// Loads each program of each of `objects` on its own and prints one JSON line per program
/// (`{"object","program","section","prog_type","result","error_class","errno",
/// "verified_insns","message"}`); an object that cannot be read gives one line with
/// `program` null and error class `bad-object`. `jobs` threads take whole objects;
/// `kconfig` is [`LoadOptions::kconfig`].
pub fn run(objects: &[PathBuf], jobs: usize, log_level: u32, kconfig: Option<&Path>) -> Res {
    let next = AtomicUsize::new(0);
    let out = Mutex::new(std::io::stdout());
    let write_failed = Mutex::new(None::<std::io::Error>);
    let workers = jobs.clamp(1, objects.len().max(1));
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(path) = objects.get(i) else { break };
                    let lines = object_lines(path, log_level, kconfig);
                    let mut text = String::new();
                    for l in &lines {
                        text.push_str(&l.to_string());
                        text.push('\n');
                    }
                    // One object's lines stay together.
                    let mut o = out.lock().unwrap_or_else(|e| e.into_inner());
                    if let Err(e) = o.write_all(text.as_bytes()).and_then(|()| o.flush()) {
                        *write_failed.lock().unwrap_or_else(|e| e.into_inner()) = Some(e);
                        next.store(objects.len(), Ordering::Relaxed);
                        break;
                    }
                }
            });
        }
    });
    match write_failed.into_inner().unwrap_or_else(|e| e.into_inner()) {
        Some(e) => Err(format!("writing the results: {e}").into()),
        None => Ok(()),
    }
}

/// The lines of one object: one per program, or one `bad-object` line.
fn object_lines(path: &Path, log_level: u32, kconfig: Option<&Path>) -> Vec<Value> {
    let object = path.display().to_string();
    let mut spec = match ObjectSpec::from_file(path) {
        Ok(s) => s,
        Err(e) => {
            return vec![json!({
                "object": object,
                "program": null,
                "section": null,
                "prog_type": null,
                "result": "fail",
                "error_class": oxbpf::ErrorClass::BadObject.name(),
                "errno": null,
                "verified_insns": null,
                "message": e.to_string(),
            })];
        }
    };
    fixup(&mut spec);
    let opts = LoadOptions {
        log_level,
        kconfig: kconfig.map(Path::to_path_buf),
        ..Default::default()
    };
    let mut lines = Vec::with_capacity(spec.programs.len());
    for i in 0..spec.programs.len() {
        for (j, p) in spec.programs.iter_mut().enumerate() {
            p.def.autoload = i == j;
        }
        let p = &spec.programs[i];
        let mut line = json!({
            "object": object,
            "program": p.name,
            "section": p.section,
            "prog_type": p.def.prog_type.to_string(),
        });
        let fields = match Collection::load(&spec, &opts) {
            Ok(coll) => {
                let verified = coll
                    .program(&p.name)
                    .and_then(|lp| oxbpf::sys::bpf::prog_info(lp.fd().as_fd()).ok())
                    .map(|info| info.verified_insns)
                    .filter(|&n| n > 0); // 0: a kernel without the field (before 5.16)
                json!({
                    "result": "pass",
                    "error_class": null,
                    "errno": null,
                    "verified_insns": verified,
                    "message": null,
                })
            }
            Err(e) => json!({
                "result": "fail",
                "error_class": e.class_in(&spec).name(),
                "errno": e.errno().map(|n| n.0),
                "verified_insns": null,
                "message": e.to_string(),
            }),
        };
        if let (Value::Object(l), Value::Object(f)) = (&mut line, fields) {
            l.extend(f);
        }
        lines.push(line);
    }
    lines
}

/// What veristat changes before each load, so that both see the same object: no pinning,
/// and maps declared without `max_entries` get 1 (except local-storage maps, which take 0).
fn fixup(spec: &mut ObjectSpec) {
    for m in &mut spec.maps {
        m.pinning = 0;
        let storage = [
            MapType::SK_STORAGE,
            MapType::TASK_STORAGE,
            MapType::INODE_STORAGE,
            MapType::CGROUP_STORAGE,
        ];
        if m.max_entries == 0 && !storage.contains(&m.map_type) {
            m.max_entries = 1;
        }
    }
}
