//! An AMI (Asterisk Manager Interface) client over tokio TCP.
//!
//! Written by hand: the AMI crates on crates.io are either synchronous, unmaintained, or do not
//! handle list actions (`EventList: start … Complete`) and reconnection; the protocol itself is a
//! few dozen lines of `Key: Value` blocks. One background task owns the socket: it logs in,
//! matches responses to requests by `ActionID`, collects list events, broadcasts unsolicited events,
//! and reconnects with backoff when the connection drops (callers see `connected()` change).

use std::collections::HashMap;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::sync::{broadcast, mpsc, oneshot, watch};

#[derive(Debug, thiserror::Error)]
pub enum AmiError {
    #[error("AMI is not connected")]
    NotConnected,
    #[error("AMI did not answer within {0:?}")]
    Timeout(Duration),
    #[error("AMI login failed: {0}")]
    Login(String),
    #[error("AMI I/O: {0}")]
    Io(#[from] std::io::Error),
}

/// One AMI message: ordered `Key: Value` pairs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AmiMessage {
    pub fields: Vec<(String, String)>,
}

impl AmiMessage {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.fields.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v.as_str())
    }
    pub fn is_success(&self) -> bool {
        self.get("Response").is_some_and(|r| r.eq_ignore_ascii_case("Success"))
    }
    pub fn event(&self) -> Option<&str> {
        self.get("Event")
    }
}

/// The answer to an action: its `Response` block and, for list actions, the events of the list.
#[derive(Debug, Clone, Default)]
pub struct AmiReply {
    pub response: AmiMessage,
    pub events: Vec<AmiMessage>,
}

impl AmiReply {
    pub fn is_success(&self) -> bool {
        self.response.is_success()
    }
}

/// Parses one `Key: Value` block (lines without ": " are kept as a `Key` with an empty value).
pub fn parse_block(lines: &[String]) -> AmiMessage {
    AmiMessage {
        fields: lines
            .iter()
            .map(|l| match l.split_once(": ") {
                Some((k, v)) => (k.to_string(), v.to_string()),
                None => (l.trim_end_matches(':').to_string(), String::new()),
            })
            .collect(),
    }
}

struct Request {
    action: String,
    headers: Vec<(String, String)>,
    reply: oneshot::Sender<AmiReply>,
}

/// A handle on the AMI connection; cheap to clone.
#[derive(Clone)]
pub struct Ami {
    requests: mpsc::Sender<Request>,
    events: broadcast::Sender<AmiMessage>,
    connected: watch::Receiver<u64>,
}

const ACTION_TIMEOUT: Duration = Duration::from_secs(5);

impl Ami {
    /// Starts the connection task (it keeps reconnecting) and returns at once.
    pub fn spawn(addr: String, user: String, secret: SecretString) -> Self {
        let (tx, rx) = mpsc::channel(64);
        let (events, _) = broadcast::channel(1024);
        let (conn_tx, conn_rx) = watch::channel(0);
        tokio::spawn(supervise(addr, user, secret, rx, events.clone(), conn_tx));
        Ami { requests: tx, events, connected: conn_rx }
    }

    /// Connects and logs in, failing if that does not succeed within 5 s.
    pub async fn connect(addr: &str, user: &str, secret: &str) -> Result<Self, AmiError> {
        let ami = Self::spawn(addr.to_string(), user.to_string(), SecretString::from(secret.to_string()));
        let mut c = ami.connected.clone();
        tokio::time::timeout(ACTION_TIMEOUT, c.wait_for(|g| *g > 0))
            .await
            .map_err(|_| AmiError::Login(format!("no successful login to {addr}")))?
            .map_err(|_| AmiError::NotConnected)?;
        Ok(ami)
    }

    /// Counts successful logins: changes on every (re)connect.
    pub fn connected(&self) -> watch::Receiver<u64> {
        self.connected.clone()
    }

    pub fn events(&self) -> broadcast::Receiver<AmiMessage> {
        self.events.subscribe()
    }

    /// Sends an action and waits for its response block.
    pub async fn action(&self, action: &str, headers: &[(&str, &str)]) -> Result<AmiMessage, AmiError> {
        Ok(self.action_collect(action, headers).await?.response)
    }

    /// Sends an action; for list actions, also collects the list's events until `…Complete`.
    pub async fn action_collect(&self, action: &str, headers: &[(&str, &str)]) -> Result<AmiReply, AmiError> {
        let (reply, rx) = oneshot::channel();
        let req = Request {
            action: action.to_string(),
            headers: headers.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            reply,
        };
        self.requests.send(req).await.map_err(|_| AmiError::NotConnected)?;
        tokio::time::timeout(ACTION_TIMEOUT, rx)
            .await
            .map_err(|_| AmiError::Timeout(ACTION_TIMEOUT))?
            .map_err(|_| AmiError::NotConnected)
    }

