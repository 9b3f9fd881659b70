//! A state-machine test of MemFs (proptest-state-machine) against a deliberately simple model
//! of a flat POSIX directory: open, read, close, write, write-at, truncate, rename, unlink,
//! chmod and symlink, with open handles that keep reading their inode after unlink or
//! rename-over. After every step every name's `stat`/`lstat`, content and the directory listing
//! must match the model, and every error must carry the errno the model predicts.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::Path;

use engine::fs::{FileKind, Fs, FsRead, MemFs};
use proptest::prelude::*;
use proptest::sample::Index;
use proptest_state_machine::{prop_state_machine, ReferenceStateMachine, StateMachineTest};

const NAMES: [&str; 4] = ["a", "b", "c", "d"];
const ENOENT: i32 = 2;
const EACCES: i32 = 13;
const EEXIST: i32 = 17;
const ELOOP: i32 = 40;
const MAX_HOPS: usize = 40;

#[derive(Clone, Debug, PartialEq, Eq)]
enum Node {
    File(usize),
    Symlink(String),
}

#[derive(Clone, Debug)]
struct Inode {
    data: Vec<u8>,
    mode: u32,
}

/// The model: one flat directory, inodes that live forever, and open read handles.
#[derive(Clone, Debug, Default)]
struct Model {
    entries: BTreeMap<String, Node>,
    inodes: Vec<Inode>,
    /// (inode, offset) per open handle, in opening order.
    handles: Vec<(usize, usize)>,
}

/// Where resolving a name ended.
enum Resolved {
    File(usize),
    /// A missing final name (after following symlinks): where `O_CREAT` creates.
    Missing(String),
}

impl Model {
    /// Follows symlinks (each target is a name in the same directory).
    fn resolve(&self, name: &str) -> Result<Resolved, i32> {
        let mut name = name.to_string();
        for _ in 0..=MAX_HOPS {
            match self.entries.get(&name) {
                None => return Ok(Resolved::Missing(name)),
                Some(Node::File(ino)) => return Ok(Resolved::File(*ino)),
                Some(Node::Symlink(target)) => name = target.clone(),
            }
        }
        Err(ELOOP)
    }

    fn existing(&self, name: &str) -> Result<usize, i32> {
        match self.resolve(name)? {
            Resolved::File(ino) => Ok(ino),
            Resolved::Missing(_) => Err(ENOENT),
        }
    }

    fn step(&mut self, op: &Op) -> Result<Vec<u8>, i32> {
        match op {
            Op::Write { name, data } => {
                let ino = match self.resolve(name)? {
                    Resolved::File(ino) => ino,
                    Resolved::Missing(at) => {
                        self.inodes.push(Inode {
                            data: vec![],
                            mode: 0o644,
                        });
                        self.entries.insert(at, Node::File(self.inodes.len() - 1));
                        self.inodes.len() - 1
                    }
                };
                self.inodes[ino].data = data.clone();
            }
            Op::WriteAt { name, offset, data } => {
                let ino = self.existing(name)?;
                let file = &mut self.inodes[ino].data;
                let end = offset + data.len();
                if file.len() < end {
                    file.resize(end, 0);
                }
                file[*offset..end].copy_from_slice(data);
            }
            Op::Truncate { name, len } => {
                let ino = self.existing(name)?;
                self.inodes[ino].data.resize(*len, 0);
            }
            Op::Open { name } => {
                let ino = self.existing(name)?;
                if self.inodes[ino].mode & 0o444 == 0 {
                    return Err(EACCES);
                }
                self.handles.push((ino, 0));
            }
            Op::Read { handle, len } => {
                if self.handles.is_empty() {
                    return Ok(vec![]);
                }
                let i = handle.index(self.handles.len());
                let (ino, offset) = &mut self.handles[i];
                let data = &self.inodes[*ino].data;
                let start = (*offset).min(data.len());
                let out = data[start..(start + len).min(data.len())].to_vec();
                *offset += out.len();
                return Ok(out);
            }
            Op::Close { handle } => {
                if !self.handles.is_empty() {
                    self.handles.remove(handle.index(self.handles.len()));
                }
            }
            Op::Rename { from, to } => {
                let node = self.entries.get(from).ok_or(ENOENT)?.clone();
                if from != to {
                    self.entries.remove(from);
                    self.entries.insert(to.clone(), node);
                }
            }
            Op::Unlink { name } => {
                self.entries.remove(name).ok_or(ENOENT)?;
            }
            Op::Chmod { name, mode } => {
                let ino = self.existing(name)?;
                self.inodes[ino].mode = *mode;
            }
            Op::Symlink { target, link } => {
                if self.entries.contains_key(link) {
                    return Err(EEXIST);
                }
                self.entries
                    .insert(link.clone(), Node::Symlink(target.clone()));
            }
        }
        Ok(vec![])
    }
}

