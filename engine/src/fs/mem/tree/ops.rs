//! The file-system operations on a [`Tree`], one per [`crate::fs::Fs`] method, with Linux's
//! checks in Linux's order. Each ticks the clock once on success (except `set_mtime`, which
//! must restore times exactly, and no-op renames) and stamps what Linux stamps.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::io;
use std::path::Path;
use std::sync::Arc;

use super::errno::*;
use super::{components, os_err, to_usize, Body, Found, Ino, Tree};
use super::{DIR_MODE, FILE_MODE, MAX_FILE_LEN, ROOT, SYMLINK_MODE};
use crate::fs::{FileKind, Metadata};

impl Tree {
    /// Takes one handle on a file (the caller's handle releases it with [`Tree::close`]).
    fn take_handle(&mut self, ino: Ino) -> io::Result<Ino> {
        let node = self.node_mut(ino)?;
        debug_assert!(node.is_file(), "handle on a non-file");
        node.handles += 1;
        Ok(ino)
    }

    /// Releases a handle taken by `open_read`, `create` or `open_write`.
    pub(in crate::fs::mem) fn close(&mut self, ino: Ino) {
        if let Some(node) = self.inodes.get_mut(&ino) {
            debug_assert!(node.handles > 0, "handle underflow on inode {ino}");
            node.handles = node.handles.saturating_sub(1);
        }
        self.free_if_unused(ino);
    }

    /// `open(O_RDONLY)`: a read handle on the file `names` leads to.
    pub(in crate::fs::mem) fn open_read(&mut self, names: Vec<&OsStr>) -> io::Result<Ino> {
        let ino = self.resolve(names, true)?;
        let node = self.node(ino)?;
        if node.mode & 0o444 == 0 && !self.privileged {
            return Err(os_err(EACCES));
        }
        if !node.is_file() {
            return Err(os_err(EISDIR));
        }
        self.take_handle(ino)
    }

    /// `open(O_WRONLY | O_CREAT | O_TRUNC)`: follows a final symlink, even a dangling one.
    pub(in crate::fs::mem) fn create(&mut self, names: Vec<&OsStr>) -> io::Result<Ino> {
        let ino = match self.lookup(ROOT, names, true)? {
            Found::Node(ino) => {
                if !self.node(ino)?.is_file() {
                    return Err(os_err(EISDIR));
                }
                let now = self.tick();
                let node = self.node_mut(ino)?;
                node.body = Body::File(Arc::default());
                node.mtime_ns = now;
                node.ctime_ns = now;
                ino
            }
            Found::Missing { dir, name } => {
                let now = self.tick();
                self.add(dir, name, Body::File(Arc::default()), FILE_MODE, now)?
            }
        };
        self.take_handle(ino)
    }

    /// `open(O_WRONLY)`: a write handle on an existing file.
    pub(in crate::fs::mem) fn open_write(&mut self, names: Vec<&OsStr>) -> io::Result<Ino> {
        let ino = self.resolve(names, true)?;
        if !self.node(ino)?.is_file() {
            return Err(os_err(EISDIR));
        }
        self.take_handle(ino)
    }

    /// `pread`: the file's current bytes from `offset`; 0 at or past the end.
    pub(in crate::fs::mem) fn read_at(
        &self,
        ino: Ino,
        offset: u64,
        buf: &mut [u8],
    ) -> io::Result<usize> {
        let Body::File(data) = &self.node(ino)?.body else {
            return Err(os_err(EBADF));
        };
        let start = match usize::try_from(offset) {
            Ok(start) if start < data.len() => start,
            _ => return Ok(0),
        };
        let n = buf.len().min(data.len() - start);
        buf[..n].copy_from_slice(&data[start..start + n]);
        Ok(n)
    }

    /// `open` + `read` to EOF + `close` in one step under the lock: the whole file (shared,
    /// not copied: a later write copies it first), or `None` when it holds more than `limit`
    /// bytes.
    pub(in crate::fs::mem) fn read_whole(
        &mut self,
        names: Vec<&OsStr>,
        limit: u64,
    ) -> io::Result<Option<Arc<Vec<u8>>>> {
        let ino = self.open_read(names)?;
        let copied = match self.node(ino).map(|node| &node.body) {
            Ok(Body::File(data)) if data.len() as u64 <= limit => Ok(Some(data.clone())),
            Ok(Body::File(_)) => Ok(None),
            Ok(_) => Err(os_err(EBADF)),
            Err(e) => Err(e),
        };
        self.close(ino);
        copied
    }

