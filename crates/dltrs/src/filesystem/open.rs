//! Opening an input for streaming: a local file, standard input or an `http(s)://` download,
//! gunzipped when its first bytes say gzip (whatever its name).

use std::fs::File;
use std::io::{BufRead, BufReader, Read};

use crate::http::{HttpClient, HttpRequest};
use crate::progress::Progress;
use crate::run_error::BoxError;

/// Read buffer of inputs: large reads keep system calls and decoder calls few.
const BUFFER: usize = 1 << 20;

/// Where an input is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// A local file (`-`: standard input).
    Path(std::path::PathBuf),
    /// An `http://` or `https://` URL, streamed.
    Url(url::Url),
}

impl Location {
    /// A URL when `text` starts with `http://` or `https://`, a path otherwise.
    pub fn parse(text: &str) -> Result<Location, String> {
        if text.starts_with("http://") || text.starts_with("https://") {
            url::Url::parse(text)
                .map(Location::Url)
                .map_err(|e| format!("{text:?} is not a URL: {e}"))
        } else {
            Ok(Location::Path(text.into()))
        }
    }
}

/// An open input and the name it goes by in messages and file name columns.
pub struct Input {
    /// The bytes, decompressed.
    pub reader: Box<dyn BufRead + Send>,
    /// The file name or URL (secrets masked).
    pub name: String,
}

/// Opens `location`; URLs go through `client` (retries before the body starts, timeouts).
pub fn open(
    location: &Location,
    client: &HttpClient,
    progress: &Progress,
) -> Result<Input, BoxError> {
    let (raw, name): (Box<dyn Read + Send>, String) = match location {
        Location::Path(path) if path.as_os_str() == "-" => {
            (Box::new(std::io::stdin()), "<stdin>".to_owned())
        }
        Location::Path(path) => {
            let file =
                File::open(path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
            (Box::new(file), path.display().to_string())
        }
        Location::Url(url) => {
            let response = client.send(&HttpRequest::get(url.clone()))?;
            let name = client.show_url(url);
            // a cut download continues where it stopped when the server serves byte ranges
            // of the bytes we read (not when ureq decodes a Content-Encoding for us)
            let headers = response.headers();
            let resumable = headers
                .get("accept-ranges")
                .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"bytes"))
                && headers.get("content-encoding").is_none();
            (
                Box::new(Download {
                    reader: response.into_body().into_reader(),
                    client: client.clone(),
                    url: url.clone(),
                    name: name.clone(),
                    read: 0,
                    resumes_left: if resumable { RESUMES } else { 0 },
                }),
                name,
            )
        }
    };
    let counted = Counted {
        inner: raw,
        progress: progress.clone(),
    };
    let mut reader = BufReader::with_capacity(BUFFER, counted);
    let gzip = reader
        .fill_buf()
        .map_err(|e| format!("reading {name}: {e}"))?
        .starts_with(&[0x1f, 0x8b]);
    let reader: Box<dyn BufRead + Send> = if gzip {
        Box::new(BufReader::with_capacity(
            BUFFER,
            flate2::read::MultiGzDecoder::new(reader),
        ))
    } else {
        Box::new(reader)
    };
    Ok(Input { reader, name })
}

/// Times a cut download is resumed before it fails.
const RESUMES: u32 = 5;

/// A download that resumes with a `Range` request when the connection breaks.
struct Download {
    reader: ureq::BodyReader<'static>,
    client: HttpClient,
    url: url::Url,
    name: String,
    read: u64,
    resumes_left: u32,
}

impl Download {
    fn resume(&mut self) -> Result<(), String> {
        let mut request = HttpRequest::get(self.url.clone());
        request
            .headers
            .push(("Range".to_owned(), format!("bytes={}-", self.read)));
        let response = self.client.send(&request).map_err(|e| e.to_string())?;
        let starts_here = response
            .headers()
            .get("content-range")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("bytes "))
            .and_then(|v| v.split('-').next())
            .and_then(|start| start.parse::<u64>().ok())
            == Some(self.read);
        if response.status().as_u16() != 206 || !starts_here {
            return Err(format!(
                "the server did not resume at byte {} (status {})",
                self.read,
                response.status().as_u16()
            ));
        }
        self.reader = response.into_body().into_reader();
        Ok(())
    }
}

impl Read for Download {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        loop {
            match self.reader.read(buf) {
                Ok(n) => {
                    self.read += n as u64;
                    return Ok(n);
                }
                Err(e) if self.resumes_left > 0 => {
                    self.resumes_left -= 1;
                    if let Err(why) = self.resume() {
                        return Err(std::io::Error::new(
                            e.kind(),
                            format!(
                                "the download of {} broke off after {} bytes ({e}) and could not be resumed: {why}",
                                self.name, self.read
                            ),
                        ));
                    }
                }
                Err(e) => {
                    return Err(std::io::Error::new(
                        e.kind(),
                        format!(
                            "the download of {} broke off after {} bytes: {e}",
                            self.name, self.read
                        ),
                    ));
                }
            }
        }
    }
}

/// Counts the (compressed) bytes read for progress.
struct Counted {
    inner: Box<dyn Read + Send>,
    progress: Progress,
}

impl Read for Counted {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.progress.bytes(n as u64);
        Ok(n)
    }
}
