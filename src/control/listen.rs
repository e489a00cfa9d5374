//! Binding the admin endpoint's listener: a TCP address or a unix socket (mode 0660, a
//! stale socket file from an earlier run replaced). The daemon binds before it says READY,
//! then hands the bound listener to the admin server.

use std::io;

use tokio::net::{TcpListener, UnixListener};

use crate::config::AdminListen;

/// A bound admin listener.
#[derive(Debug)]
pub enum AdminListener {
    /// Listening on TCP.
    Tcp(TcpListener),
    /// Listening on a unix socket.
    Unix(UnixListener),
}

impl AdminListener {
    /// Where it listens, for logs (the real port when the config asked for port 0).
    pub fn describe(&self) -> String {
        match self {
            AdminListener::Tcp(l) => l
                .local_addr()
                .map_or_else(|_| "tcp".to_string(), |a| a.to_string()),
            AdminListener::Unix(l) => l
                .local_addr()
                .ok()
                .and_then(|a| a.as_pathname().map(|p| format!("unix:{}", p.display())))
                .unwrap_or_else(|| "unix".to_string()),
        }
    }
}

/// Binds `listen`.
pub async fn bind(listen: &AdminListen) -> io::Result<AdminListener> {
    match listen {
        AdminListen::Tcp(addr) => Ok(AdminListener::Tcp(TcpListener::bind(addr).await?)),
        AdminListen::Unix(path) => {
            // Only a socket is removed: a regular file at that path is an operator's
            // mistake to report, not to delete.
            if let Ok(meta) = std::fs::symlink_metadata(path) {
                use std::os::unix::fs::FileTypeExt;
                if meta.file_type().is_socket() {
                    std::fs::remove_file(path)?;
                }
            }
            let listener = UnixListener::bind(path)?;
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o660))?;
            Ok(AdminListener::Unix(listener))
        }
    }
}
