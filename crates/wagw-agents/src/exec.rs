//! The exec sink: run a configured command per turn, the turn JSON on stdin; its stdout
//! (trimmed) is the reply text.

use std::process::{ExitStatus, Stdio};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::process::Command;

use crate::config::ExecSpec;
use crate::error::AgentsError;
use crate::reply::AgentReply;
use crate::turn::TurnPayload;

/// Largest stdout accepted as a reply.
pub const MAX_STDOUT_BYTES: usize = 1024 * 1024;
/// How much of stderr's end is kept for the error message.
pub const STDERR_TAIL_BYTES: usize = 2048;
const TARGET: &str = "wagw::agents";

/// Runs an exec agent's command, one process per turn.
///
/// The process gets the turn JSON on stdin (then EOF), the gateway's environment plus
/// `WAGW_AGENT_ID`, `WAGW_ACCOUNT_ID`, `WAGW_DELIVERY_ID` and the configured `env`, and
/// runs in its own process group: on timeout the whole group is killed (a shell's children
/// too). Exit 0 with empty stdout means "no reply"; a non-zero exit is an error carrying
/// the end of stderr.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), wagw_agents::AgentsError> {
/// use std::time::Duration;
/// use wagw_agents::{DeliveryId, ExecAgent, ExecSpec, TurnPayload};
/// let agent = ExecAgent::new(ExecSpec {
///     agent_id: "upper".into(),
///     command: vec!["tr".into(), "a-z".into(), "A-Z".into()],
///     env: Default::default(),
///     cwd: None,
///     timeout: Duration::from_secs(5),
/// });
/// let turn = TurnPayload::new(DeliveryId::new("d1")?, "work", &"hi")?;
/// assert_eq!(agent.run(&turn).await?, Some("\"HI\"".to_string()));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct ExecAgent {
    spec: ExecSpec,
}

impl ExecAgent {
    /// An agent running `spec`.
    pub fn new(spec: ExecSpec) -> Self {
        ExecAgent { spec }
    }

    /// The settings.
    pub fn spec(&self) -> &ExecSpec {
        &self.spec
    }

    /// Runs the command for `turn`; `Ok(None)` when it printed nothing.
    pub async fn run(&self, turn: &TurnPayload) -> Result<Option<String>, AgentsError> {
        let spec = &self.spec;
        let agent = spec.agent_id.clone();
        let (program, args) = match spec.command.split_first() {
            Some(split) => split,
            None => {
                return Err(AgentsError::config(
                    format!("agent {agent}.command"),
                    "required for exec agents",
                ));
            }
        };
        let mut cmd = Command::new(program);
        cmd.args(args)
            .env("WAGW_AGENT_ID", &spec.agent_id)
            .env("WAGW_ACCOUNT_ID", &turn.account_id)
            .env("WAGW_DELIVERY_ID", turn.delivery_id.as_str())
            .envs(&spec.env)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            // Its own process group, so a timeout can kill everything it started.
            .process_group(0);
        if let Some(dir) = &spec.cwd {
            cmd.current_dir(dir);
        }
        let mut child = cmd.spawn().map_err(|source| AgentsError::ExecSpawn {
            agent: agent.clone(),
            program: program.clone(),
            source,
        })?;
        let pid = child.id();
        // A turn abandoned at shutdown drops this future: take the whole group down with it,
        // not only the leader (`kill_on_drop`), so no orphan outlives the gateway.
        let mut group = GroupGuard(pid);
        tracing::debug!(target: TARGET, agent = %agent, delivery = %turn.delivery_id, pid, "exec agent started");
        let stdin = child.stdin.take();
        let stdout = child.stdout.take();
        let stderr = child.stderr.take();
        let input = turn.json.as_bytes();
        let work = async {
            let write = async {
                if let Some(mut stdin) = stdin {
                    // A command that never reads stdin closes the pipe: not an error.
                    match stdin.write_all(input).await {
                        Ok(()) => {}
                        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
                        Err(e) => return Err(e),
                    }
                    drop(stdin);
                }
                Ok(())
            };
            let (written, out, err, status) = tokio::join!(
                write,
                read_capped(stdout, MAX_STDOUT_BYTES),
                read_tail(stderr, STDERR_TAIL_BYTES),
                child.wait()
            );
            Ok::<_, std::io::Error>((written?, out?, err?, status?))
        };
        let outcome = tokio::time::timeout(spec.timeout, work).await;
        let ((), (stdout, overflow), stderr_tail, status) = match outcome {
            Ok(Ok(done)) => {
                // Reaped: the group id may be reused from here on.
                group.0 = None;
                done
            }
            // kill_on_drop ends the child when `child` goes out of scope.
            Ok(Err(source)) => return Err(AgentsError::ExecIo { agent, source }),
            Err(_elapsed) => {
                group.0 = None;
                kill_group(pid);
                // Reap it so no zombie is left; the group is already gone.
                let _ = child.kill().await;
                tracing::warn!(target: TARGET, agent = %agent, delivery = %turn.delivery_id, timeout_ms = spec.timeout.as_millis() as u64, "exec agent timed out; killed");
                return Err(AgentsError::ExecTimeout {
                    agent,
                    timeout_ms: spec.timeout.as_millis() as u64,
                });
            }
        };
        if !status.success() {
            return Err(AgentsError::ExecFailed {
                agent,
                status: describe(status),
                stderr_tail: String::from_utf8_lossy(&stderr_tail).trim().to_owned(),
            });
        }
        if overflow {
            return Err(AgentsError::ExecOutputTooLarge {
                agent,
                limit: MAX_STDOUT_BYTES,
            });
        }
        let text = String::from_utf8_lossy(&stdout).trim().to_owned();
        tracing::debug!(target: TARGET, agent = %agent, delivery = %turn.delivery_id, bytes = text.len(), "exec agent finished");
        Ok((!text.is_empty()).then_some(text))
    }

