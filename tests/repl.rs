//! The interactive REPL driven through a pseudo-terminal, and piped stdin evaluation.

use expectrl::session::OsSession;
use expectrl::{ControlCode, Expect, Regex, Session};
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

fn history_file(tag: &str) -> String {
    std::env::temp_dir()
        .join(format!("ember-history-{tag}-{}", std::process::id()))
        .display()
        .to_string()
}

fn start(tag: &str) -> OsSession {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ember"));
    cmd.env("EMBER_HISTORY", history_file(tag))
        .env("NO_COLOR", "1")
        .env("TERM", "xterm")
        .arg("--seed")
        .arg("0");
    let mut s = Session::spawn(cmd).expect("ember starts in a pty");
    s.set_expect_timeout(Some(Duration::from_secs(60)));
    s.expect("ember[cpu]> ")
        .expect("the prompt shows the device");
    s
}

/// Sends a line and waits for the prompt drawn after it (not a redraw of the line itself).
fn run(s: &mut OsSession, line: &str) {
    s.send_line(line).unwrap();
    let escaped: String = line
        .chars()
        .flat_map(|c| {
            let special = "\\.+*?()|[]{}^$".contains(c);
            special.then_some('\\').into_iter().chain([c])
        })
        .collect();
    s.expect(Regex(format!(r"{escaped}[\s\S]*ember\[cpu\]> ")))
        .unwrap();
}

#[test]
fn functions_defined_over_two_lines_stay_callable() {
    let mut s = start("fn");
    // Each wait is for a prompt drawn *after* the line just sent: the editor redraws the
    // unfinished input (prompt included) after the first line, and rustyline drops input that
    // arrives together with the line it accepts, so sending early would lose a line.
    s.send_line("fn twice(x) {").unwrap();
    s.send_line("  x * 2 }").unwrap();
    s.expect(Regex(r"x \* 2 \}[\s\S]*ember\[cpu\]> ")).unwrap();
    s.send_line("let v = twice(21);").unwrap();
    s.expect(Regex(r"twice\(21\);[\s\S]*ember\[cpu\]> "))
        .unwrap();
    s.send_line("twice(v)").unwrap();
    s.expect("84").unwrap();
    s.send_line(":quit").unwrap();
}

#[test]
fn tab_completes_method_names() {
    let mut s = start("tab");
    run(&mut s, "let w = ones([2]);");
    s.send("w.unsq\t").unwrap();
    s.expect("unsqueeze").unwrap();
    s.send_line("(0).shape").unwrap();
    s.expect("[1, 2]").unwrap();
    s.send("rand\t\t").unwrap();
    s.expect("randperm").unwrap();
    s.send(ControlCode::EndOfText).unwrap(); // Ctrl-C at the prompt clears the line
    s.send_line("1 + 1").unwrap();
    s.expect("2").unwrap();
}

#[test]
fn an_error_keeps_earlier_variables() {
    let mut s = start("err");
    run(&mut s, "let keep = tensor([1.0, 2.0]);");
    s.send_line("keep @ zeros([3, 3])").unwrap();
    s.expect("matmul: shapes [2] and [3, 3]").unwrap();
    s.send_line("(keep * 10).tolist()").unwrap();
    s.expect("[10.0, 20.0]").unwrap();
}

#[test]
fn ctrl_c_interrupts_a_running_loop_and_keeps_state() {
    let mut s = start("ctrlc");
    run(&mut s, "let before = 41;");
    s.send_line("loop { }").unwrap();
    std::thread::sleep(Duration::from_millis(500));
    s.send(ControlCode::EndOfText).unwrap();
    s.set_expect_timeout(Some(Duration::from_secs(2)));
    s.expect("interrupted")
        .expect("Ctrl-C stops the loop within a second or two");
    s.set_expect_timeout(Some(Duration::from_secs(60)));
    s.send_line("before + 1").unwrap();
    s.expect("42").unwrap();
}

#[test]
fn vars_and_time_commands() {
    let mut s = start("vars");
    run(&mut s, "let big = zeros([3, 4]); let n = 5;");
    s.send_line(":vars").unwrap();
    s.expect("big").unwrap();
    s.expect("Tensor     [3, 4]           f32    cpu              48")
        .unwrap();
    s.send_line(":time randn([64, 64]) @ randn([64, 64])")
        .unwrap();
    s.expect("shape=[64, 64]").unwrap();
    s.expect("time: ").unwrap();
    s.send_line(":help matmul").unwrap();
    s.expect("matmul(a, b)").unwrap();
    s.send_line(":quit").unwrap();
}

fn piped(input: &str) -> (String, String, i32) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ember"))
        .args(["--seed", "0"])
        .env("EMBER_HISTORY", history_file("piped"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        out.status.code().unwrap_or(-1),
    )
}

#[test]
fn piped_stdin_is_evaluated_line_by_line() {
    let (out, err, code) = piped(
        "let x = tensor([[1.0, 2.0], [3.0, 4.0]]);\nfn f(a) {\n  a.sum(1)\n}\nf(x)\nx.shape\n:vars\n",
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("tensor([3., 7.], shape=[2], dtype=f32, device=cpu)"),
        "{out}"
    );
    assert!(out.contains("[2, 2]"), "{out}");
    assert!(out.contains("x                Tensor"), "{out}");
    assert!(
        !out.contains("\x1b["),
        "no colour when output is not a terminal"
    );
    // An error is reported with its place, later lines still run, and the exit code says so.
    let (out, err, code) = piped("let a = 1;\na @ 2\na + 1\n");
    assert!(err.contains("<repl>:1:"), "{err}");
    assert!(out.contains('2'), "{out}");
    assert_eq!(code, 1);
    let (out, _, code) = piped(":trace on\nlet t = ones([2, 3]).sum(1);\n:trace off\nt.tolist()\n");
    assert_eq!(code, 0);
    assert!(out.contains("[3.0, 3.0]"), "{out}");
}

#[test]
fn piped_trace_shows_op_shapes() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ember"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b":trace on\nones([2, 3]) @ ones([3, 4])\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("matmul") && err.contains("[1, 2, 3] x [1, 3, 4] -> [1, 2, 4]"),
        "{err}"
    );
}
