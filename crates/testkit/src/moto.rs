//! moto's S3 server on 127.0.0.1, for the filesystem destination's tests: started from the
//! test tools' virtualenv (`python/venv.sh`), stopped when dropped.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use dltrs::S3Credentials;

/// A running `moto_server`.
pub struct MotoServer {
    child: Child,
    port: u16,
}

/// Where `moto_server` is: `$DLTRS_VENV/bin`, else `~/.cache/dltrs-venv/bin`.
fn moto_binary() -> PathBuf {
    let venv = std::env::var_os("DLTRS_VENV")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/dltrs-venv")))
        .unwrap_or_default();
    venv.join("bin/moto_server")
}

impl MotoServer {
    /// Starts a server on a free port and waits until it answers.
    ///
    /// # Panics
    ///
    /// When `moto_server` is not installed (run `bash python/venv.sh`) or does not start.
    #[allow(clippy::expect_used, clippy::panic)]
    pub fn start() -> MotoServer {
        MotoServer::start_with(&[])
    }

    /// Starts a server with extra environment variables (`INITIAL_NO_AUTH_ACTION_COUNT=1`
    /// makes it check credentials after one request, the bucket's creation).
    ///
    /// # Panics
    ///
    /// As [`MotoServer::start`].
    #[allow(clippy::expect_used, clippy::panic)]
    pub fn start_with(env: &[(&str, &str)]) -> MotoServer {
        let binary = moto_binary();
        assert!(
            binary.exists(),
            "{} not found: the S3 tests need moto's server (`bash python/venv.sh` installs it)",
            binary.display()
        );
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port");
        let child = Command::new(&binary)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("moto_server starts");
        let server = MotoServer { child, port };
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "moto_server did not listen on port {port} within 30 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        server
    }

    /// `http://127.0.0.1:<port>`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Credentials for this server (moto takes any unless told to check them).
    pub fn credentials(&self) -> S3Credentials {
        S3Credentials {
            aws_access_key_id: Some("testing".into()),
            aws_secret_access_key: Some("moto-secret-do-not-print".into()),
            aws_session_token: None,
            region_name: Some("us-east-1".into()),
            endpoint_url: Some(self.endpoint()),
        }
    }

    /// Creates bucket `name` (`PUT /<name>`).
    ///
    /// # Panics
    ///
    /// When the server refuses.
    #[allow(clippy::expect_used)]
    pub fn create_bucket(&self, name: &str) {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).expect("moto answers");
        write!(
            stream,
            "PUT /{name} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            self.port
        )
        .expect("a request");
        let mut response = String::new();
        stream.read_to_string(&mut response).expect("a response");
        assert!(
            response.starts_with("HTTP/1.1 200") || response.starts_with("HTTP/1.0 200"),
            "creating bucket {name}: {response}"
        );
    }
}

impl MotoServer {
    /// One HTTP/1.0 request (no chunked answers), the status line and the body. An
    /// `Authorization` header of the test credentials, unsigned: moto serves a private object
    /// to any authenticated caller unless it checks signatures.
    #[allow(clippy::expect_used)]
    fn request(&self, method: &str, target: &str) -> (String, Vec<u8>) {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).expect("moto answers");
        write!(
            stream,
            "{method} {target} HTTP/1.0\r\nHost: 127.0.0.1:{}\r\nAuthorization: AWS4-HMAC-SHA256 Credential=testing/20240101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=00\r\n\r\n",
            self.port
        )
        .expect("a request");
        let mut response = Vec::new();
        stream.read_to_end(&mut response).expect("a response");
        let split = response
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .map_or(response.len(), |at| at + 4);
        let head = String::from_utf8_lossy(&response[..split]).into_owned();
        let status = head.lines().next().unwrap_or_default().to_string();
        (status, response[split..].to_vec())
    }

    /// The keys under `prefix` in `bucket`, sorted (S3's `ListObjectsV2`).
    ///
    /// # Panics
    ///
    /// When the server refuses.
    pub fn list(&self, bucket: &str, prefix: &str) -> Vec<String> {
        let (status, body) = self.request("GET", &format!("/{bucket}?list-type=2&prefix={prefix}"));
        assert!(
            status.contains(" 200"),
            "listing {bucket}/{prefix}: {status}"
        );
        let text = String::from_utf8_lossy(&body);
        let mut keys: Vec<String> = text
            .split("<Key>")
            .skip(1)
            .filter_map(|part| part.split("</Key>").next())
            .map(str::to_owned)
            .collect();
        keys.sort();
        keys
    }

    /// The object `key` of `bucket`.
    ///
    /// # Panics
    ///
    /// When there is none.
    pub fn get(&self, bucket: &str, key: &str) -> Vec<u8> {
        let (status, body) = self.request("GET", &format!("/{bucket}/{key}"));
        assert!(status.contains(" 200"), "getting {bucket}/{key}: {status}");
        body
    }
}

impl Drop for MotoServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
