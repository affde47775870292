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
    pub reader: Box<dyn BufRead>,
    /// The file name or URL (secrets masked).
    pub name: String,
}

/// Opens `location`; URLs go through `client` (retries before the body starts, timeouts).
pub fn open(
    location: &Location,
    client: &HttpClient,
    progress: &Progress,
) -> Result<Input, BoxError> {
    let (raw, name): (Box<dyn Read>, String) = match location {
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
            (Box::new(response.into_body().into_reader()), name)
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
    let reader: Box<dyn BufRead> = if gzip {
        Box::new(BufReader::with_capacity(
            BUFFER,
            flate2::read::MultiGzDecoder::new(reader),
        ))
    } else {
        Box::new(reader)
    };
    Ok(Input { reader, name })
}

/// Counts the (compressed) bytes read for progress.
struct Counted {
    inner: Box<dyn Read>,
    progress: Progress,
}

impl Read for Counted {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.progress.bytes(n as u64);
        Ok(n)
    }
}
