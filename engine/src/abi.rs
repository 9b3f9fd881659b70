//! The plugin ABI boundary (SPEC §3): artifacts cross it in a serialized form that has no
//! passthrough field and no View, like heph's protobuf; bytes cross it in chunks.
//!
//! Architecture Invariant: `from_wire` always yields `passthrough: false`, so plugin outputs
//! always pack; and [`read_chunked`] propagates read errors (heph maps them to EOF).

use std::io::{self, Read};
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::artifact::{Artifact, ArtifactType, Content};
use crate::error::{EngineError, Result};

/// Largest encoded artifact accepted from the wire.
pub const MAX_WIRE_BYTES: usize = 64 << 20;
/// heph's host reads plugin input in chunks of this size.
pub const ABI_CHUNK: usize = 32 * 1024;

/// Content as the wire knows it: no passthrough flag, no View.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum WireContent {
    /// A file.
    File {
        /// Where the bytes live.
        source_path: PathBuf,
        /// Where consumers see it.
        out_path: PathBuf,
        /// Exec bit.
        x: bool,
    },
    /// Bytes.
    Raw {
        /// The bytes: carried after the JSON header, as protobuf carries a `bytes` field, not
        /// as a JSON array of numbers.
        #[serde(skip)]
        data: Vec<u8>,
        /// Where consumers see them.
        path: PathBuf,
        /// Exec bit.
        x: bool,
    },
    /// A tar.
    Tar {
        /// The tar's path.
        path: PathBuf,
    },
}

/// An artifact as it crosses the ABI.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireArtifact {
    /// Output group.
    pub group: String,
    /// Role.
    pub kind: ArtifactType,
    /// Content.
    pub content: WireContent,
    /// Hashout.
    pub hashout: String,
}

/// Converts to the wire form, dropping the passthrough flag; a View cannot cross.
pub fn to_wire(artifact: &Artifact) -> Result<WireArtifact> {
    let content = match &artifact.content {
        Content::File {
            source_path,
            out_path,
            x,
            passthrough: _,
        } => WireContent::File {
            source_path: source_path.clone(),
            out_path: out_path.clone(),
            x: *x,
        },
        Content::Raw { data, path, x } => WireContent::Raw {
            data: data.clone(),
            path: path.clone(),
            x: *x,
        },
        Content::Tar(path) => WireContent::Tar { path: path.clone() },
        Content::View(_) => {
            return Err(EngineError::ViewAcrossAbi {
                group: artifact.group.clone(),
            })
        }
    };
    Ok(WireArtifact {
        group: artifact.group.clone(),
        kind: artifact.kind,
        content,
        hashout: artifact.hashout.clone(),
    })
}

/// Converts back from the wire: the passthrough flag is always false.
pub fn from_wire(wire: WireArtifact) -> Artifact {
    let content = match wire.content {
        WireContent::File {
            source_path,
            out_path,
            x,
        } => Content::File {
            source_path,
            out_path,
            x,
            passthrough: false,
        },
        WireContent::Raw { data, path, x } => Content::Raw { data, path, x },
        WireContent::Tar { path } => Content::Tar(path),
    };
    Artifact {
        group: wire.group,
        kind: wire.kind,
        content,
        hashout: wire.hashout,
    }
}

/// Serializes for the wire: a 4-byte big-endian header length, the JSON header, then the raw
/// bytes of a `Raw` content (empty for the other kinds).
pub fn encode(artifact: &Artifact) -> Result<Vec<u8>> {
    let mut wire = to_wire(artifact)?;
    let payload = match &mut wire.content {
        WireContent::Raw { data, .. } => std::mem::take(data),
        _ => Vec::new(),
    };
    let header =
        serde_json::to_vec(&wire).map_err(|e| EngineError::MalformedWire(e.to_string()))?;
    let len = u32::try_from(header.len())
        .map_err(|_| EngineError::MalformedWire("header longer than 4 GiB".into()))?;
    let mut out = Vec::with_capacity(4 + header.len() + payload.len());
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&header);
    out.extend_from_slice(&payload);
    debug_assert_eq!(out.len(), 4 + header.len() + payload.len());
    Ok(out)
}

