//! What an operator installs next to the binary: shell completions, man pages, the
//! container's config and the systemd unit, each checked through the built `wagw`.

use super::*;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn have(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn completions_for_each_shell_complete_the_commands() {
    for (shell, marker) in [
        ("bash", "complete -F _wagw"),
        ("zsh", "#compdef wagw"),
        ("fish", "complete -c wagw"),
    ] {
        let o = wagw(&["completions", shell], &[]);
        assert_eq!(o.status.code(), Some(0), "{shell}: {}", stderr(&o));
        let script = stdout(&o);
        assert!(script.contains(marker), "{shell}: no {marker:?}");
        for sub in [
            "gateway",
            "channels",
            "pairing",
            "deliveries",
            "completions",
        ] {
            assert!(script.contains(sub), "{shell}: {sub} missing");
        }
    }
    // Bash, for real: load the script and complete `wagw chan` and `wagw channels lo`.
    if have("bash") {
        let o = wagw(&["completions", "bash"], &[]);
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("wagw.bash");
        std::fs::write(&file, o.stdout).unwrap();
        let run = |words: &str, cword: usize| {
            let script = format!(
                "source {}; COMP_WORDS=({words}); COMP_CWORD={cword}; COMP_LINE='{words}'; COMP_POINT=${{#COMP_LINE}}; _wagw wagw \"${{COMP_WORDS[COMP_CWORD]}}\" \"${{COMP_WORDS[COMP_CWORD-1]}}\"; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
                file.display()
            );
            let out = Command::new("bash").args(["-c", &script]).output().unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            String::from_utf8_lossy(&out.stdout).into_owned()
        };
        assert_eq!(run("wagw chan", 1).trim(), "channels");
        assert!(run("wagw channels lo", 2).contains("login"));
        assert!(run("wagw channels lo", 2).contains("logout"));
    } else {
        eprintln!("bash is not installed: the bash script was checked as text only");
    }
    if have("zsh") {
        let o = wagw(&["completions", "zsh"], &[]);
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("_wagw");
        std::fs::write(&file, o.stdout).unwrap();
        let out = Command::new("zsh").arg("-n").arg(&file).output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    if have("fish") {
        let o = wagw(&["completions", "fish"], &[]);
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("wagw.fish");
        std::fs::write(&file, o.stdout).unwrap();
        let out = Command::new("fish").arg("-n").arg(&file).output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let o = wagw(&["completions", "tcsh"], &[]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(
        err.contains("invalid value 'tcsh'") && err.contains("bash"),
        "{err}"
    );
}

#[test]
fn man_page_documents_every_command() {
    let o = wagw(&["man"], &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let page = stdout(&o);
    assert!(
        page.starts_with(".ie") || page.contains(".TH wagw 1"),
        "{page:.200}"
    );
    assert!(page.contains(".TH wagw 1"), "{page:.300}");
    for section in [".SH NAME", ".SH SYNOPSIS", ".SH SUBCOMMANDS"] {
        assert!(page.contains(section), "{section} missing");
    }
    for sub in ["gateway", "channels", "pairing", "completions", "man"] {
        assert!(page.contains(sub), "{sub} missing");
    }
    // One page per command, for `man wagw-channels-login`.
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("man1");
    let o = wagw(&["man", "--dir", out.to_str().unwrap()], &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    for page in [
        "wagw.1",
        "wagw-gateway.1",
        "wagw-channels-login.1",
        "wagw-pairing-approve.1",
    ] {
        let text =
            std::fs::read_to_string(out.join(page)).unwrap_or_else(|e| panic!("{page}: {e}"));
        assert!(text.contains(".SH NAME"), "{page}");
    }
    let login = std::fs::read_to_string(out.join("wagw-channels-login.1")).unwrap();
    assert!(login.contains("wagw\\-channels\\-login"), "{login:.300}");
    // A page renders when man is installed.
    if have("man") {
        let rendered = Command::new("man")
            .arg("-l")
            .arg(out.join("wagw.1"))
            .env("MANPAGER", "cat")
            .env("MANWIDTH", "80")
            .output()
            .unwrap();
        assert!(rendered.status.success());
        assert!(String::from_utf8_lossy(&rendered.stdout).contains("gateway"));
    }
    // A folder that cannot be written is named.
    let blocker = dir.path().join("file");
    std::fs::write(&blocker, "x").unwrap();
    let o = wagw(
        &["man", "--dir", blocker.join("sub").to_str().unwrap()],
        &[],
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("sub"), "{}", stderr(&o));
}

#[test]
fn container_config_is_valid_and_needs_a_token() {
    let config = repo().join("packaging/docker/wagw.json5");
    let cfg = config.to_str().unwrap();
    let o = wagw(&["config", "check", "--config", cfg], &[DATA]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    // Without WAGW_TOKEN the image's gateway refuses 0.0.0.0 and says how to fix it.
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let o = wagw(
        &["gateway", "--config", cfg],
        &[("WAGW_DATA_DIR", data.to_str().unwrap())],
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("refusing to listen on 0.0.0.0:7420"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn systemd_unit_runs_hardened_as_its_own_user() {
    let unit = std::fs::read_to_string(repo().join("packaging/wagw.service")).unwrap();
    for line in [
        "User=wagw",
        "StateDirectory=wagw",
        "ExecReload=/bin/kill -HUP $MAINPID",
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "PrivateTmp=yes",
        "Environment=WAGW_DATA_DIR=/var/lib/wagw",
        "ExecStart=/usr/local/bin/wagw gateway",
    ] {
        assert!(unit.lines().any(|l| l.starts_with(line)), "{line} missing");
    }
    let users = std::fs::read_to_string(repo().join("packaging/wagw.sysusers")).unwrap();
    assert!(users.lines().any(|l| l.starts_with("u wagw ")));
    // The unit's WAGW_CONFIG path is the one `wagw config init --path` writes.
    let o = wagw(&["config", "init", "--help"], &[]);
    assert!(stdout(&o).contains("--path"), "{}", stdout(&o));
}
