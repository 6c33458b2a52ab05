//! A small blocking JSON-RPC client, used by the CLI to talk to a server
//! exactly as any other client does (the CLI holds no second copy of the
//! packer's semantics: it asks).

use std::io::{Read, Write};
use std::sync::mpsc;
use std::thread::JoinHandle;

use serde_json::Value;

use crate::transport::codec::{self, Decoder, Frame};
use crate::transport::message::{self, Id};
use crate::transport::RpcError;

pub struct Client {
    writer: Box<dyn Write + Send>,
    incoming: mpsc::Receiver<Value>,
    next_id: i64,
    /// Called with every notification received while waiting for a response.
    pub on_notification: Box<dyn FnMut(&Value) + Send>,
    server: Option<JoinHandle<i32>>,
}

impl Client {
    /// A client over any byte stream pair.
    pub fn over(reader: impl Read + Send + 'static, writer: impl Write + Send + 'static) -> Client {
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || read_messages(reader, tx));
        Client { writer: Box::new(writer), incoming: rx, next_id: 1, on_notification: Box::new(|_| {}), server: None }
    }

    /// A server in this process, connected through pipes, with its own runtime.
    pub fn in_process() -> std::io::Result<Client> {
        let (server_in, client_out) = std::io::pipe()?;
        let (client_in, server_out) = std::io::pipe()?;
        let handle = std::thread::Builder::new()
            .name("packer-server".into())
            .spawn(move || crate::server::run(server_in, server_out))?;
        let mut client = Client::over(client_in, client_out);
        client.server = Some(handle);
        Ok(client)
    }

    pub fn notify(&mut self, method: &str, params: Value) -> std::io::Result<()> {
        let body = serde_json::to_vec(&serde_json::json!({"jsonrpc": "2.0", "method": method, "params": params}))?;
        self.send(&body)
    }

    fn send(&mut self, body: &[u8]) -> std::io::Result<()> {
        let mut frame = Vec::with_capacity(body.len() + 32);
        codec::encode(body, &mut frame);
        self.writer.write_all(&frame)?;
        self.writer.flush()
    }

    /// Sends a request and waits for its response.
    pub fn request(&mut self, method: &str, params: Value) -> Result<Value, RpcError> {
        self.request_within(method, params, None)
    }

    /// Sends a request and waits for its response, at most `timeout`.
    pub fn request_within(
        &mut self,
        method: &str,
        params: Value,
        timeout: Option<std::time::Duration>,
    ) -> Result<Value, RpcError> {
        let id = Id::Num(self.next_id);
        self.next_id += 1;
        let lost = |e: &dyn std::fmt::Display| RpcError::internal(format!("the server connection failed: {e}"));
        self.send(&message::request_body(&id, method, &params)).map_err(|e| lost(&e))?;
        let deadline = timeout.map(|t| std::time::Instant::now() + t);
        loop {
            let msg = match deadline {
                None => self.incoming.recv().map_err(|_| lost(&"it closed"))?,
                Some(d) => match self.incoming.recv_timeout(d.saturating_duration_since(std::time::Instant::now())) {
                    Ok(m) => m,
                    Err(mpsc::RecvTimeoutError::Timeout) => {
                        return Err(RpcError::internal(format!("no answer to `{method}` in time")))
                    }
                    Err(mpsc::RecvTimeoutError::Disconnected) => return Err(lost(&"it closed")),
                },
            };
            if msg.get("method").is_some() {
                (self.on_notification)(&msg);
                continue;
            }
            if msg.get("id") != Some(&serde_json::to_value(&id).expect("an id serialises")) {
                continue;
            }
            if let Some(err) = msg.get("error") {
                return Err(serde_json::from_value(err.clone()).unwrap_or_else(|_| RpcError::internal(err.to_string())));
            }
            return Ok(msg.get("result").cloned().unwrap_or(Value::Null));
        }
    }

    /// Waits for the next notification, outside any request (a client that
    /// follows events). `None` when the server closed the connection.
    pub fn next_notification(&mut self) -> Option<Value> {
        loop {
            let msg = self.incoming.recv().ok()?;
            if msg.get("method").is_some() {
                return Some(msg);
            }
        }
    }

    /// `shutdown` then `exit`; waits for an in-process server to finish.
    pub fn close(mut self) -> i32 {
        let _ = self.request("shutdown", Value::Null);
        let _ = self.notify("exit", Value::Null);
        match self.server.take() {
            Some(h) => h.join().unwrap_or(1),
            None => 0,
        }
    }
}

fn read_messages(mut reader: impl Read, tx: mpsc::Sender<Value>) {
    let mut decoder = Decoder::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        decoder.extend(&buf[..n]);
        while let Some(frame) = decoder.next_frame() {
            if let Frame::Body(body) = frame {
                if let Ok(v) = serde_json::from_slice::<Value>(&body) {
                    if tx.send(v).is_err() {
                        return;
                    }
                }
            }
        }
    }
}