/// Deserializes from the wire, refusing oversized or malformed input.
pub fn decode(bytes: &[u8]) -> Result<Artifact> {
    let malformed = |why: String| EngineError::MalformedWire(why);
    if bytes.len() > MAX_WIRE_BYTES {
        return Err(malformed(format!(
            "{} bytes exceeds {MAX_WIRE_BYTES}",
            bytes.len()
        )));
    }
    let (len, rest) = bytes.split_first_chunk::<4>().ok_or_else(|| {
        malformed(format!(
            "{} bytes, shorter than the 4-byte header length",
            bytes.len()
        ))
    })?;
    let len = u32::from_be_bytes(*len) as usize;
    if len > rest.len() {
        return Err(malformed(format!(
            "header of {len} bytes in {} bytes",
            rest.len()
        )));
    }
    let (header, payload) = rest.split_at(len);
    let mut wire: WireArtifact =
        serde_json::from_slice(header).map_err(|e| malformed(e.to_string()))?;
    match &mut wire.content {
        WireContent::Raw { data, .. } => *data = payload.to_vec(),
        _ if !payload.is_empty() && !crate::regressed!(WireKeepsTrailingBytes) => {
            return Err(malformed(format!(
                "{} payload bytes after a non-Raw artifact",
                payload.len()
            )))
        }
        _ => {}
    }
    Ok(from_wire(wire))
}

/// The host side of a plugin reading an input: chunk by chunk until EOF. Errors propagate with
/// their kind (an InvalidData from verification stays InvalidData). `limit` bounds the total.
pub fn read_chunked(reader: &mut dyn Read, limit: u64) -> io::Result<Vec<u8>> {
    crate::hash::with_scratch(ABI_CHUNK, |chunk| read_chunked_with(reader, limit, chunk))
}