#[derive(Clone, Debug)]
enum Op {
    Write {
        name: String,
        data: Vec<u8>,
    },
    WriteAt {
        name: String,
        offset: usize,
        data: Vec<u8>,
    },
    Truncate {
        name: String,
        len: usize,
    },
    Open {
        name: String,
    },
    Read {
        handle: Index,
        len: usize,
    },
    Close {
        handle: Index,
    },
    Rename {
        from: String,
        to: String,
    },
    Unlink {
        name: String,
    },
    Chmod {
        name: String,
        mode: u32,
    },
    Symlink {
        target: String,
        link: String,
    },
}

fn name() -> impl Strategy<Value = String> {
    prop::sample::select(NAMES.to_vec()).prop_map(str::to_string)
}

fn bytes() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 0..16)
}

struct Reference;

impl ReferenceStateMachine for Reference {
    type State = Model;
    type Transition = Op;

    fn init_state() -> BoxedStrategy<Model> {
        Just(Model::default()).boxed()
    }

    fn transitions(_: &Model) -> BoxedStrategy<Op> {
        prop_oneof![
            3 => (name(), bytes()).prop_map(|(name, data)| Op::Write { name, data }),
            2 => (name(), 0usize..24, prop::collection::vec(any::<u8>(), 1..8))
                .prop_map(|(name, offset, data)| Op::WriteAt { name, offset, data }),
            1 => (name(), 0usize..24).prop_map(|(name, len)| Op::Truncate { name, len }),
            3 => name().prop_map(|name| Op::Open { name }),
            4 => (any::<Index>(), 0usize..12).prop_map(|(handle, len)| Op::Read { handle, len }),
            1 => any::<Index>().prop_map(|handle| Op::Close { handle }),
            2 => (name(), name()).prop_map(|(from, to)| Op::Rename { from, to }),
            1 => name().prop_map(|name| Op::Unlink { name }),
            1 => (name(), prop::sample::select(vec![0o644u32, 0o755, 0o600, 0o200, 0o000]))
                .prop_map(|(name, mode)| Op::Chmod { name, mode }),
            2 => (name(), name()).prop_map(|(target, link)| Op::Symlink { target, link }),
        ]
        .boxed()
    }

    fn apply(mut state: Model, op: &Op) -> Model {
        let _ = state.step(op);
        state
    }
}

struct Sut {
    fs: MemFs,
    handles: Vec<Box<dyn FsRead>>,
    model: Model,
}

struct MemFsMachine;

fn errno(result: std::io::Result<()>) -> Result<(), i32> {
    result.map_err(|e| {
        e.raw_os_error()
            .unwrap_or_else(|| panic!("no errno in {e:?}"))
    })
}

impl StateMachineTest for MemFsMachine {
    type SystemUnderTest = Sut;
    type Reference = Reference;

    fn init_test(_: &Model) -> Sut {
        Sut {
            fs: MemFs::default(),
            handles: vec![],
            model: Model::default(),
        }
    }

