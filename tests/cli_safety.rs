//! The `ember` command under hostile conditions: a closed stdout, an absurd thread count, a
//! file-size limit (a full disk), a kill in the middle of a save, the memory limit flag, the
//! folders it grants, and a dataset search path that ignores the working folder's neighbours.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn scratch(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("ember-clisafe-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn ember(dir: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_ember"));
    c.current_dir(dir)
        .env_remove("EMBER_DATA")
        .env("HOME", dir)
        .env_remove("XDG_DATA_HOME")
        .env("EMBER_PLOTS", dir);
    c
}

fn listing(d: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(d)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// Runs `cmd` with stdout a pipe whose reader takes `keep` bytes and then hangs up; returns
/// the exit status and stderr.
fn with_closed_stdout(mut cmd: Command, keep: usize, stdin: Option<&str>) -> (Option<i32>, String) {
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    if stdin.is_some() {
        cmd.stdin(Stdio::piped());
    }
    let mut child = cmd.spawn().unwrap();
    if let Some(text) = stdin {
        use std::io::Write;
        let mut i = child.stdin.take().unwrap();
        i.write_all(text.as_bytes()).unwrap();
    }
    let mut out = child.stdout.take().unwrap();
    let mut buf = vec![0u8; keep];
    if keep > 0 {
        out.read_exact(&mut buf).unwrap();
    }
    drop(out);
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    let status = child.wait().unwrap();
    use std::os::unix::process::ExitStatusExt;
    assert!(
        status.signal().is_none(),
        "killed by a signal: {status:?}\n{err}"
    );
    (status.code(), err)
}

#[test]
fn a_closed_pipe_ends_the_command_quietly() {
    let d = scratch("pipe");
    // eval printing far more than a pipe holds
    let mut c = ember(&d);
    c.args(["eval", "zeros([200000]).tolist()"]);
    let (code, err) = with_closed_stdout(c, 10, None);
    assert_eq!(code, Some(141), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    // the piped REPL
    let mut c = ember(&d);
    c.arg("--seed").arg("0");
    let (code, err) = with_closed_stdout(
        c,
        10,
        Some("zeros([200000]).tolist()\nzeros([200000]).tolist()\n"),
    );
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(code, Some(141), "{err}");
    // data list, with the reader gone before anything is written
    let mut c = ember(&d);
    c.args(["data", "list"]);
    let (code, err) = with_closed_stdout(c, 0, None);
    assert!(!err.contains("panicked"), "{err}");
    assert!(matches!(code, Some(141)), "{code:?} {err}");
}

#[test]
fn an_absurd_thread_count_is_clamped_with_a_warning() {
    let d = scratch("threads");
    let o = ember(&d)
        .env("EMBER_NUM_THREADS", "100000")
        .args(["eval", "(randn([300, 300]) @ randn([300, 300])).shape"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains("EMBER_NUM_THREADS=100000") && err.contains("using"),
        "{err}"
    );
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), "[300, 300]");
}

#[test]
fn max_memory_limits_tensors() {
    let d = scratch("maxmem");
    let o = ember(&d)
        .args(["--max-memory", "1M", "eval", "zeros([1000000])"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(err.contains("zeros") && err.contains("1.0 MiB"), "{err}");
    let o = ember(&d)
        .args(["--max-memory", "lots", "eval", "1"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&o.stderr).contains("--max-memory"));
}

#[test]
fn the_command_grants_the_working_folder_and_asks_for_the_rest() {
    let d = scratch("grants");
    let work = d.join("work");
    let other = d.join("other");
    std::fs::create_dir_all(&work).unwrap();
    std::fs::create_dir_all(&other).unwrap();
    std::fs::write(other.join("notes.txt"), "outside").unwrap();
    let code = format!(
        "data::save_npy(\"here.npy\", ones([2])); data::text({:?}).text",
        other.join("notes.txt").display().to_string()
    );
    let o = ember(&work).args(["eval", &code]).output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(
        err.contains("outside the folders this session may read"),
        "{err}"
    );
    assert!(
        work.join("here.npy").is_file(),
        "the working folder is writable"
    );
    let o = ember(&work)
        .args(["--allow-read", other.to_str().unwrap(), "eval", &code])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stdout).contains("outside"));
}

#[test]
fn a_full_disk_fails_the_save_and_leaves_nothing() {
    let d = scratch("full");
    std::fs::write(d.join("model.npy"), b"the old file").unwrap();
    // a file-size limit of 100 KiB stands in for a full disk
    let o = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "ulimit -f 200; exec {:?} eval 'data::save_npy(\"model.npy\", zeros([1000000]))'",
            env!("CARGO_BIN_EXE_ember")
        ))
        .current_dir(&d)
        .env("HOME", &d)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    use std::os::unix::process::ExitStatusExt;
    assert!(o.status.signal().is_none(), "{:?}", o.status);
    assert!(!o.status.success());
    assert!(
        err.contains("save_npy") && err.contains("model.npy"),
        "{err}"
    );
    assert_eq!(listing(&d), ["model.npy"]);
    assert_eq!(std::fs::read(d.join("model.npy")).unwrap(), b"the old file");
}

