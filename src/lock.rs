//! One run per output: two cron runs writing the same file must not
//! overlap (they would race on the temporary file, the rename and the
//! journal).
//!
//! The lock is an exclusive OS file lock (`flock` on Unix) on a small lock
//! file, held for the whole run. The OS drops it when the process ends, even
//! after `kill -9`, so a crashed run never leaves a stale lock. Lock files
//! are left in place: deleting one while another process waits on it would
//! let two runs each hold "the" lock.
//!
//! Where the lock file is:
//! - `-o FILE`: `.FILE.lock` beside it (leadgen already needs that directory
//!   writable for its temporary output);
//! - stdout: the output cannot be named, so the input file is: the lock is
//!   `locks/<hash of the input's absolute path>.lock` in the cache directory
//!   (the system temporary directory without one);
//! - stdin to stdout: nothing to identify, no lock.

use std::fs::{File, TryLockError};
use std::path::{Path, PathBuf};

use crate::error::Error;

/// Held until dropped.
#[derive(Debug)]
pub struct RunLock {
    _file: File,
    pub path: PathBuf,
}

/// The lock file guarding a run that writes `output` (`None`: stdout) from
/// `input` (`-`: stdin).
pub fn lock_path(input: &Path, output: Option<&Path>, cache_dir: Option<&Path>) -> Option<PathBuf> {
    if let Some(output) = output {
        let name = output.file_name()?;
        let mut lock = std::ffi::OsString::from(".");
        lock.push(name);
        lock.push(".lock");
        return Some(output.with_file_name(lock));
    }
    if input.as_os_str() == "-" {
        return None;
    }
    let absolute = std::path::absolute(input).unwrap_or_else(|_| input.to_path_buf());
    let absolute = absolute.canonicalize().unwrap_or(absolute);
    let hash = absolute
        .as_os_str()
        .as_encoded_bytes()
        .iter()
        .fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
        });
    let dir = cache_dir.map_or_else(|| std::env::temp_dir().join("leadgen"), Path::to_path_buf);
    Some(dir.join("locks").join(format!("{hash:016x}.lock")))
}

/// Take the lock at `path` without waiting; [`Error::Locked`] if another
/// run holds it.
pub fn acquire(path: &Path, target: &str) -> Result<RunLock, Error> {
    crate::private::create_parent(path).map_err(|e| cannot(path, e))?;
    let file = crate::private::open_write(path).map_err(|e| cannot(path, e))?;
    match file.try_lock() {
        Ok(()) => Ok(RunLock {
            _file: file,
            path: path.to_path_buf(),
        }),
        Err(TryLockError::WouldBlock) => Err(Error::Locked {
            target: target.to_string(),
            lock: path.to_path_buf(),
        }),
        Err(TryLockError::Error(e)) => Err(cannot(path, e)),
    }
}

fn cannot(path: &Path, e: std::io::Error) -> Error {
    Error::Lock {
        path: path.to_path_buf(),
        source: e,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_is_refused_until_the_first_lets_go() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out.csv");
        let path = lock_path(Path::new("in.csv"), Some(&out), None).unwrap();
        assert_eq!(path, dir.path().join(".out.csv.lock"));
        let first = acquire(&path, "out.csv").unwrap();
        let second = acquire(&path, "out.csv").unwrap_err();
        assert!(matches!(second, Error::Locked { .. }), "{second}");
        drop(first);
        acquire(&path, "out.csv").expect("free again");
    }

    #[test]
    fn stdout_runs_lock_on_the_input_and_stdin_to_stdout_does_not_lock() {
        let cache = Path::new("/cache");
        let a = lock_path(Path::new("/data/a.csv"), None, Some(cache)).unwrap();
        let b = lock_path(Path::new("/data/b.csv"), None, Some(cache)).unwrap();
        assert!(a.starts_with("/cache/locks") && a != b);
        assert_eq!(lock_path(Path::new("-"), None, Some(cache)), None);
    }
}
