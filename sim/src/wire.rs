//! The plugin ABI's wire form judged against the oracle's own reading of it (SPEC §3: artifacts
//! cross the ABI in a serialized form with no passthrough field and no View; ARCHITECTURE: a
//! 4-byte big-endian header length, a JSON header, then the raw bytes of a `Raw` content).
//! Frames the simulator builds itself, well formed or broken in one way each, go to the
//! engine's decoder, which must accept exactly the well-formed ones and give back what they
//! say (a File never passes through), and refuse every other as malformed wire, never panic.
//! Like heph's protobuf, a header field the schema does not know is ignored.

use engine::abi::{decode, MAX_WIRE_BYTES};
use engine::{Artifact, Content, EngineError};
use serde_json::{json, Value};

use crate::rng::{Choices, Rng};

/// At most this many frames per run.
pub const MAX_FRAMES: u64 = 1_000_000;

/// How a frame is broken (or not).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Breakage {
    /// Well formed.
    None,
    /// A header field the schema does not know, beside the known ones (ignored).
    UnknownField,
    /// Fewer than the 4 bytes of the header length.
    TooShort,
    /// A header length past the end of the frame.
    LengthPastEnd,
    /// A header length that cuts the JSON short (the rest then reads as payload).
    HeaderCut,
    /// A required field left out.
    MissingField,
    /// A content kind the wire does not have (a View cannot cross).
    UnknownContent,
    /// A role that does not exist.
    UnknownRole,
    /// A field of the wrong type (the exec bit as a string).
    WrongType,
    /// Bytes after the header of an artifact that is not `Raw`.
    PayloadAfterNonRaw,
    /// A header that is not JSON.
    NotJson,
    /// Past the wire's size limit (one frame a run, not drawn).
    Oversized,
}

impl Breakage {
    /// Every breakage drawn, the well-formed ones first.
    pub const ALL: [Breakage; 11] = [
        Breakage::None,
        Breakage::UnknownField,
        Breakage::TooShort,
        Breakage::LengthPastEnd,
        Breakage::HeaderCut,
        Breakage::MissingField,
        Breakage::UnknownContent,
        Breakage::UnknownRole,
        Breakage::WrongType,
        Breakage::PayloadAfterNonRaw,
        Breakage::NotJson,
    ];

    /// True when a frame broken this way is still well formed.
    pub fn well_formed(self) -> bool {
        matches!(self, Breakage::None | Breakage::UnknownField)
    }
}

/// One frame and what it must decode to (`None`: it must be refused).
#[derive(Clone, Debug)]
pub struct Frame {
    /// The bytes on the wire.
    pub bytes: Vec<u8>,
    /// How they were broken.
    pub breakage: Breakage,
    /// The artifact they say, when well formed.
    pub expected: Option<Artifact>,
}

/// One disagreement between the engine's decoder and the oracle's reading.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Disagreement {
    /// The frame (`--seed` and this index rebuild it).
    pub frame: u64,
    /// What the oracle read in it.
    pub oracle: String,
    /// What the engine made of it.
    pub engine: String,
}

/// A frame around `header` and `payload`: the header's length, big-endian, then both.
fn framed(header: &[u8], payload: &[u8]) -> Vec<u8> {
    let len = u32::try_from(header.len()).expect("a generated header is small");
    let mut bytes = len.to_be_bytes().to_vec();
    bytes.extend_from_slice(header);
    bytes.extend_from_slice(payload);
    assert_eq!(bytes.len(), 4 + header.len() + payload.len());
    bytes
}

/// A random artifact the wire can carry, as the oracle writes its header, with its payload.
fn artifact(rng: &mut Rng) -> (Value, Vec<u8>, Artifact) {
    let group = rng
        .pick(&["out", "log", "src0", "concat", "lib/a.txt"])
        .to_string();
    let roles = [
        ("Output", engine::ArtifactType::Output),
        ("Log", engine::ArtifactType::Log),
        ("SupportFile", engine::ArtifactType::SupportFile),
    ];
    let (role, kind) = *rng.pick(&roles);
    let hashout = format!("{:x}", rng.below(u64::MAX));
    let path = *rng.pick(&["src/a.txt", "out", "dir/b c.txt", "é.txt"]);
    let x = rng.chance(1, 2);
    let (content, wire, payload) = match rng.below(3) {
        0 => (
            Content::File {
                source_path: path.into(),
                out_path: format!("o/{path}").into(),
                x,
                passthrough: false,
            },
            json!({"kind": "file", "source_path": path, "out_path": format!("o/{path}"), "x": x}),
            Vec::new(),
        ),
        1 => {
            let data: Vec<u8> = (0..rng.below(64)).map(|_| rng.below(256) as u8).collect();
            let content = Content::Raw {
                data: data.clone(),
                path: path.into(),
                x,
            };
            (content, json!({"kind": "raw", "path": path, "x": x}), data)
        }
        _ => (
            Content::Tar(path.into()),
            json!({"kind": "tar", "path": path}),
            Vec::new(),
        ),
    };
    let header = json!({"group": group, "kind": role, "content": wire, "hashout": hashout});
    let artifact = Artifact {
        group,
        kind,
        content,
        hashout,
    };
    (header, payload, artifact)
}

