//! The node's key file: its ed25519 secret, hex on one line, readable by its owner only.

use std::io::Write;
use std::path::Path;

use nets_tournament::identity::Keypair;

/// Key file failures.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// Reading or writing failed.
    #[error("key file {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The file does not hold 64 hex digits.
    #[error("key file {path} is damaged: expected 64 hex digits on one line")]
    Malformed {
        /// The file.
        path: String,
    },
    /// Others may read the file.
    #[error("key file {path} is readable by others (mode {mode:o}); run `chmod 600 {path}`")]
    Permissions {
        /// The file.
        path: String,
        /// Its mode.
        mode: u32,
    },
    /// No OS randomness.
    #[error("no OS randomness: {0}")]
    Random(String),
}

/// Creates a new key file (refusing to overwrite one) with mode 0600.
pub fn create(path: &Path) -> Result<Keypair, KeyError> {
    let io = |source| KeyError::Io {
        path: path.display().to_string(),
        source,
    };
    let mut secret = [0u8; 32];
    getrandom::fill(&mut secret).map_err(|e| KeyError::Random(e.to_string()))?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(io)?;
    writeln!(file, "{}", hex::encode(secret)).map_err(io)?;
    file.sync_all().map_err(io)?;
    Ok(Keypair::from_secret(secret))
}

/// Reads a key file, refusing one that others can read.
pub fn load(path: &Path) -> Result<Keypair, KeyError> {
    let name = path.display().to_string();
    let io = |source| KeyError::Io {
        path: name.clone(),
        source,
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path).map_err(io)?.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(KeyError::Permissions { path: name, mode });
        }
    }
    let text = std::fs::read_to_string(path).map_err(io)?;
    let bytes = hex::decode(text.trim()).map_err(|_| KeyError::Malformed { path: name.clone() })?;
    let secret = <[u8; 32]>::try_from(bytes.as_slice())
        .map_err(|_| KeyError::Malformed { path: name.clone() })?;
    Ok(Keypair::from_secret(secret))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_load_and_refuse_bad_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("node.key");
        let key = create(&path).unwrap();
        assert_eq!(load(&path).unwrap().id(), key.id());
        assert!(
            matches!(create(&path), Err(KeyError::Io { .. })),
            "no overwrite"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
            assert!(matches!(load(&path), Err(KeyError::Permissions { .. })));
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        std::fs::write(&path, "abc\n").unwrap();
        assert!(matches!(load(&path), Err(KeyError::Malformed { .. })));
    }
}
