//! The crate's one error type.

/// Everything that can go wrong in an agent sink, the outbox or the event log.
///
/// Each variant says what happened and, where there is one, what to do next.
#[derive(Debug, thiserror::Error)]
pub enum AgentsError {
    /// A `gateway.agents[]` entry is invalid; `field` is the config path.
    #[error("{field}: {problem}")]
    Config {
        /// The config path, e.g. `gateway.agents[1].url`.
        field: String,
        /// What is wrong and how to fix it.
        problem: String,
    },

    /// `gateway.agents[]` entries are invalid: every problem found, in list order.
    #[error("{}", render_problems(problems))]
    Invalid {
        /// Each problem with its config path.
        problems: Vec<crate::config::AgentProblem>,
    },

    /// A delivery id was empty, too long, or had characters outside `[A-Za-z0-9._:-]`.
    #[error(
        "invalid delivery id {id:?}: use 1-128 characters from A-Z a-z 0-9 . _ : - (DeliveryId::derive builds one)"
    )]
    InvalidDeliveryId {
        /// The rejected id.
        id: String,
    },

    /// The store failed; the database may be full, read-only or corrupt.
    #[error("store error: {0} (check the data directory's free space and permissions)")]
    Store(#[from] wagw_store::StoreError),

    /// A stored record could not be decoded (written by an incompatible version?).
    #[error("corrupt {what} record {key:?} in the store: {source}")]
    Corrupt {
        /// Which kind of record (`delivery`, `event`).
        what: &'static str,
        /// Its key, printable.
        key: String,
        /// The decoding error.
        source: serde_json::Error,
    },

    /// A turn or record could not be encoded as JSON.
    #[error("could not encode {what} as JSON: {source}")]
    Encode {
        /// What was being encoded.
        what: &'static str,
        /// The encoder's error.
        source: serde_json::Error,
    },

    /// No delivery with this id is in the outbox (delivered ones are kept only while recent).
    #[error("no delivery {id:?} in the outbox (list them with: wagw deliveries list)")]
    DeliveryNotFound {
        /// The id asked for.
        id: String,
    },

    /// Only dead-lettered deliveries can be replayed.
    #[error("delivery {id:?} is {state}, not dead; only dead deliveries can be replayed")]
    NotDead {
        /// The id asked for.
        id: String,
        /// Its current state.
        state: crate::outbox::DeliveryState,
    },

    /// A turn was routed to an agent id that `gateway.agents` does not define.
    #[error("no agent {agent:?} in gateway.agents (check bindings[].agentId)")]
    UnknownAgent {
        /// The id asked for.
        agent: String,
    },

    /// A webhook delivery was dead-lettered (a permanent HTTP error, or out of attempts).
    #[error(
        "webhook delivery {id} is dead: {error} (after fixing the agent: wagw deliveries replay {id})"
    )]
    DeliveryDead {
        /// The delivery id.
        id: String,
        /// The last failure.
        error: String,
    },

    /// The HTTP client could not be built (TLS roots, settings).
    #[error("could not build the webhook HTTP client: {0}")]
    HttpClient(String),

    /// An exec agent's command could not be started.
    #[error("agent {agent}: could not start {program:?}: {source} (check `command` and `cwd`)")]
    ExecSpawn {
        /// The agent id.
        agent: String,
        /// The program (`argv[0]`).
        program: String,
        /// The OS error.
        source: std::io::Error,
    },

    /// An exec agent's command ran past its timeout and was killed.
    #[error(
        "agent {agent}: command timed out after {timeout_ms} ms and was killed (raise timeoutMs?)"
    )]
    ExecTimeout {
        /// The agent id.
        agent: String,
        /// The configured timeout.
        timeout_ms: u64,
    },

    /// An exec agent's command exited unsuccessfully.
    #[error("agent {agent}: command {status}; stderr: {stderr_tail}")]
    ExecFailed {
        /// The agent id.
        agent: String,
        /// `exited with code N` or `was killed by signal N`.
        status: String,
        /// The last bytes of its stderr (possibly empty).
        stderr_tail: String,
    },

    /// An exec agent's command wrote more than the reply cap to stdout.
    #[error(
        "agent {agent}: command wrote more than {limit} bytes to stdout; replies must be smaller"
    )]
    ExecOutputTooLarge {
        /// The agent id.
        agent: String,
        /// The cap in bytes.
        limit: usize,
    },

    /// Talking to an exec agent's process failed (pipes).
    #[error("agent {agent}: I/O with the command failed: {source}")]
    ExecIo {
        /// The agent id.
        agent: String,
        /// The I/O error.
        source: std::io::Error,
    },

    /// An `X-Wagw-Signature` header could not be parsed.
    #[error("malformed X-Wagw-Signature header: {0} (expected t=<unix seconds>,v1=<hex>)")]
    SignatureMalformed(String),

    /// The signature's timestamp is outside the tolerance (a replay or a skewed clock).
    #[error(
        "X-Wagw-Signature timestamp {timestamp} is {skew_secs} s away from now; tolerance is {tolerance_secs} s"
    )]
    SignatureExpired {
        /// The header's `t`.
        timestamp: u64,
        /// How far from now it is.
        skew_secs: u64,
        /// The allowed distance.
        tolerance_secs: u64,
    },

    /// No `v1` value matched the HMAC of the body (wrong secret or altered body).
    #[error("X-Wagw-Signature does not match the body (wrong secret, or the body was altered)")]
    SignatureMismatch,
}

fn render_problems(problems: &[crate::config::AgentProblem]) -> String {
    problems
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

impl AgentsError {
    /// A configuration error at `field`.
    pub(crate) fn config(field: impl Into<String>, problem: impl Into<String>) -> Self {
        AgentsError::Config {
            field: field.into(),
            problem: problem.into(),
        }
    }
}
