//! Sending one delivery: a plain HTTP/1.1 POST with `Connection: close` over `std::net::TcpStream` to
//! 127.0.0.1 (also for `localhost`: never a name lookup), and reading the receiver's answer (by
//! `Content-Length`, chunked, or up to the close), within timeouts.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::time::Duration;

use super::send::{Answer, Outcome, Target};

/// Connect, write and read timeout of a delivery.
pub const TIMEOUT: Duration = Duration::from_secs(10);
/// Largest part of a receiver's answer body that is kept.
const MAX_ANSWER: u64 = 1024 * 1024;

/// POSTs `body` to the target with `Connection: close` and reads the answer.
pub(super) fn post(target: &Target, own_headers: Vec<(String, String)>, body: String) -> Outcome {
    let mut headers = vec![("Host".to_string(), target.host.clone())];
    headers.extend(own_headers);
    headers.push(("Content-Length".to_string(), body.len().to_string()));
    headers.push(("Connection".to_string(), "close".to_string()));
    let mut request = format!("POST {} HTTP/1.1\r\n", target.path);
    for (k, v) in &headers {
        request.push_str(k);
        request.push_str(": ");
        request.push_str(v);
        request.push_str("\r\n");
    }
    request.push_str("\r\n");
    request.push_str(&body);
    let answer = exchange(target, request.as_bytes());
    Outcome { headers, body, answer }
}

fn exchange(target: &Target, request: &[u8]) -> Result<Answer, String> {
    // `localhost` is dialled as 127.0.0.1 too: never a name lookup, never anything but loopback.
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, target.port));
    let stream = TcpStream::connect_timeout(&addr, TIMEOUT).map_err(|e| format!("cannot connect to {addr}: {e}"))?;
    let io_error = |e: std::io::Error| match e.kind() {
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut => {
            format!("no answer from {addr} within {} s", TIMEOUT.as_secs())
        }
        _ => format!("exchange with {addr} failed: {e}"),
    };
    stream.set_read_timeout(Some(TIMEOUT)).map_err(io_error)?;
    stream.set_write_timeout(Some(TIMEOUT)).map_err(io_error)?;
    let _ = stream.set_nodelay(true);
    (&stream).write_all(request).map_err(io_error)?;
    let mut reader = BufReader::new(&stream);
    read_answer(&mut reader).map_err(|e| match e {
        AnswerError::Io(e) => io_error(e),
        AnswerError::Malformed(m) => format!("malformed answer from {addr}: {m}"),
    })
}

enum AnswerError {
    Io(std::io::Error),
    Malformed(String),
}

impl From<std::io::Error> for AnswerError {
    fn from(e: std::io::Error) -> AnswerError {
        AnswerError::Io(e)
    }
}

fn malformed<T>(msg: &str) -> Result<T, AnswerError> {
    Err(AnswerError::Malformed(msg.to_string()))
}

fn read_line(reader: &mut impl BufRead) -> Result<String, AnswerError> {
    let mut line = Vec::new();
    reader.by_ref().take(64 * 1024).read_until(b'\n', &mut line)?;
    if line.last() != Some(&b'\n') {
        return malformed("the connection closed in the middle of the head");
    }
    Ok(String::from_utf8_lossy(&line).trim_end_matches(['\r', '\n']).to_string())
}

/// Reads the status line, the headers and the body (by `Content-Length`, chunked, or up to the close).
fn read_answer(reader: &mut impl BufRead) -> Result<Answer, AnswerError> {
    loop {
        let status_line = read_line(reader)?;
        let mut parts = status_line.splitn(3, ' ');
        let (Some(version), Some(code)) = (parts.next(), parts.next()) else {
            return malformed(&format!("bad status line '{status_line}'"));
        };
        let status = match code.parse::<u16>() {
            Ok(s) if version.starts_with("HTTP/") && (100..=999).contains(&s) => s,
            _ => return malformed(&format!("bad status line '{status_line}'")),
        };
        let mut length = None;
        let mut chunked = false;
        loop {
            let line = read_line(reader)?;
            if line.is_empty() {
                break;
            }
            let Some((name, value)) = line.split_once(':') else {
                return malformed(&format!("bad header line '{line}'"));
            };
            let value = value.trim();
            if name.trim().eq_ignore_ascii_case("content-length") {
                length = value.parse::<u64>().ok();
            } else if name.trim().eq_ignore_ascii_case("transfer-encoding") {
                chunked = value.to_ascii_lowercase().contains("chunked");
            }
        }
        // An interim answer (100 Continue...) is followed by the real one.
        if (100..200).contains(&status) {
            continue;
        }
        let mut body = Vec::new();
        match (status, chunked, length) {
            // Nothing follows the head of these, whatever the headers say.
            (204 | 304, _, _) => {}
            (_, true, _) => read_chunked(reader, &mut body)?,
            (_, false, length) => {
                reader.take(length.unwrap_or(MAX_ANSWER).min(MAX_ANSWER)).read_to_end(&mut body)?;
            }
        }
        return Ok(Answer { status, body: String::from_utf8_lossy(&body).into_owned() });
    }
}

fn read_chunked(reader: &mut impl BufRead, body: &mut Vec<u8>) -> Result<(), AnswerError> {
    loop {
        let line = read_line(reader)?;
        let size = line.split(';').next().unwrap_or("").trim();
        let Ok(size) = u64::from_str_radix(size, 16) else {
            return malformed(&format!("bad chunk size '{line}'"));
        };
        if size == 0 {
            return Ok(());
        }
        // Keep up to MAX_ANSWER bytes in all, skip the rest.
        let room = MAX_ANSWER.saturating_sub(body.len() as u64);
        let kept = reader.by_ref().take(size.min(room)).read_to_end(body)? as u64;
        let skipped = std::io::copy(&mut reader.by_ref().take(size - kept), &mut std::io::sink())?;
        if kept + skipped < size {
            return malformed("the connection closed in the middle of a chunk");
        }
        read_line(reader)?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(raw: &str) -> Result<(u16, String), String> {
        let mut reader = BufReader::new(raw.as_bytes());
        match read_answer(&mut reader) {
            Ok(a) => Ok((a.status, a.body)),
            Err(AnswerError::Io(e)) => Err(e.to_string()),
            Err(AnswerError::Malformed(m)) => Err(m),
        }
    }

    #[test]
    fn answers_by_length_chunked_to_the_close_and_after_interim_ones() {
        assert_eq!(answer("HTTP/1.1 401 No\r\nContent-Length: 3\r\n\r\nabcdef"), Ok((401, "abc".into())));
        assert_eq!(
            answer("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"),
            Ok((200, "abcde".into()))
        );
        assert_eq!(answer("HTTP/1.0 500 Oops\r\n\r\nuntil the close"), Ok((500, "until the close".into())));
        assert_eq!(answer("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n"), Ok((204, String::new())));
        assert!(answer("SSH-2.0-OpenSSH\r\n\r\n").is_err_and(|e| e.contains("bad status line")));
        assert!(answer("HTTP/1.1 200 OK\r\nContent-").is_err_and(|e| e.contains("middle of the head")));
        assert!(answer("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nff\r\nabc")
            .is_err_and(|e| e.contains("middle of a chunk")));
    }
}