/// Frame `index` of `seed`: an artifact, framed, broken one way (or none).
pub fn frame(seed: u64, index: u64) -> Frame {
    let mut rng = Rng::for_schedule(seed ^ 0x317e, index);
    let (mut header, mut payload, artifact) = artifact(&mut rng);
    // Half the frames are well formed, so that acceptance is judged as often as refusal.
    let breakage = match rng.chance(1, 2) {
        true => *rng.pick(&Breakage::ALL[..2]),
        false => *rng.pick(&Breakage::ALL[2..]),
    };
    let raw = matches!(artifact.content, Content::Raw { .. });
    let text = |v: &Value| serde_json::to_vec(v).expect("a JSON value serializes");
    let bytes = match breakage {
        Breakage::None => framed(&text(&header), &payload),
        Breakage::UnknownField => {
            header["note"] = json!("a field a newer plugin sends");
            framed(&text(&header), &payload)
        }
        Breakage::TooShort => framed(&text(&header), &payload)[..rng.below(4) as usize].to_vec(),
        Breakage::LengthPastEnd => {
            let mut bytes = framed(&text(&header), &payload);
            let past = (bytes.len() - 4) as u32 + 1 + rng.below(1 << 20) as u32;
            bytes[..4].copy_from_slice(&past.to_be_bytes());
            bytes
        }
        Breakage::HeaderCut => {
            // A strict prefix of a JSON object is never one: its closing brace is last.
            let full = text(&header);
            let cut = rng.below(full.len() as u64) as usize;
            let mut rest = full[cut..].to_vec();
            rest.extend_from_slice(&payload);
            framed(&full[..cut], &rest)
        }
        Breakage::MissingField => {
            let field = *rng.pick(&["group", "kind", "content", "hashout"]);
            header.as_object_mut().expect("an object").remove(field);
            framed(&text(&header), &payload)
        }
        Breakage::UnknownContent => {
            header["content"]["kind"] = json!("view");
            framed(&text(&header), &payload)
        }
        Breakage::UnknownRole => {
            header["kind"] = json!("Sandbox");
            framed(&text(&header), &payload)
        }
        Breakage::WrongType => {
            header["content"]["x"] = json!("yes");
            header["content"]["path"] = json!(7);
            header["content"]["source_path"] = json!(7);
            framed(&text(&header), &payload)
        }
        Breakage::PayloadAfterNonRaw if raw => {
            // A Raw's payload is its bytes: the frame stays well formed, with more of them.
            payload.push(b'!');
            let bytes = framed(&text(&header), &payload);
            let mut longer = artifact.clone();
            if let Content::Raw { data, .. } = &mut longer.content {
                data.push(b'!');
            }
            return Frame {
                bytes,
                breakage: Breakage::None,
                expected: Some(longer),
            };
        }
        Breakage::PayloadAfterNonRaw => {
            payload.extend_from_slice(b"trailing");
            framed(&text(&header), &payload)
        }
        Breakage::NotJson => framed(&[0xff, 0xfe, b'{'], &payload),
        Breakage::Oversized => unreachable!("not drawn: `oversized` builds it"),
    };
    Frame {
        bytes,
        breakage,
        expected: breakage.well_formed().then_some(artifact),
    }
}

/// Judges the engine's decoding of `frame`: `Some` of what the oracle and the engine said
/// when they disagree.
pub fn judge(frame: &Frame) -> Option<(String, String)> {
    let decoded = std::panic::catch_unwind(|| decode(&frame.bytes));
    let oracle = match &frame.expected {
        Some(a) => format!("well formed ({:?}): {a:?}", frame.breakage),
        None => format!("malformed ({:?})", frame.breakage),
    };
    let engine = match &decoded {
        Err(_) => "a panic".to_string(),
        Ok(Ok(a)) => format!("accepted: {a:?}"),
        Ok(Err(e)) => format!("refused: {e}"),
    };
    let agree = match (&decoded, &frame.expected) {
        (Ok(Ok(got)), Some(want)) => got == want,
        (Ok(Err(EngineError::MalformedWire(_))), None) => true,
        _ => false,
    };
    (!agree).then_some((oracle, engine))
}

/// The frame past the wire's size limit (64 MiB of zeros after a valid length): refused
/// before anything is parsed.
pub fn oversized() -> Frame {
    Frame {
        bytes: vec![0; MAX_WIRE_BYTES + 1],
        breakage: Breakage::Oversized,
        expected: None,
    }
}

/// Runs `frames` frames of `seed` (and the oversized one): every disagreement, and how many
/// frames of each breakage were judged.
pub fn run(seed: u64, frames: u64) -> (Vec<Disagreement>, std::collections::BTreeMap<String, u64>) {
    assert!(frames <= MAX_FRAMES, "at most {MAX_FRAMES} frames");
    let mut found = Vec::new();
    let mut tally = std::collections::BTreeMap::new();
    let all =
        std::iter::once((frames, oversized())).chain((0..frames).map(|i| (i, frame(seed, i))));
    for (index, frame) in all {
        *tally.entry(format!("{:?}", frame.breakage)).or_insert(0) += 1;
        if let Some((oracle, engine)) = judge(&frame) {
            found.push(Disagreement {
                frame: index,
                oracle,
                engine,
            });
        }
    }
    debug_assert!(tally.values().sum::<u64>() == frames + 1);
    (found, tally)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_breakage_is_built_and_the_engine_agrees_on_each() {
        let (found, tally) = run(1, 2_000);
        assert!(found.is_empty(), "{:?}", found.first());
        for breakage in Breakage::ALL {
            assert!(
                tally.contains_key(&format!("{breakage:?}")),
                "{breakage:?}: {tally:?}"
            );
        }
    }

    #[test]
    fn bytes_after_a_non_raw_header_are_malformed_and_refused() {
        // The oracle's reading alone: a non-Raw frame with bytes after its header is malformed.
        let frame = (0..200)
            .map(|i| frame(3, i))
            .find(|f| f.breakage == Breakage::PayloadAfterNonRaw)
            .expect("one in twenty frames");
        assert!(frame.expected.is_none());
        assert!(judge(&frame).is_none(), "the engine refuses it");
    }
}
