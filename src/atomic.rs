//! Files replaced whole: written beside their target under a temporary
//! name and renamed over it only when complete, so a reader never sees a
//! half-written file and a failed or interrupted write leaves the previous
//! one as it was.
//!
//! The temporary name is `.NAME.PID.tmp`: dropping the handle (an error,
//! Ctrl-C) deletes it; a process killed outright leaves it behind, and the
//! next write to the same target removes those whose process is gone.
//!
//! While it is written the temporary file is private (0600: it holds the
//! same personal data); [`persist`] gives it the mode the user's umask
//! gives any file they create, since the output is theirs.

use std::fs;
use std::io::{self, Write as _};
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;

use tempfile::{NamedTempFile, TempPath};

/// A new private temporary file beside `path`, to be [`persist`]ed over it.
pub fn beside(path: &Path) -> io::Result<NamedTempFile> {
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "not a file name"))?
        .to_string_lossy()
        .into_owned();
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    remove_abandoned(dir, &name);
    let prefix = format!(".{name}.{}", std::process::id());
    let create = || {
        tempfile::Builder::new()
            .prefix(&prefix)
            .suffix(".tmp")
            .rand_bytes(0)
            .permissions(fs::Permissions::from_mode(crate::private::FILE_MODE))
            .tempfile_in(dir)
    };
    match create() {
        // Left by an earlier process that had this process's id: ours now.
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            fs::remove_file(dir.join(format!("{prefix}.tmp")))?;
            create()
        }
        created => created,
    }
}

/// Renames the finished temporary file over `path`, with the mode the
/// user's umask gives a file they create.
pub fn persist(temp: TempPath, path: &Path) -> io::Result<()> {
    fs::set_permissions(
        &temp,
        fs::Permissions::from_mode(crate::private::user_file_mode()),
    )?;
    temp.persist(path).map_err(|e| e.error)
}

/// Replaces `path` with `text`.
pub fn write(path: &Path, text: &str) -> io::Result<()> {
    let mut file = beside(path)?;
    file.write_all(text.as_bytes())?;
    persist(file.into_temp_path(), path)
}

/// Removes `.NAME.PID.tmp` files whose process is gone (Linux: no
/// `/proc/PID`), never another live run's.
fn remove_abandoned(dir: &Path, name: &str) {
    if !Path::new("/proc/self").exists() {
        return;
    }
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    let prefix = format!(".{name}.");
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let Some(pid) = file_name
            .to_str()
            .and_then(|n| n.strip_prefix(&prefix))
            .and_then(|rest| rest.strip_suffix(".tmp"))
            .and_then(|pid| pid.parse::<u32>().ok())
        else {
            continue;
        };
        if !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = fs::remove_file(entry.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_whole_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("report.json");
        std::fs::write(&path, "old").unwrap();
        let dead = dir.path().join(".report.json.999999999.tmp");
        std::fs::write(&dead, "left by a killed run").unwrap();
        write(&path, "new").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new");
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(
            mode,
            crate::private::user_file_mode(),
            "the output is the user's"
        );
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["report.json"]);
    }

    #[test]
    fn a_dropped_write_keeps_the_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.csv");
        std::fs::write(&path, "old").unwrap();
        let mut temp = beside(&path).unwrap();
        temp.write_all(b"half").unwrap();
        let name = temp
            .path()
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        assert_eq!(name, format!(".out.csv.{}.tmp", std::process::id()));
        let mode = std::fs::metadata(temp.path()).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "private while it is written");
        drop(temp);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "old");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