    /// [`ExecAgent::run`] as replies: one text reply, or none.
    pub async fn replies(&self, turn: &TurnPayload) -> Result<Vec<AgentReply>, AgentsError> {
        Ok(self
            .run(turn)
            .await?
            .map(AgentReply::text)
            .into_iter()
            .collect())
    }
}

/// Kills the process group led by `pid` (ignoring "no such process").
/// Kills the process group it names when dropped while still armed.
struct GroupGuard(Option<u32>);

impl Drop for GroupGuard {
    fn drop(&mut self) {
        kill_group(self.0.take());
    }
}

fn kill_group(pid: Option<u32>) {
    let Some(pid) = pid
        .and_then(|p| i32::try_from(p).ok())
        .and_then(rustix::process::Pid::from_raw)
    else {
        return;
    };
    let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
}

fn describe(status: ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exited with code {code}"),
        (None, Some(signal)) => format!("was killed by signal {signal}"),
        (None, None) => "failed".to_owned(),
    }
}

/// Reads everything, keeping at most `cap` bytes; the flag says more was discarded. Keeps
/// draining past the cap so the child never blocks on a full pipe.
async fn read_capped(
    pipe: Option<impl AsyncRead + Unpin>,
    cap: usize,
) -> std::io::Result<(Vec<u8>, bool)> {
    let mut kept = Vec::new();
    let mut overflow = false;
    let Some(mut pipe) = pipe else {
        return Ok((kept, overflow));
    };
    let mut buf = [0u8; 8192];
    loop {
        let n = pipe.read(&mut buf).await?;
        if n == 0 {
            return Ok((kept, overflow));
        }
        let room = cap.saturating_sub(kept.len());
        kept.extend_from_slice(&buf[..n.min(room)]);
        overflow |= n > room;
    }
}

/// Reads everything, keeping the last `keep` bytes.
async fn read_tail(pipe: Option<impl AsyncRead + Unpin>, keep: usize) -> std::io::Result<Vec<u8>> {
    let mut tail = Vec::new();
    let Some(mut pipe) = pipe else {
        return Ok(tail);
    };
    let mut buf = [0u8; 8192];
    loop {
        let n = pipe.read(&mut buf).await?;
        if n == 0 {
            return Ok(tail);
        }
        tail.extend_from_slice(&buf[..n]);
        if tail.len() > keep {
            tail.drain(..tail.len() - keep);
        }
    }
}