#[test]
fn a_kill_during_a_save_leaves_the_old_file_and_the_next_save_cleans_up() {
    let d = scratch("kill");
    std::fs::write(d.join("big.npy"), b"the old file").unwrap();
    let mut child = ember(&d)
        .args(["eval", "data::save_npy(\"big.npy\", zeros([100000000]))"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let temp = loop {
        if let Some(t) = listing(&d).into_iter().find(|n| n.contains(".ember-tmp-")) {
            break Some(t);
        }
        if started.elapsed() > Duration::from_secs(60) || child.try_wait().unwrap().is_some() {
            break None;
        }
        std::thread::sleep(Duration::from_millis(1));
    };
    child.kill().unwrap();
    child.wait().unwrap();
    let temp = temp.expect("the save wrote through a temporary file");
    assert!(temp.starts_with(".big.npy.ember-tmp-"), "{temp}");
    assert_eq!(std::fs::read(d.join("big.npy")).unwrap(), b"the old file");
    // the next save of the same file removes what the killed one left
    let o = ember(&d)
        .args(["eval", "data::save_npy(\"big.npy\", ones([3]))"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(listing(&d), ["big.npy"]);
}

#[test]
fn datasets_are_not_looked_for_beside_the_working_folder() {
    let d = scratch("search");
    let work = d.join("work");
    std::fs::create_dir_all(d.join("shared/data/nietzsche")).unwrap();
    std::fs::create_dir_all(&work).unwrap();
    std::fs::write(d.join("shared/data/nietzsche/nietzsche.txt"), "neighbour").unwrap();
    let o = ember(&work)
        .args(["eval", "data::text(\"nietzsche\").text"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success(), "found it beside the working folder");
    assert!(
        err.contains(".local/share/ember/nietzsche") && err.contains("data/nietzsche"),
        "{err}"
    );
    assert!(!err.contains("shared"), "{err}");
    // the user's data folder is searched (XDG_DATA_HOME)
    let xdg = d.join("xdg");
    std::fs::create_dir_all(xdg.join("ember/nietzsche")).unwrap();
    std::fs::write(xdg.join("ember/nietzsche/nietzsche.txt"), "from xdg").unwrap();
    let o = ember(&work)
        .env("XDG_DATA_HOME", &xdg)
        .args(["eval", "data::text(\"nietzsche\").text"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stdout).contains("from xdg"));
    // and ./data
    std::fs::create_dir_all(work.join("data/nietzsche")).unwrap();
    std::fs::write(work.join("data/nietzsche/nietzsche.txt"), "from ./data").unwrap();
    let o = ember(&work)
        .args(["eval", "data::text(\"nietzsche\").text"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&o.stdout).contains("from ./data"));
}
