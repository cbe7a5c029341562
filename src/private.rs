//! Personal data kept private on disk.
//!
//! leadgen stores what the register says about people (names, month and
//! year of birth, roles) in its cache, run journal and audit log. Every
//! directory it creates is 0700 and every file 0600, whatever the umask;
//! SQLite files are created here first, because SQLite itself would make
//! them 0644 and gives each `-wal` and `-shm` file its database's mode.
//! Files a user names as outputs (`-o`, `--report`) are theirs and follow
//! their umask, as other tools' outputs do (see [`crate::atomic`]).
//!
//! A cache directory or file that others can read or write (made by an
//! older leadgen, or by hand) gets one warning naming it and the `chmod`
//! that fixes it, as ssh does for keys.

use std::fs::{self, DirBuilder, File, OpenOptions};
use std::io;
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

/// Directories leadgen creates.
pub const DIR_MODE: u32 = 0o700;
/// Files leadgen creates for itself.
pub const FILE_MODE: u32 = 0o600;

/// Creates `dir` and its missing parents, each 0700. Directories that
/// already exist keep their mode ([`exposed`] reports a loose one).
pub fn create_dir_all(dir: &Path) -> io::Result<()> {
    DirBuilder::new().recursive(true).mode(DIR_MODE).create(dir)
}

/// Creates the parent directory of `path` (0700) if it has one.
pub fn create_parent(path: &Path) -> io::Result<()> {
    match path.parent().filter(|d| !d.as_os_str().is_empty()) {
        Some(dir) => create_dir_all(dir),
        None => Ok(()),
    }
}

/// Opens `path` for appending, creating it 0600.
pub fn append(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .mode(FILE_MODE)
        .open(path)
}

/// Opens `path` for writing without truncating it, creating it 0600.
pub fn open_write(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(FILE_MODE)
        .open(path)
}

/// Makes sure the SQLite file `path` exists before SQLite opens it, 0600,
/// in a 0700 directory.
pub fn precreate(path: &Path) -> io::Result<()> {
    create_parent(path)?;
    open_write(path).map(drop)
}

/// The mode of `path` when its group or others may read or write it.
pub fn exposed(path: &Path) -> Option<u32> {
    let mode = fs::metadata(path).ok()?.permissions().mode() & 0o777;
    (mode & 0o066 != 0).then_some(mode)
}

/// One line per cache directory or file that others can read or write:
/// what it is, its mode, and the `chmod` that fixes it.
pub fn exposure_report(cache_dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut check = |path: PathBuf, is_dir: bool| {
        if let Some(mode) = exposed(&path) {
            let fix = if is_dir { "chmod 700" } else { "chmod 600" };
            found.push(format!(
                "{} can be read by other users of this machine (mode {mode:03o}); leadgen \
                 keeps personal data from the register here. Fix: {fix} {}",
                path.display(),
                shell_quote(&path)
            ));
        }
    };
    check(cache_dir.to_path_buf(), true);
    let Ok(entries) = fs::read_dir(cache_dir) else {
        return found;
    };
    let mut paths: Vec<(PathBuf, bool)> = entries
        .flatten()
        .map(|e| {
            let is_dir = e.file_type().is_ok_and(|t| t.is_dir());
            (e.path(), is_dir)
        })
        .collect();
    paths.sort();
    for (path, is_dir) in paths {
        check(path, is_dir);
    }
    found
}

/// Warns once per loose cache directory or file (at the start of a run).
pub fn warn_if_exposed(cache_dir: &Path) {
    for line in exposure_report(cache_dir) {
        tracing::warn!("{line}");
    }
}

/// The mode a file gets from `File::create` under this process's umask:
/// 0666 less the umask (read from `/proc/self/status`; 022 if unknown).
pub fn user_file_mode() -> u32 {
    let umask = fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Umask:"))
                .and_then(|v| u32::from_str_radix(v.trim(), 8).ok())
        })
        .unwrap_or(0o022);
    0o666 & !umask
}

fn shell_quote(path: &Path) -> String {
    let text = path.display().to_string();
    if text
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-~".contains(c))
    {
        text
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(p: &Path) -> u32 {
        fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn what_leadgen_creates_is_private_and_loose_modes_are_reported() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("a/b");
        let file = dir.join("cache.sqlite");
        precreate(&file).unwrap();
        assert_eq!(mode(&root.path().join("a")), 0o700);
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&file), 0o600);
        append(&dir.join("audit.jsonl")).unwrap();
        assert_eq!(mode(&dir.join("audit.jsonl")), 0o600);
        assert_eq!(exposure_report(&dir), Vec::<String>::new());

        fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).unwrap();
        fs::set_permissions(&file, fs::Permissions::from_mode(0o644)).unwrap();
        let report = exposure_report(&dir);
        assert_eq!(report.len(), 2, "{report:?}");
        assert!(report[0].contains("mode 755"), "{}", report[0]);
        assert!(
            report[0].ends_with(&format!("Fix: chmod 700 {}", dir.display())),
            "{}",
            report[0]
        );
        assert!(report[1].contains("cache.sqlite"), "{}", report[1]);
        assert!(report[1].contains("chmod 600"), "{}", report[1]);
    }

    #[test]
    fn paths_are_quoted_for_the_shell_when_they_need_it() {
        assert_eq!(shell_quote(Path::new("/home/a/.cache")), "/home/a/.cache");
        assert_eq!(
            shell_quote(Path::new("/tmp/it's here")),
            r"'/tmp/it'\''s here'"
        );
    }
}