    /// `pwrite`: writes `buf` at `offset`, zero-filling any gap, and stamps the file.
    pub(in crate::fs::mem) fn write_at(
        &mut self,
        ino: Ino,
        offset: u64,
        buf: &[u8],
    ) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let end = offset
            .checked_add(buf.len() as u64)
            .filter(|&end| end <= MAX_FILE_LEN)
            .ok_or_else(|| os_err(EFBIG))?;
        let (start, end) = (to_usize(offset)?, to_usize(end)?);
        if !self.node(ino)?.is_file() {
            return Err(os_err(EBADF));
        }
        let now = self.tick();
        let node = self.node_mut(ino)?;
        if let Body::File(shared) = &mut node.body {
            let data = Arc::make_mut(shared);
            // Appending (the common case) copies once; zero-fill only a real gap.
            if data.len() < start {
                data.resize(start, 0);
            }
            let overlap = data.len().min(end) - start;
            data[start..start + overlap].copy_from_slice(&buf[..overlap]);
            data.extend_from_slice(&buf[overlap..]);
            debug_assert!(data.len() >= end);
        }
        node.mtime_ns = now;
        node.ctime_ns = now;
        Ok(buf.len())
    }

    /// `stat` (`follow_last`) or `lstat`.
    pub(in crate::fs::mem) fn metadata(
        &self,
        names: Vec<&OsStr>,
        follow_last: bool,
    ) -> io::Result<Metadata> {
        let ino = self.resolve(names, follow_last)?;
        self.inode_metadata(ino)
    }

    /// `fstat`: the metadata of inode `ino` (a handle's file, whatever its path is now).
    pub(in crate::fs::mem) fn inode_metadata(&self, ino: Ino) -> io::Result<Metadata> {
        let node = self.node(ino)?;
        let (kind, len) = match &node.body {
            Body::File(data) => (FileKind::File, data.len() as u64),
            Body::Dir(_) => (FileKind::Dir, 0),
            Body::Symlink(target) => (FileKind::Symlink, target.as_os_str().len() as u64),
        };
        Ok(Metadata {
            kind,
            len,
            mtime_ns: node.mtime_ns,
            ctime_ns: node.ctime_ns,
            mode: node.mode,
            ino,
        })
    }

    /// The names in a directory (following symlinks), sorted as `DiskFs` sorts them.
    pub(in crate::fs::mem) fn read_dir(&self, names: Vec<&OsStr>) -> io::Result<Vec<String>> {
        let ino = self.resolve(names, true)?;
        let mut out: Vec<String> = self
            .entries(ino)?
            .keys()
            .map(|name| name.to_string_lossy().into_owned())
            .collect();
        out.sort();
        Ok(out)
    }

    /// `mkdir -p` with `std::fs::create_dir_all`'s errors: an existing non-directory is
    /// `EEXIST` at the end of the path and `ENOTDIR` (or the resolution error) before it.
    pub(in crate::fs::mem) fn create_dir_all(&mut self, names: Vec<&OsStr>) -> io::Result<()> {
        let count = names.len();
        let mut cur = ROOT;
        for (i, name) in names.into_iter().enumerate() {
            let last = i + 1 == count;
            cur = match self.child(cur, name)? {
                None => {
                    let now = self.tick();
                    self.add(
                        cur,
                        name.to_os_string(),
                        Body::Dir(BTreeMap::new()),
                        DIR_MODE,
                        now,
                    )?
                }
                Some(_) => self.existing_dir(cur, name, last)?,
            };
        }
        Ok(())
    }

    /// The directory an existing entry of a `create_dir_all` path leads to.
    fn existing_dir(&self, dir: Ino, name: &OsStr, last: bool) -> io::Result<Ino> {
        match self.lookup(dir, vec![name], true) {
            Ok(Found::Node(ino)) if self.node(ino)?.is_dir() => Ok(ino),
            Ok(Found::Node(_)) if !last => Err(os_err(ENOTDIR)),
            Err(err) if !last && err.kind() != io::ErrorKind::NotFound => Err(err),
            _ => Err(os_err(EEXIST)),
        }
    }

    /// `ftruncate`: resizes a file in place (zero-filling) and stamps it.
    pub(in crate::fs::mem) fn set_len(&mut self, names: Vec<&OsStr>, len: u64) -> io::Result<()> {
        let ino = self.resolve(names, true)?;
        if !self.node(ino)?.is_file() {
            return Err(os_err(EISDIR));
        }
        if len > MAX_FILE_LEN {
            return Err(os_err(EFBIG));
        }
        let len = to_usize(len)?;
        let now = self.tick();
        let node = self.node_mut(ino)?;
        if let Body::File(data) = &mut node.body {
            Arc::make_mut(data).resize(len, 0);
        }
        node.mtime_ns = now;
        node.ctime_ns = now;
        Ok(())
    }

    /// `unlink`: removes a file or symlink entry (not following it); `EISDIR` on a directory.
    pub(in crate::fs::mem) fn remove_file(&mut self, names: Vec<&OsStr>) -> io::Result<()> {
        let Some((dir, name)) = self.resolve_parent(names)? else {
            return Err(os_err(EISDIR));
        };
        let ino = self.child(dir, &name)?.ok_or_else(|| os_err(ENOENT))?;
        if self.node(ino)?.is_dir() {
            return Err(os_err(EISDIR));
        }
        let now = self.tick();
        self.remove_entry(dir, &name, now)?;
        self.drop_link(ino)
    }

    /// `std::fs::remove_dir_all`: removes a directory tree, or a symlink itself; `ENOTDIR`
    /// on a regular file, `EBUSY` on the root.
    pub(in crate::fs::mem) fn remove_dir_all(&mut self, names: Vec<&OsStr>) -> io::Result<()> {
        let Some((dir, name)) = self.resolve_parent(names)? else {
            return Err(os_err(EBUSY));
        };
        let ino = self.child(dir, &name)?.ok_or_else(|| os_err(ENOENT))?;
        if self.node(ino)?.is_file() {
            return Err(os_err(ENOTDIR));
        }
        let now = self.tick();
        self.remove_entry(dir, &name, now)?;
        self.drop_tree(ino)
    }

    /// `rename(2)`, checks in Linux's order. Neither final component is followed; a replaced
    /// target loses its link (open handles keep it); renaming a file onto itself is a no-op.
    pub(in crate::fs::mem) fn rename(
        &mut self,
        from: Vec<&OsStr>,
        to: Vec<&OsStr>,
    ) -> io::Result<()> {
        let (from_dir, from_name) = self.resolve_parent(from)?.ok_or_else(|| os_err(EBUSY))?;
        let (to_dir, to_name) = self.resolve_parent(to)?.ok_or_else(|| os_err(EBUSY))?;
        let src = self
            .child(from_dir, &from_name)?
            .ok_or_else(|| os_err(ENOENT))?;
        let dst = self.child(to_dir, &to_name)?;
        let src_is_dir = self.node(src)?.is_dir();
        if src_is_dir && self.contains(src, to_dir) {
            return Err(os_err(EINVAL));
        }
        if let Some(dst) = dst {
            if dst == src {
                return Ok(());
            }
            if self.node(dst)?.is_dir() && self.contains(dst, from_dir) {
                return Err(os_err(ENOTEMPTY));
            }
            match (src_is_dir, &self.node(dst)?.body) {
                (true, Body::Dir(entries)) if !entries.is_empty() => return Err(os_err(ENOTEMPTY)),
                (true, Body::Dir(_)) => {}
                (true, _) => return Err(os_err(ENOTDIR)),
                (false, Body::Dir(_)) => return Err(os_err(EISDIR)),
                (false, _) => {}
            }
        }
        let now = self.tick();
        self.remove_entry(from_dir, &from_name, now)?;
        self.entries_mut(to_dir)?.insert(to_name, src);
        if !crate::regressed!(MemfsRenameKeepsTargetDirMtime) {
            self.node_mut(to_dir)?.mtime_ns = now;
        }
        self.node_mut(src)?.ctime_ns = now;
        match dst {
            Some(dst) => self.drop_link(dst),
            None => Ok(()),
        }
    }

    /// `chmod` (following symlinks). Like Linux it changes no mtime, but it is a mutation,
    /// so the clock ticks.
    pub(in crate::fs::mem) fn set_mode(&mut self, names: Vec<&OsStr>, mode: u32) -> io::Result<()> {
        let ino = self.resolve(names, true)?;
        let now = self.tick();
        let node = self.node_mut(ino)?;
        node.mode = mode & 0o777;
        node.ctime_ns = now;
        Ok(())
    }

    /// Sets the mtime of a file or a directory exactly (utimensat(2) sets either: `tar x`,
    /// `rsync -t`), without ticking the clock, so a restored mtime is bit-for-bit the old one;
    /// its ctime becomes now, which `utimes` cannot avoid.
    pub(in crate::fs::mem) fn set_mtime(
        &mut self,
        names: Vec<&OsStr>,
        mtime_ns: u64,
    ) -> io::Result<()> {
        let ino = self.resolve(names, true)?;
        let now = self.stamp();
        let node = self.node_mut(ino)?;
        node.mtime_ns = mtime_ns;
        node.ctime_ns = now;
        Ok(())
    }

    /// `symlink(2)`: `target` is stored as given and resolved relative to the link's
    /// directory when followed. An empty target is `ENOENT`, an existing `link` `EEXIST`.
    pub(in crate::fs::mem) fn symlink(
        &mut self,
        target: &Path,
        link: Vec<&OsStr>,
    ) -> io::Result<()> {
        components(target)?;
        if target.as_os_str().is_empty() {
            return Err(os_err(ENOENT));
        }
        let (dir, name) = self.resolve_parent(link)?.ok_or_else(|| os_err(EEXIST))?;
        if self.child(dir, &name)?.is_some() {
            return Err(os_err(EEXIST));
        }
        let now = self.tick();
        let body = Body::Symlink(target.to_path_buf());
        self.add(dir, name, body, SYMLINK_MODE, now)?;
        Ok(())
    }
}
