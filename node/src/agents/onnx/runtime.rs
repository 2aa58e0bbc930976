//! Finding and loading the ONNX Runtime shared library.
//!
//! netsd does not link ONNX Runtime: it loads the shared library at run time, the first time
//! a model is needed (`ort`'s `load-dynamic`). The library is looked for, in order:
//!
//! 1. the file named by the `ORT_DYLIB_PATH` environment variable;
//! 2. a project-local install by `scripts/setup-onnxruntime`:
//!    `.onnxruntime/onnxruntime/capi/libonnxruntime.so*` in the current directory or one of
//!    its ancestors, or in an ancestor of the directory holding the running executable (so a
//!    `target/release/netsd` finds the repository's copy from anywhere);
//! 3. the `onnxruntime` package of the system's Python (`python3`), if it has one.
//!
//! One ONNX Runtime environment serves the whole process; [`runtime`] creates it once.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use ort::environment::Environment;

/// The environment variable that names the library explicitly.
pub const DYLIB_ENV: &str = "ORT_DYLIB_PATH";

/// Where `scripts/setup-onnxruntime` puts the library, relative to the repository root.
pub const LOCAL_DIR: &str = ".onnxruntime/onnxruntime/capi";

/// What to do when no library is found; part of every "not found" error.
pub const SETUP_HINT: &str = "run scripts/setup-onnxruntime in the nets repository (it installs \
     the onnxruntime==1.32.0 wheel's library into .onnxruntime/), or set ORT_DYLIB_PATH to the \
     path of libonnxruntime.so";

/// Why ONNX Runtime cannot be used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RuntimeError {
    /// No library was found anywhere.
    #[error("the ONNX Runtime library was not found ({searched}); {SETUP_HINT}")]
    NotFound {
        /// The places looked at, for the message.
        searched: String,
    },
    /// `ORT_DYLIB_PATH` names a file that does not exist.
    #[error("{DYLIB_ENV} is {path:?}, which does not exist; {SETUP_HINT}")]
    EnvPathMissing {
        /// The value of the variable.
        path: PathBuf,
    },
    /// The library was found but could not be loaded or initialised.
    #[error("cannot load the ONNX Runtime library {}: {message}", path.display())]
    Load {
        /// The library file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
}

/// How the library was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LibrarySource {
    /// Named by `ORT_DYLIB_PATH`.
    EnvVar,
    /// The project-local install under `.onnxruntime/`.
    ProjectLocal,
    /// The system Python's `onnxruntime` package.
    Python,
}

impl std::fmt::Display for LibrarySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            LibrarySource::EnvVar => DYLIB_ENV,
            LibrarySource::ProjectLocal => "project-local .onnxruntime/",
            LibrarySource::Python => "python3's onnxruntime package",
        })
    }
}

/// A located library file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Library {
    /// The shared library file.
    pub path: PathBuf,
    /// Where it was found.
    pub source: LibrarySource,
}

/// The loaded runtime: the library it came from and the process-wide environment.
#[derive(Debug)]
pub struct Runtime {
    /// The library in use.
    pub library: Library,
    /// The ONNX Runtime environment every session of this process is created in.
    pub environment: Environment,
}

/// Locates the library without loading it, in the order of the module docs.
pub fn find_library() -> Result<Library, RuntimeError> {
    if let Some(value) = std::env::var_os(DYLIB_ENV).filter(|v| !v.is_empty()) {
        let path = PathBuf::from(value);
        return if path.is_file() {
            Ok(Library {
                path,
                source: LibrarySource::EnvVar,
            })
        } else {
            Err(RuntimeError::EnvPathMissing { path })
        };
    }
    let mut roots: Vec<PathBuf> = Vec::new();
    if let Ok(cwd) = std::env::current_dir() {
        roots.extend(cwd.ancestors().map(Path::to_path_buf));
    }
    if let Some(dir) = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(Path::to_path_buf))
    {
        for ancestor in dir.ancestors() {
            if !roots.iter().any(|r| r == ancestor) {
                roots.push(ancestor.to_path_buf());
            }
        }
    }
    for root in &roots {
        if let Some(path) = library_in(&root.join(LOCAL_DIR)) {
            return Ok(Library {
                path,
                source: LibrarySource::ProjectLocal,
            });
        }
    }
    let python = python_package_dir();
    if let Some(path) = python
        .as_ref()
        .and_then(|dir| library_in(&dir.join("capi")))
    {
        return Ok(Library {
            path,
            source: LibrarySource::Python,
        });
    }
    let python_note = match python {
        Some(dir) => format!("python3's onnxruntime at {} has no library", dir.display()),
        None => "python3 has no onnxruntime package".to_owned(),
    };
    Err(RuntimeError::NotFound {
        searched: format!(
            "{DYLIB_ENV} is not set; no {LOCAL_DIR}/ in the current directory, the executable's \
             directory or their ancestors; {python_note}"
        ),
    })
}

/// The ONNX Runtime library file in `dir`: `libonnxruntime.so*` (or the platform's
/// equivalent), preferring the longest (most versioned) name. Provider plugins are skipped.
fn library_in(dir: &Path) -> Option<PathBuf> {
    let prefix = format!("{}onnxruntime", std::env::consts::DLL_PREFIX);
    let suffix = std::env::consts::DLL_SUFFIX;
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| {
            path.is_file()
                && path
                    .file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|name| {
                        name.strip_prefix(&prefix)
                            .is_some_and(|rest| rest.starts_with(suffix) || rest.starts_with('.'))
                            && name.contains(suffix)
                    })
        })
        .collect();
    found.sort_by_key(|p| (p.as_os_str().len(), p.clone()));
    found.pop()
}

/// The directory of the system Python's `onnxruntime` package, if it has one.
fn python_package_dir() -> Option<PathBuf> {
    let output = Command::new("python3")
        .args([
            "-c",
            "import onnxruntime,os;print(os.path.dirname(onnxruntime.__file__))",
        ])
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    if !output.status.success() {
        return None;
    }
    let dir = String::from_utf8(output.stdout).ok()?;
    let dir = PathBuf::from(dir.trim());
    dir.is_dir().then_some(dir)
}

static RUNTIME: OnceLock<Result<Runtime, RuntimeError>> = OnceLock::new();

/// The process-wide runtime: finds and loads the library and creates the environment the
/// first time; later calls return the same one (or the same error).
pub fn runtime() -> Result<&'static Runtime, RuntimeError> {
    RUNTIME.get_or_init(load).as_ref().map_err(Clone::clone)
}

fn load() -> Result<Runtime, RuntimeError> {
    let library = find_library()?;
    let load_error = |message: String| RuntimeError::Load {
        path: library.path.clone(),
        message,
    };
    let environment = ort::init_from(&library.path)
        .map_err(|e| load_error(e.to_string()))?
        .with_name("netsd")
        .with_telemetry(false)
        .build()
        .map_err(|e| load_error(e.to_string()))?;
    Ok(Runtime {
        library,
        environment,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(target_os = "linux")]
    fn picks_the_versioned_library_and_skips_providers() {
        let dir = std::env::temp_dir().join(format!("nets-runtime-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        assert_eq!(library_in(&dir), None);
        for name in [
            "libonnxruntime_providers_shared.so",
            "libonnxruntime.so.1.32.0",
            "libonnxruntimex.so",
            "onnxruntime_pybind11_state.so",
        ] {
            std::fs::write(dir.join(name), b"").unwrap();
        }
        assert_eq!(library_in(&dir), Some(dir.join("libonnxruntime.so.1.32.0")));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
