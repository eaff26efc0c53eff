//! Storage through the built `wagw` (issue 14): what an earlier wagw left on sled is named
//! by `doctor` with what to do.

use super::*;

fn config_file(dir: &Path, text: &str) -> String {
    let path = dir.join("wagw.json5");
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_owned()
}

#[test]
fn doctor_names_an_old_sled_store_and_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let cfg = config_file(
        dir.path(),
        &format!(
            "{{ gateway: {{ listen: \"127.0.0.1:{port}\" }}, channels: {{ whatsapp: {{}} }} }}"
        ),
    );
    let data = dir.path().join("data");
    // What sled left: `conf`, `db`, `blobs/` and `snap.*` in the state folder and an authDir.
    let state = data.join("state");
    let auth = data.join("accounts").join("default");
    for folder in [&state, &auth] {
        std::fs::create_dir_all(folder.join("blobs")).unwrap();
        for file in ["conf", "db", "snap.00000000000A1B2C"] {
            std::fs::write(folder.join(file), b"sled").unwrap();
        }
    }
    let env = [("WAGW_DATA_DIR", data.to_str().unwrap())];
    let o = wagw(&["doctor", "--config", &cfg], &env);
    assert_eq!(o.status.code(), Some(1));
    let out = stdout(&o);
    assert!(
        out.contains(&format!(
            "FAIL {} holds a database of an earlier wagw (sled: blobs/, conf, db, snap.00000000000A1B2C), which this version does not read",
            state.display()
        )),
        "{out}"
    );
    assert!(
        out.contains("re-approve senders with `wagw allow add`"),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "FAIL account default: {} holds protocol state of an earlier wagw (sled:",
            auth.display()
        )),
        "{out}"
    );
    assert!(
        out.contains("then run `wagw channels login --account default`"),
        "{out}"
    );
    // Nothing was deleted or converted behind the operator's back.
    assert!(state.join("conf").is_file() && auth.join("db").is_file());
}