    fn apply(mut sut: Sut, after: &Model, op: Op) -> Sut {
        // The SUT carries its own copy of the model, stepped here, to know each step's
        // expected result (the reference state handed in is the state after the step).
        let expected = sut.model.step(&op);
        let fs = &sut.fs;
        let path = |name: &str| Path::new(name).to_path_buf();
        let got: Result<Vec<u8>, i32> = match &op {
            Op::Write { name, data } => errno(fs.write(&path(name), data)).map(|()| vec![]),
            Op::WriteAt { name, offset, data } => errno(
                fs.open_at(&path(name), *offset as u64)
                    .and_then(|mut w| w.write_all(data)),
            )
            .map(|()| vec![]),
            Op::Truncate { name, len } => {
                errno(fs.set_len(&path(name), *len as u64)).map(|()| vec![])
            }
            Op::Open { name } => match fs.open(&path(name)) {
                Ok(handle) => {
                    sut.handles.push(handle);
                    Ok(vec![])
                }
                Err(e) => Err(e.raw_os_error().expect("errno")),
            },
            Op::Read { handle, len } => {
                if sut.handles.is_empty() {
                    Ok(vec![])
                } else {
                    let i = handle.index(sut.handles.len());
                    let mut buf = vec![0u8; *len];
                    let n = sut.handles[i]
                        .read(&mut buf)
                        .expect("read on an open handle");
                    buf.truncate(n);
                    Ok(buf)
                }
            }
            Op::Close { handle } => {
                if !sut.handles.is_empty() {
                    let i = handle.index(sut.handles.len());
                    drop(sut.handles.remove(i));
                }
                Ok(vec![])
            }
            Op::Rename { from, to } => errno(fs.rename(&path(from), &path(to))).map(|()| vec![]),
            Op::Unlink { name } => errno(fs.remove_file(&path(name))).map(|()| vec![]),
            Op::Chmod { name, mode } => errno(fs.set_mode(&path(name), *mode)).map(|()| vec![]),
            Op::Symlink { target, link } => {
                errno(fs.symlink(&path(target), &path(link))).map(|()| vec![])
            }
        };
        assert_eq!(got, expected, "{op:?}");
        assert_eq!(sut.handles.len(), after.handles.len(), "open handles");
        assert_eq!(sut.model.entries, after.entries, "shadow model diverged");
        sut
    }

    fn check_invariants(sut: &Sut, model: &Model) {
        let fs = &sut.fs;
        let listed: Vec<String> = model.entries.keys().cloned().collect();
        assert_eq!(fs.read_dir(Path::new("")).unwrap(), listed, "listing");
        for name in NAMES {
            let path = Path::new(name);
            let lstat = fs.symlink_metadata(path);
            match model.entries.get(name) {
                None => assert_eq!(lstat.unwrap_err().raw_os_error(), Some(ENOENT), "{name}"),
                Some(Node::Symlink(target)) => {
                    let meta = lstat.unwrap();
                    assert_eq!(meta.kind, FileKind::Symlink, "{name}");
                    assert_eq!(meta.len, target.len() as u64, "{name}");
                }
                Some(Node::File(_)) => assert_eq!(lstat.unwrap().kind, FileKind::File, "{name}"),
            }
            let stat = fs.metadata(path);
            match model.existing(name) {
                Err(code) => assert_eq!(stat.unwrap_err().raw_os_error(), Some(code), "{name}"),
                Ok(ino) => {
                    let inode = &model.inodes[ino];
                    let meta = stat.unwrap();
                    assert_eq!(meta.kind, FileKind::File, "{name}");
                    assert_eq!(meta.len, inode.data.len() as u64, "{name}");
                    assert_eq!(meta.mode, inode.mode, "{name}");
                    let read = fs.read(path, 1 << 10);
                    if inode.mode & 0o444 == 0 {
                        assert_eq!(read.unwrap_err().raw_os_error(), Some(EACCES), "{name}");
                    } else {
                        assert_eq!(read.unwrap(), inode.data, "{name}");
                    }
                }
            }
        }
    }
}

prop_state_machine! {
    #![proptest_config(props::config("proptest-regressions/memfs_model.txt"))]

    /// MemFs follows the model through arbitrary operation sequences.
    #[test]
    fn memfs_follows_the_model(sequential 1..40 => MemFsMachine);
}
