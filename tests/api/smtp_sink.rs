//! A minimal SMTP server on 127.0.0.1 for delivery tests: it accepts every message and keeps
//! the raw text and every command it was sent. It speaks just enough of RFC 5321 for lettre
//! (EHLO, MAIL, RCPT, DATA, RSET, NOOP, QUIT, and AUTH PLAIN/LOGIN, accepting anything) and
//! offers no STARTTLS: `url()` says `?tls=none` (a local relay), and `url_requiring_starttls()`
//! is what a plain `smtp://` setting sends, which the portal must refuse to use.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

pub struct SmtpSink {
    pub port: u16,
    messages: Arc<Mutex<Vec<String>>>,
    commands: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
}

impl SmtpSink {
    /// Listen on a free port.
    pub fn start() -> Self {
        Self::start_on(0)
    }

    /// Listen on `port` (0: any free port).
    pub fn start_on(port: u16) -> Self {
        let listener = TcpListener::bind(("127.0.0.1", port)).expect("bind the SMTP sink");
        listener.set_nonblocking(true).expect("non-blocking listener");
        let port = listener.local_addr().expect("sink address").port();
        let messages = Arc::new(Mutex::new(Vec::new()));
        let commands = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        {
            let messages = messages.clone();
            let commands = commands.clone();
            let stop = stop.clone();
            thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    match listener.accept() {
                        Ok((stream, _)) => {
                            let messages = messages.clone();
                            let commands = commands.clone();
                            thread::spawn(move || {
                                let _ = serve(stream, &messages, &commands);
                            });
                        }
                        Err(_) => thread::sleep(Duration::from_millis(10)),
                    }
                }
            });
        }
        Self { port, messages, commands, stop }
    }

    /// The sink as a local relay: plain SMTP, said so with `?tls=none`.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}?tls=none", self.port)
    }

    /// A plain `smtp://` URL with credentials: STARTTLS required, which the sink does not offer.
    pub fn url_requiring_starttls(&self, user: &str, password: &str) -> String {
        format!("smtp://{user}:{password}@127.0.0.1:{}", self.port)
    }

    /// Every command line received so far (verb and arguments, without CRLF; not message text).
    pub fn commands(&self) -> Vec<String> {
        self.commands.lock().expect("sink lock").clone()
    }

    /// Every message received so far, as raw text.
    pub fn messages(&self) -> Vec<String> {
        self.messages.lock().expect("sink lock").clone()
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// A port nothing listens on (bound and released at once).
pub fn free_port() -> u16 {
    TcpListener::bind(("127.0.0.1", 0)).expect("bind").local_addr().expect("address").port()
}

fn serve(stream: TcpStream, messages: &Mutex<Vec<String>>, commands: &Mutex<Vec<String>>) -> std::io::Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut writer = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    writer.write_all(b"220 sink.test ESMTP ready\r\n")?;
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        commands.lock().expect("sink lock").push(line.trim_end().to_owned());
        let verb = line.get(..4).unwrap_or("").to_ascii_uppercase();
        match verb.as_str() {
            "EHLO" => writer.write_all(b"250-sink.test\r\n250-8BITMIME\r\n250-AUTH PLAIN LOGIN\r\n250 SMTPUTF8\r\n")?,
            "AUTH" => writer.write_all(b"235 2.7.0 Authentication successful\r\n")?,
            "HELO" | "MAIL" | "RCPT" | "RSET" | "NOOP" => writer.write_all(b"250 OK\r\n")?,
            "DATA" => {
                writer.write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n")?;
                let mut message = String::new();
                loop {
                    line.clear();
                    if reader.read_line(&mut line)? == 0 {
                        return Ok(());
                    }
                    if line == ".\r\n" {
                        break;
                    }
                    message.push_str(line.strip_prefix('.').unwrap_or(&line));
                }
                messages.lock().expect("sink lock").push(message);
                writer.write_all(b"250 OK queued\r\n")?;
            }
            "QUIT" => {
                writer.write_all(b"221 Bye\r\n")?;
                return Ok(());
            }
            _ => writer.write_all(b"502 Command not implemented\r\n")?,
        }
    }
}

/// The Message-ID header of a raw message.
pub fn message_id(raw: &str) -> Option<String> {
    raw.lines()
        .find(|l| l.to_ascii_lowercase().starts_with("message-id:"))
        .map(|l| l["message-id:".len()..].trim().to_owned())
}