    /// Sends a REGISTER now (after a password change, which a module reload ignores).
    pub async fn pjsip_register(&self, registration: &str) -> Result<AmiMessage, AmiError> {
        self.action("PJSIPRegister", &[("Registration", registration)]).await
    }

    /// Sends OPTIONS to an endpoint's contacts now (a `ContactStatus` event follows a change), rather
    /// than at the next `qualify_frequency`.
    pub async fn pjsip_qualify(&self, endpoint: &str) -> Result<AmiMessage, AmiError> {
        self.action("PJSIPQualify", &[("Endpoint", endpoint)]).await
    }

    /// `(URI, qualify status)` of an endpoint's contacts (status `Reachable`, `Unreachable`,
    /// `NonQualified`, `Unknown`); empty when the endpoint has none.
    pub async fn contact_statuses(&self, endpoint: &str) -> Result<Vec<(String, String)>, AmiError> {
        let r = self.action_collect("PJSIPShowEndpoint", &[("Endpoint", endpoint)]).await?;
        Ok(r.events
            .iter()
            .filter(|e| e.event() == Some("ContactStatusDetail"))
            .filter_map(|e| {
                Some((e.get("URI").unwrap_or_default().to_string(), e.get("Status")?.to_string()))
            })
            .collect())
    }

    /// Every outbound registration Asterisk has: id, status, client and server URI.
    pub async fn outbound_registrations(&self) -> Result<Vec<OutboundRegistration>, AmiError> {
        let r = self.action_collect("PJSIPShowRegistrationsOutbound", &[]).await?;
        Ok(r.events
            .iter()
            .filter(|e| e.event() == Some("OutboundRegistrationDetail"))
            .filter_map(|e| {
                Some(OutboundRegistration {
                    id: e.get("ObjectName")?.to_string(),
                    status: e.get("Status").unwrap_or("Unregistered").to_string(),
                    server_uri: e.get("ServerUri").unwrap_or_default().to_string(),
                    client_uri: e.get("ClientUri").unwrap_or_default().to_string(),
                })
            })
            .collect())
    }
}

/// One row of `PJSIPShowRegistrationsOutbound`.
#[derive(Debug, Clone)]
pub struct OutboundRegistration {
    pub id: String,
    pub status: String,
    pub server_uri: String,
    pub client_uri: String,
}

async fn supervise(
    addr: String,
    user: String,
    secret: SecretString,
    mut requests: mpsc::Receiver<Request>,
    events: broadcast::Sender<AmiMessage>,
    connected: watch::Sender<u64>,
) {
    let mut backoff = Duration::from_millis(200);
    loop {
        match session(&addr, &user, &secret, &mut requests, &events, &connected).await {
            Ok(()) => return, // every handle was dropped
            Err(e) => tracing::warn!(error = %e, addr = %addr, "AMI connection lost; reconnecting"),
        }
        // Fail requests that arrive while disconnected instead of letting them hang.
        let sleep = tokio::time::sleep(backoff);
        tokio::pin!(sleep);
        loop {
            tokio::select! {
                _ = &mut sleep => break,
                r = requests.recv() => match r { Some(req) => drop(req.reply), None => return },
            }
        }
        backoff = (backoff * 2).min(Duration::from_secs(5));
    }
}

struct Pending {
    reply: oneshot::Sender<AmiReply>,
    got: AmiReply,
    list: bool,
}