/// [`read_chunked`] into `chunk`, one ABI chunk wide.
fn read_chunked_with(reader: &mut dyn Read, limit: u64, chunk: &mut [u8]) -> io::Result<Vec<u8>> {
    assert_eq!(chunk.len(), ABI_CHUNK, "the host reads whole ABI chunks");
    let mut out = Vec::new();
    let mut interrupts = crate::retry::Interrupts::new();
    loop {
        let n = match reader.read(chunk) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {
                interrupts.retry(e)?;
                continue;
            }
            Err(_) if crate::regressed!(AbiErrorToEof) => return Ok(out),
            Err(e) => return Err(e),
        };
        if n == 0 {
            return Ok(out);
        }
        interrupts.progressed();
        out.extend_from_slice(&chunk[..n]);
        if out.len() as u64 > limit {
            return Err(io::Error::other(format!(
                "plugin input exceeds {limit} bytes"
            )));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scripted::Scripted;

    fn flagged_file() -> Artifact {
        Artifact::source_file(
            "out",
            "go.mod".as_ref(),
            "mgmt/go.mod".as_ref(),
            true,
            "abc".into(),
        )
    }

    #[test]
    fn passthrough_flag_is_dropped_across_the_wire() {
        let back = decode(&encode(&flagged_file()).unwrap()).unwrap();
        assert!(
            matches!(
                back.content,
                Content::File {
                    passthrough: false,
                    x: true,
                    ..
                }
            ),
            "{back:?}"
        );
        assert_eq!(back.group, "out");
        assert_eq!(back.hashout, "abc");
        assert!(
            !crate::gate::is_passthrough(true, &back.content),
            "plugin outputs always pack"
        );
    }

    #[test]
    fn raw_and_tar_round_trip() {
        for content in [
            Content::Raw {
                data: vec![1, 2, 3],
                path: "r".into(),
                x: false,
            },
            Content::Tar("c/k/out_a.tar".into()),
        ] {
            let artifact = Artifact {
                group: "g".into(),
                kind: ArtifactType::Log,
                content,
                hashout: "h".into(),
            };
            assert_eq!(decode(&encode(&artifact).unwrap()).unwrap(), artifact);
        }
    }

    #[test]
    fn raw_bytes_cross_after_the_header_and_bad_framing_is_malformed() {
        let artifact = Artifact {
            group: "g".into(),
            kind: ArtifactType::Output,
            content: Content::Raw {
                data: (0..=255u8).collect(),
                path: "r".into(),
                x: true,
            },
            hashout: "h".into(),
        };
        let wire = encode(&artifact).unwrap();
        let len = u32::from_be_bytes(wire[..4].try_into().unwrap()) as usize;
        assert_eq!(wire.len(), 4 + len + 256, "the bytes follow the header raw");
        assert_eq!(&wire[4 + len..], &(0..=255u8).collect::<Vec<_>>()[..]);
        assert_eq!(decode(&wire).unwrap(), artifact);
        let mut too_long = wire.clone();
        too_long[..4].copy_from_slice(&(wire.len() as u32).to_be_bytes());
        let tar = encode(&Artifact {
            content: Content::Tar("t".into()),
            ..artifact.clone()
        })
        .unwrap();
        let trailing = [tar, vec![1]].concat();
        for bad in [&wire[..3], &too_long[..], &trailing[..]] {
            assert!(
                matches!(decode(bad), Err(EngineError::MalformedWire(_))),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn views_cannot_cross() {
        let view = Artifact {
            group: "v".into(),
            kind: ArtifactType::Output,
            content: Content::View(Box::default()),
            hashout: "h".into(),
        };
        let err = encode(&view).unwrap_err();
        assert!(matches!(err, EngineError::ViewAcrossAbi { .. }));
        assert!(err.to_string().contains("View (v)"), "{err}");
    }

    #[test]
    fn malformed_wire_is_an_error_not_a_panic() {
        for bad in [
            &b""[..],
            b"\0\0\0\x01{",
            b"\0\0\0\x0b{\"group\":1}",
            b"\xff\xfe",
        ] {
            assert!(
                matches!(decode(bad), Err(EngineError::MalformedWire(_))),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn chunked_read_propagates_errors_instead_of_eof() {
        let script = vec![Ok(1), Ok(1), Ok(1), Err(io::ErrorKind::InvalidData)];
        let err = read_chunked(&mut Scripted(script), 1 << 20).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        let data: Vec<u8> = (0..100_000u32).map(|i| i as u8).collect();
        assert_eq!(read_chunked(&mut &data[..], 1 << 20).unwrap(), data);
        assert!(read_chunked(&mut &data[..], 10).is_err(), "limit enforced");
        let at_limit = read_chunked(&mut &data[..], data.len() as u64);
        assert_eq!(at_limit.unwrap(), data, "exactly the limit is allowed");
        let over = read_chunked(&mut &data[..], data.len() as u64 - 1).unwrap_err();
        assert!(over.to_string().contains("exceeds 99999 bytes"), "{over}");
    }

    /// Records the size of every read request; fails once with Interrupted before the first.
    struct Recording {
        data: Vec<u8>,
        requests: Vec<usize>,
        interrupted: bool,
    }
    impl Read for Recording {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if !self.interrupted {
                self.interrupted = true;
                return Err(io::Error::new(io::ErrorKind::Interrupted, "signal"));
            }
            self.requests.push(buf.len());
            let n = buf.len().min(self.data.len());
            buf[..n].copy_from_slice(&self.data[..n]);
            self.data.drain(..n);
            Ok(n)
        }
    }

    #[test]
    fn chunked_read_asks_in_abi_chunks_and_retries_interrupted_reads() {
        let data: Vec<u8> = (0..70_000u32).map(|i| i as u8).collect();
        let mut reader = Recording {
            data: data.clone(),
            requests: vec![],
            interrupted: false,
        };
        assert_eq!(read_chunked(&mut reader, 1 << 20).unwrap(), data);
        assert_eq!(ABI_CHUNK, 32 * 1024);
        assert!(
            reader.requests.iter().all(|&n| n == ABI_CHUNK),
            "{:?}",
            reader.requests
        );
        assert_eq!(reader.requests.len(), 4, "three chunks and the EOF read");
    }

    #[test]
    fn wire_size_limit_is_inclusive() {
        let at_limit = vec![b' '; MAX_WIRE_BYTES];
        let err = decode(&at_limit).unwrap_err().to_string();
        assert!(
            !err.contains("exceeds"),
            "exactly the limit is parsed, not refused: {err}"
        );
        let over = vec![b' '; MAX_WIRE_BYTES + 1];
        assert!(decode(&over).unwrap_err().to_string().contains("exceeds"));
    }
}