async fn session(
    addr: &str,
    user: &str,
    secret: &SecretString,
    requests: &mut mpsc::Receiver<Request>,
    events: &broadcast::Sender<AmiMessage>,
    connected: &watch::Sender<u64>,
) -> Result<(), AmiError> {
    let stream = tokio::time::timeout(ACTION_TIMEOUT, TcpStream::connect(addr))
        .await
        .map_err(|_| AmiError::Timeout(ACTION_TIMEOUT))??;
    let (r, mut w) = stream.into_split();
    let mut lines = BufReader::new(r).lines();
    // Banner: "Asterisk Call Manager/x.y.z"
    lines.next_line().await?;
    // The secret is written to the socket only; it never reaches a log line or a Debug output.
    let login = format!(
        "Action: Login\r\nActionID: login\r\nUsername: {user}\r\nSecret: {}\r\nEvents: on\r\n\r\n",
        secret.expose_secret()
    );
    w.write_all(login.as_bytes()).await?;
    let mut block = Vec::new();
    loop {
        let line = lines.next_line().await?.ok_or(AmiError::NotConnected)?;
        if !line.is_empty() {
            block.push(line);
            continue;
        }
        let msg = parse_block(&std::mem::take(&mut block));
        if msg.get("ActionID") == Some("login") {
            if msg.is_success() {
                break;
            }
            return Err(AmiError::Login(msg.get("Message").unwrap_or("refused").to_string()));
        }
    }
    connected.send_modify(|g| *g += 1);
    tracing::info!(addr, "AMI connected");

    let mut pending: HashMap<String, Pending> = HashMap::new();
    let mut next_id: u64 = 0;
    loop {
        tokio::select! {
            req = requests.recv() => {
                let Some(req) = req else { return Ok(()) };
                next_id += 1;
                let id = format!("cb-{next_id}");
                let mut text = format!("Action: {}\r\nActionID: {id}\r\n", req.action);
                for (k, v) in &req.headers {
                    // No header may smuggle another line into the action.
                    let v: String = v.chars().filter(|c| *c != '\r' && *c != '\n').collect();
                    text.push_str(&format!("{k}: {v}\r\n"));
                }
                text.push_str("\r\n");
                w.write_all(text.as_bytes()).await?;
                pending.insert(id, Pending { reply: req.reply, got: AmiReply::default(), list: false });
            }
            line = lines.next_line() => {
                let line = line?.ok_or(AmiError::NotConnected)?;
                if !line.is_empty() {
                    block.push(line);
                    continue;
                }
                if block.is_empty() {
                    continue;
                }
                let msg = parse_block(&std::mem::take(&mut block));
                route(msg, &mut pending, events);
            }
        }
    }
}

fn route(msg: AmiMessage, pending: &mut HashMap<String, Pending>, events: &broadcast::Sender<AmiMessage>) {
    let id = msg.get("ActionID").map(str::to_string);
    match (msg.get("Response").is_some(), id.and_then(|id| pending.get_mut(&id).map(|p| (id, p)))) {
        (true, Some((id, p))) => {
            p.list = msg.get("EventList").is_some_and(|e| e.eq_ignore_ascii_case("start"));
            p.got.response = msg;
            if !p.list {
                let p = pending.remove(&id).expect("present");
                let _ = p.reply.send(p.got);
            }
        }
        (false, Some((id, p))) if p.list => {
            let done = msg.get("EventList").is_some_and(|e| e.eq_ignore_ascii_case("Complete"));
            if done {
                let p = pending.remove(&id).expect("present");
                let _ = p.reply.send(p.got);
            } else {
                p.got.events.push(msg);
            }
        }
        _ => {
            let _ = events.send(msg);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(s: &str) -> AmiMessage {
        parse_block(&s.lines().map(str::to_string).collect::<Vec<_>>())
    }

    #[test]
    fn blocks_parse_into_fields() {
        let m = block("Response: Success\nActionID: cb-1\nMessage: Authentication accepted");
        assert!(m.is_success());
        assert_eq!(m.get("actionid"), Some("cb-1"));
        assert_eq!(m.get("Message"), Some("Authentication accepted"));
    }

    #[test]
    fn list_actions_collect_their_events_and_others_are_broadcast() {
        let (events, mut rx) = broadcast::channel(8);
        let (tx, mut reply) = oneshot::channel();
        let mut pending = HashMap::new();
        pending.insert("cb-1".to_string(), Pending { reply: tx, got: AmiReply::default(), list: false });
        route(block("Response: Success\nActionID: cb-1\nEventList: start"), &mut pending, &events);
        route(
            block(
                "Event: OutboundRegistrationDetail\nActionID: cb-1\nObjectName: t1-trk1\nStatus: Registered",
            ),
            &mut pending,
            &events,
        );
        route(block("Event: Registry\nStatus: Registered"), &mut pending, &events);
        assert!(reply.try_recv().is_err(), "list not complete yet");
        route(
            block("Event: OutboundRegistrationDetailComplete\nActionID: cb-1\nEventList: Complete"),
            &mut pending,
            &events,
        );
        let r = reply.try_recv().unwrap();
        assert_eq!(r.events.len(), 1);
        assert_eq!(r.events[0].get("ObjectName"), Some("t1-trk1"));
        assert_eq!(rx.try_recv().unwrap().event(), Some("Registry"));
        assert!(pending.is_empty());
    }
}
